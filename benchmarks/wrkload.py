"""Closed-loop REST load from ``wrk`` (far cheaper in CPU than a Python client) with
``wrk_closed_loop.lua``: one thread, a keep-alive connection per client, a run ends at a request
count or a time cap. Percentiles are of real answers (``remove_synthetic_samples``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.serverproc import tool_version

SCRIPT = Path(__file__).resolve().parent / "wrk_closed_loop.lua"
UUID_SLOT = "00000000-0000-4000-8000-000000000000"  # in a body: replaced by a fresh v4 UUID per request
WRK_TIMEOUT = "5s"  # an answer slower than this counts as a timeout (wrk's histogram ends there)


def wrk_version() -> str | None:
    return (tool_version(["wrk", "-v"]) or "").split(" Copyright")[0].strip() or None


@dataclass
class WrkRun:
    """One wrk run against one server: what it measured and what it cost wrk itself."""
    answered: int = 0  # answers counted by the script (any status)
    non_2xx: int = 0
    unexpected: int = 0  # 2xx answers whose body was not the expected reply
    socket_errors: dict = field(default_factory=dict)
    first_bad: str = ""  # status and start of the first non-2xx or unexpected answer
    wall_s: float = 0.0  # from wrk's start to the last answer
    histogram: dict[int, int] = field(default_factory=dict)  # latency µs -> answers, real ones only
    synthetic_removed: int = 0
    wrk_cpu_s: float = 0.0  # user + system time of the wrk process
    stopped_by: str = ""  # "count" or "time"

    @property
    def failures(self) -> int:
        return self.non_2xx + self.unexpected + sum(self.socket_errors.values())


def run_wrk(url: str, body: str, *, token: str, clients: int, requests: int, time_cap: float,
            expect: str = "", refuse: str = "") -> WrkRun:
    """``requests`` answers (or ``time_cap`` seconds) of POST ``body`` to ``url`` from ``clients``
    connections. ``expect`` / ``refuse`` are Lua patterns a 2xx reply body must / must not match."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (benchmarks/install_peers.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="vidmock-wrk-") as workdir:
        out = Path(workdir) / "report.json"
        env = {**os.environ, "VIDMOCK_WRK_BODY": body, "VIDMOCK_WRK_UUID_SLOT": UUID_SLOT if UUID_SLOT in body else "",
               "VIDMOCK_WRK_TOKEN": token, "VIDMOCK_WRK_REQUESTS": str(requests), "VIDMOCK_WRK_EXPECT": expect,
               "VIDMOCK_WRK_REFUSE": refuse, "VIDMOCK_WRK_OUT": str(out)}
        argv = [path, "-t1", f"-c{clients}", f"-d{max(1, math.ceil(time_cap))}s", "--timeout", WRK_TIMEOUT,
                "-s", str(SCRIPT), url]
        with open(Path(workdir) / "stdout", "w+") as output:
            process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
            _, status, usage = os.wait4(process.pid, 0)  # wait4: the child's own CPU time, wrk's cost
            process.returncode = os.waitstatus_to_exitcode(status)
            output.seek(0)
            printed = output.read()
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed ({process.returncode}): {' '.join(argv)}\n{printed}")
        report = json.loads(out.read_text(errors="replace"))
    thread = report["threads"][0]  # one wrk thread (-t1)
    recorded = dict(report["latency_us"])
    # the interval wrk 4 corrected by: run time / answers per connection, integer µs (src/wrk.c)
    per_connection = report["requests"] // clients
    histogram = remove_synthetic_samples(recorded, report["duration_us"] // per_connection if per_connection else 0)
    return WrkRun(answered=thread["answered"], non_2xx=thread["non_2xx"], unexpected=thread["unexpected"],
                  socket_errors={k: v for k, v in report["errors"].items() if k != "status" and v},
                  first_bad=thread["first_bad"], wall_s=max(0.0, thread["last"] - thread["started"]),
                  histogram=histogram, synthetic_removed=sum(recorded.values()) - sum(histogram.values()),
                  wrk_cpu_s=usage.ru_utime + usage.ru_stime,
                  stopped_by="count" if thread["answered"] >= requests else "time")


def remove_synthetic_samples(recorded: dict[int, int], expected: int) -> dict[int, int]:
    """Undo wrk's ``stats_correct(expected)``, which for each recorded latency n >= 2*expected added
    its count at n - expected, n - 2*expected, ... while above ``expected``: walking down from the
    slowest bucket, each bucket's real count is what is left of the synthetic counts slower ones put there."""
    if expected <= 0:
        return dict(recorded)
    real: dict[int, int] = {}
    synthetic: dict[int, int] = {}
    for micros in sorted(recorded, reverse=True):
        count = recorded[micros] - synthetic.pop(micros, 0)
        if count <= 0:
            continue
        real[micros] = count
        if micros >= 2 * expected:
            lower = micros - expected
            while lower > expected:
                synthetic[lower] = synthetic.get(lower, 0) + count
                lower -= expected
    return dict(sorted(real.items()))
