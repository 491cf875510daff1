"""Benchmark: a 50-test suite on the pytest plugin, with an empty render cache and with it restored.

The suite is ``plugin_suite.py``. Every figure is a ``python -m pytest`` subprocess: wall and CPU
time of all its processes (medians of ``--repeat`` rounds, a round running every layout) and what
the servers' synthesizers did (renders, ffmpeg runs, toolchain probes). ``floor`` is as many tests
doing nothing: pytest's and xdist's own cost. Layouts, each cold (an empty cache folder) and warm
(the same folder again, as a CI job that restores its cache):
- ``per_worker``: the plugin as shipped under ``-n WORKERS``: a server per worker, one shared
  render cache (``--vidmock-cache-dir``);
- ``shared_server``: one ``vidmock serve`` for all workers (``VIDMOCK_EXTERNAL_URL``), started
  and stopped inside the timed span, restarted for the warm run on the same cache;
- ``unshared``: a server per worker with a cache of its own that ends with the run (what the
  plugin did before the render cache): every worker renders every video, every run;
- ``serial``: no xdist, one server.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.plugin_suite import SPECS, SuiteRun, run_suite, write_suite
from benchmarks.serverproc import main, ratio, start_vidmock

COUNTERS = ("renders", "ffmpeg_runs", "probes")
FLOOR_TESTS = """
import pytest
@pytest.mark.parametrize("n", range({count}))
def test_nothing(n):
    pass
"""


@dataclass
class Measured:
    run: SuiteRun | None  # None for the floor, whose tests report nothing
    wall_s: float
    cpu_s: float  # user + system time of every process the run started (pytest, workers, ffmpeg, a server)


def measure(action) -> Measured:
    """Run ``action() -> SuiteRun`` and time it, wall clock and the CPU of the child processes (all
    waited for by then, so the kernel has added theirs): CPU time is what a loaded machine (the 2
    cores are shared) disturbs least."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    run = action()
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(f"the suite failed:\n{run.output[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(run if run.tests else None, wall, cpu)


def summary(measured: list[Measured]) -> dict:
    """Medians over the repeats, each repeat listed; the counters of the first (repeats start alike)."""
    out = {"wall_s": round(statistics.median(m.wall_s for m in measured), 2),
           "cpu_s": round(statistics.median(m.cpu_s for m in measured), 2),
           "walls_s": [round(m.wall_s, 2) for m in measured], "cpus_s": [round(m.cpu_s, 2) for m in measured]}
    first = measured[0].run
    if first is not None:
        out |= {"tests_passed": len(first.tests), "servers": len({session["server"] for session in first.sessions}),
                **{counter: first.total(counter) for counter in COUNTERS}}
    return out


def layouts_of(suite: Path, floor_suite: Path, xdist: list[str]):
    """name -> run(cache) -> SuiteRun, for each layout (the floors ignore the cache)."""
    def plugin(workers: list[str], **env: str):
        return lambda cache: run_suite(suite, *workers, "--vidmock-cache-dir", str(cache), env=env)

    def shared(cache: Path) -> SuiteRun:
        with start_vidmock("--cache-dir", str(cache)) as server:
            return run_suite(suite, *xdist, env={"VIDMOCK_EXTERNAL_URL": server.base_url})

    return {
        "floor": lambda cache: run_suite(floor_suite, *xdist),
        "per_worker": plugin(xdist),
        "shared_server": shared,
        "unshared": plugin(xdist, SUITE_SERVER_CACHE_DIR="none"),
        "serial_floor": lambda cache: run_suite(floor_suite),
        "serial": plugin([]),
    }


def run(args) -> dict:
    tests, workers, repeat = args.tests, args.workers, args.repeat
    xdist = ["-n", str(workers)]
    with tempfile.TemporaryDirectory(prefix="vidmock-plugin-bench-") as scratch:
        root = Path(scratch)
        suite = write_suite(root / "suite", count=tests)
        floor_suite = root / "floor"
        floor_suite.mkdir()
        (floor_suite / "pytest.ini").write_text("[pytest]\n")
        (floor_suite / "test_nothing.py").write_text(FLOOR_TESTS.format(count=tests))
        runners = layouts_of(suite, floor_suite, xdist)
        measured: dict[str, dict[str, list[Measured]]] = {name: {} for name in runners}
        for attempt in range(repeat):  # rounds, so that a busy spell of the machine hits every layout alike
            for name, run in runners.items():
                with tempfile.TemporaryDirectory(prefix="vidmock-render-cache-", dir=root) as cache:
                    phases = ("once",) if "floor" in name else ("cold", "warm")
                    for phase in phases:  # warm: the same cache folder again
                        measured[name].setdefault(phase, []).append(measure(lambda: run(Path(cache))))
    layouts = {name: {phase: summary(runs) for phase, runs in phases.items()} for name, phases in measured.items()}
    floors = {"per_worker": "floor", "shared_server": "floor", "unshared": "floor", "serial": "serial_floor"}
    figure = lambda name, phase, kind="cpu_s": layouts[name][phase][kind]  # noqa: E731
    return {
        "suite": {"tests": tests, "distinct_videos": len(SPECS), "workers": workers, "repeat": repeat},
        "layouts": layouts,
        "above_floor_cpu_s": {name: {phase: round(figure(name, phase) - figure(floor, "once"), 2) for phase in ("cold", "warm")}
                              for name, floor in floors.items()},
        "ratios": {
            "per_worker_warm_vs_cold_cpu": ratio(figure("per_worker", "warm"), figure("per_worker", "cold")),
            "per_worker_warm_vs_cold_wall": ratio(figure("per_worker", "warm", "wall_s"), figure("per_worker", "cold", "wall_s")),
            "shared_server_vs_per_worker_cpu_cold": ratio(figure("shared_server", "cold"), figure("per_worker", "cold")),
            "shared_server_vs_per_worker_cpu_warm": ratio(figure("shared_server", "warm"), figure("per_worker", "warm")),
            "shared_server_vs_per_worker_wall_warm": ratio(figure("shared_server", "warm", "wall_s"),
                                                           figure("per_worker", "warm", "wall_s")),
            "unshared_vs_per_worker_cpu_warm": ratio(figure("unshared", "warm"), figure("per_worker", "warm")),
            "serial_warm_vs_cold_cpu": ratio(figure("serial", "warm"), figure("serial", "cold")),
        },
    }


if __name__ == "__main__":
    main(__doc__, run, quick={"tests": 5, "repeat": 1}, tests=(50, "tests in the suite"),
         workers=(2, "pytest-xdist workers (-n)"), repeat=(3, "rounds per figure (medians reported)"))
