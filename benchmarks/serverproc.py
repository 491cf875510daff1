"""What every benchmark shares: servers in their own processes (the load generator's CPU never
counts as theirs; a server's CPU and memory are its whole process tree's), the tasks sent and the
replies expected, ratios, targets, the machine, the command line and the JSON printed. Tests
import the server start-up from here too."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import aiohttp

SERVING_LINE = re.compile(r"serving on (http://\S+)")
BENCHMARKS = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0  # seconds; imports plus ffmpeg discovery on a loaded 2-core machine
API_KEY = "bench-key"
MODEL = "alibaba:wan@2.7"
CACHED_SEED = 4242  # every cached submit asks for this seed: one render, then cache hits


@dataclass
class ServerProcess:
    process: subprocess.Popen
    base_url: str
    stderr_path: Path
    startup_s: float | None = None  # seconds from the start to the first sign of readiness
    final_stderr: str | None = None  # kept once stopped (the file is then removed)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url[len("http"):] + "/v1"

    def status_kib(self, field: str) -> int | None:
        """A memory figure of ``/proc/<pid>/status`` in KiB (``VmHWM`` = peak RSS, ``VmRSS`` = now)."""
        return status_kib(self.process.pid, field)

    def pids(self) -> list[int]:
        """The started process and its live descendants: a launcher (npm, a wrapper script) never
        hides the process that does the work."""
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu_seconds(self) -> float | None:
        """CPU time the server's processes have used so far, all threads."""
        return self._summed(process_cpu_seconds)

    def rss_kib(self) -> int | None:
        """Resident memory now (``VmRSS``), summed over the server's processes."""
        return self._summed(lambda pid: status_kib(pid, "VmRSS"))

    def _summed(self, read: Callable[[int], float | None]):
        """``read`` summed over the server's processes; None once the started one is gone."""
        values = [read(pid) for pid in self.pids()]
        return None if values[0] is None else sum(filter(None, values))

    def stderr_text(self) -> str:
        return self.final_stderr if self.final_stderr is not None else self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """Ctrl-C (a clean shutdown), then a kill if it does not leave in time; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.final_stderr is None:
            self.final_stderr = self.stderr_text()
            self.stderr_path.unlink(missing_ok=True)
            if self.process.stdout is not None:
                self.process.stdout.close()
        return self.process.returncode


def proc_status(pid: int) -> dict[str, str]:
    """``/proc/<pid>/status`` as a dict (empty once the process is gone)."""
    try:
        return dict(re.findall(r"^(\w+):\s+(.*)$", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE))
    except OSError:
        return {}


def status_kib(pid: int, field: str) -> int | None:
    value = proc_status(pid).get(field)
    return int(value.split()[0]) if value else None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of one process, all threads: the scheduler's nanosecond counts."""
    try:
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid``, from each process's parent in ``/proc/*/stat`` (the
    ``/proc/<pid>/task/*/children`` lists are not in every kernel)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def start_vidmock(*options: str, env: dict | None = None) -> ServerProcess:
    """``vidmock serve --port 0 OPTIONS...`` from this interpreter's environment, its render cache
    new (``--cache-dir none``) unless OPTIONS name one: "cold" means cold in every run."""
    script = Path(sys.executable).parent / "vidmock"
    vidmock = [str(script)] if script.exists() else [sys.executable, "-m", "mockserver"]
    return start_process([*vidmock, "serve", "--port", "0", "--cache-dir", "none", *options], env=env)


def start_floor() -> ServerProcess:
    """The least an aiohttp server can do with a task array (``floor_server.py``, run as a file)."""
    return start_process([sys.executable, str(BENCHMARKS / "floor_server.py")])


def start_process(argv: list[str], env: dict | None = None) -> ServerProcess:
    """A server that prints ``<name> serving on http://HOST:PORT`` once ready."""
    started = time.monotonic()
    process, stderr_path = _spawn(argv, env, stdout=subprocess.PIPE)
    line = ""
    while time.monotonic() < started + STARTUP_TIMEOUT:
        line = process.stdout.readline()
        if match := SERVING_LINE.search(line):
            return ServerProcess(process, match.group(1), stderr_path, startup_s=time.monotonic() - started)
        if not line and process.poll() is not None:
            break
    _give_up(process, stderr_path, f"{argv[0]} did not start: {line!r}")


def start_listening(argv: list[str], port: int, env: dict | None = None) -> ServerProcess:
    """A server told its port (Prism, WireMock): ready once ``GET /`` gets any HTTP answer."""
    started = time.monotonic()
    process, stderr_path = _spawn(argv, env, stdout=subprocess.DEVNULL)
    while time.monotonic() < started + STARTUP_TIMEOUT and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
        except OSError:
            time.sleep(0.05)
            continue
        finally:
            connection.close()
        return ServerProcess(process, f"http://127.0.0.1:{port}", stderr_path, startup_s=time.monotonic() - started)
    _give_up(process, stderr_path, f"{argv[0]} did not answer on port {port}")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); for servers that cannot take port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spawn(argv: list[str], env: dict | None, stdout) -> tuple[subprocess.Popen, Path]:
    stderr_file = tempfile.NamedTemporaryFile(prefix="vidmock-stderr-", suffix=".log", delete=False)
    process = subprocess.Popen(argv, stdout=stdout, stderr=stderr_file, text=True, env={**os.environ, **(env or {})})
    stderr_file.close()
    return process, Path(stderr_file.name)


def _give_up(process: subprocess.Popen, stderr_path: Path, why: str) -> NoReturn:
    process.kill()
    process.wait()
    stderr = stderr_path.read_text(errors="replace")
    stderr_path.unlink(missing_ok=True)
    raise RuntimeError(f"{why}\n{stderr}")


# --- what the benchmarks send, and the replies they expect -----------------------------------------

def video_task(seed: int = CACHED_SEED, **fields) -> dict:
    """A valid 1280x720 2 s videoInference with a fresh taskUUID; ``fields`` change it."""
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": MODEL,
            "positivePrompt": "benchmark", "width": 1280, "height": 720, "duration": 2, "seed": seed, **fields}


def first_item(reply: dict) -> dict:
    data = reply.get("data") if isinstance(reply, dict) else None
    return data[0] if data and isinstance(data, list) and isinstance(data[0], dict) else {}


@dataclass(frozen=True)
class Expected:
    """A right reply, as the aiohttp client checks it (parsed) and as wrk's Lua script does (Lua
    patterns the reply text must and must not match)."""
    check: Callable[[dict], bool]
    pattern: str
    refuse: str = ""


ACK = Expected(lambda reply: first_item(reply).get("taskType") == "videoInference" and "errors" not in reply,
               '"taskType":%s*"videoInference"', '"errors"')
SUCCESS = Expected(lambda reply: first_item(reply).get("status") == "success", '"status":%s*"success"', '"errors"')
ECHO = Expected(lambda reply: bool(first_item(reply).get("taskType")), '"taskType":%s*"')


async def submit_and_poll(session: aiohttp.ClientSession, base_url: str, task: dict, *, interval: float,
                          deadline: float) -> tuple[dict, dict | None]:
    """POST ``task``, then getResponse every ``interval`` s while it is processing, until the
    ``time.monotonic()`` deadline: the ack and the last reply (None if refused or out of time)."""
    async def post(tasks: list) -> dict:
        async with session.post(f"{base_url}/v1", json=tasks) as response:
            return await response.json(content_type=None)

    ack = await post([task])
    while ACK.check(ack) and time.monotonic() < deadline:
        reply = await post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        if {item.get("status") for item in reply.get("data") or [{}]} != {"processing"}:
            return ack, reply
        await asyncio.sleep(interval)
    return ack, None


async def finished_task(base_url: str, task_uuid: str | None = None) -> str:
    """Submit the cached-seed task (a new taskUUID unless given) and wait for success: its render
    warms the cache, and its taskUUID is what getResponse workloads ask for."""
    task = video_task() | ({"taskUUID": task_uuid} if task_uuid else {})
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        ack, reply = await submit_and_poll(session, base_url, task, interval=0.05, deadline=time.monotonic() + 60)
    assert reply is not None and SUCCESS.check(reply), f"the warm-up task did not succeed: {ack} {reply}"
    return task["taskUUID"]


async def health(base_url: str) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/__mock/health") as response:
            return await response.json()


def percentile(counts: dict[float, int], pct: float) -> float | None:
    """Nearest-rank percentile of a histogram (value -> count: wrk's 1-µs buckets, a ``Counter``)."""
    rank, seen = max(1, math.ceil(pct / 100 * sum(counts.values()))), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None


def ratio(value, reference) -> float | None:
    return round(value / reference, 3) if value and reference else None


def target(text: str, bound: float, value, *, key: str = "measured", at_most: bool = False, **where) -> dict:
    """A stated target checked in this run: ``value`` (reported as ``key``) at least ``bound``, or at most."""
    met = value is not None and (value <= bound if at_most else value >= bound)
    return {"target": text, **where, "bound": bound, key: value, "met": met}


def turns(names: list[str], rounds: int):
    """(round, name): one server at a time, reversed in odd rounds, so machine noise hits all alike."""
    for round_number in range(rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            yield round_number, name


# --- the command line, the machine, the JSON printed --------------------------------------------

def main(doc: str, run: Callable[[argparse.Namespace], object], quick: dict, **options) -> dict:
    """A benchmark's options (``name=(default, help)`` or ``add_argument`` keywords) and ``--quick``
    (the ``quick`` values); ``run(args)`` (a dict or a coroutine of one) printed as JSON after the
    benchmark's name, command and machine, with the seconds it took."""
    parser = argparse.ArgumentParser(description=doc.strip().split(". ")[0].replace("\n", " ").rstrip(".") + ".")
    for name, spec in options.items():
        keywords = spec if isinstance(spec, dict) else {"default": spec[0], "type": type(spec[0]), "help": spec[1]}
        parser.add_argument("--" + name.replace("_", "-"), **keywords)
    parser.add_argument("--quick", action="store_true", help="a smoke run: " + ", ".join(
        f"--{name.replace('_', '-')} {value}" for name, value in quick.items()))
    args = parser.parse_args()
    if args.quick:
        vars(args).update(quick)
    started = time.monotonic()
    result = run(args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    report = {"benchmark": Path(sys.argv[0]).stem, "command": command_line(), "machine": machine(), **result,
              "duration_s": round(time.monotonic() - started, 1)}
    print(json.dumps(report, indent=2))
    return report


def comma_list(kind=str) -> Callable[[str], list]:
    return lambda text: [kind(item) for item in text.split(",") if item]


def machine() -> dict:
    """What a figure was measured on: the same keys in every benchmark's output."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {"nproc": os.cpu_count(), "python": platform.python_version(), "aiohttp": aiohttp.__version__,
            "platform": platform.platform(), "cpu": cpu and cpu.group(1).strip()}


def tool_version(argv: list[str]) -> str | None:
    """The first line a tool prints for its version (``java -version``), None if not installed."""
    if shutil.which(argv[0]) is None:
        return None
    completed = subprocess.run(argv, capture_output=True, text=True)
    return ((completed.stdout or completed.stderr).strip().splitlines() or [None])[0]


def code_revision(checkout: Path = BENCHMARKS) -> str | None:
    """The commit measured (``git describe --always --dirty``), so figures can be told apart later."""
    try:
        completed = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=checkout, capture_output=True,
                                   text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None


def command_line() -> str:
    """The exact command that produced this output: ``python -m benchmarks.X ...``."""
    return shlex.join(["python", "-m", f"benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]])

