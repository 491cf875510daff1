"""Benchmark: a 50-test suite on the pytest plugin, with an empty render cache and with it restored.

Reproduce with ``python benchmarks/plugin_cache.py [--tests 50] [--workers 2] [--repeat 3]``; prints
one JSON document. The suite (``plugin_suite.py``) has ``--tests`` tests over 5 distinct videos (sizes
and durations, each with its seed); each test submits one task, polls it, downloads the video and
its poster. Every figure is a run of ``python -m pytest`` in a subprocess: wall time (the median of
``--repeat`` runs), and what the servers' synthesizers did (``renders``: videos assembled;
``ffmpeg_runs``: every ffmpeg process of a render; ``probes``: toolchain probes, one per server
process at most). ``floor`` is the same number of tests doing nothing, under the same workers:
pytest and xdist's own cost, which the other figures include.

Layouts, each run cold (an empty cache folder) and warm (the same folder again, as a CI job that
restores its cache):
- ``per_worker``: the plugin as shipped under ``-n WORKERS``: a server per worker, one shared
  render cache (``--vidmock-cache-dir``);
- ``shared_server``: one ``vidmock serve`` for all workers (``VIDMOCK_EXTERNAL_URL``), started
  and stopped inside the timed span, restarted for the warm run on the same cache;
- ``unshared``: a server per worker with a cache of its own that ends with the run (what the
  plugin did before the render cache): every worker renders every video, every run;
- ``serial``: no xdist, one server.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from plugin_suite import SPECS, SuiteRun, run_suite, write_suite
from serverproc import command_line, machine, start_vidmock

COUNTERS = ("renders", "ffmpeg_runs", "probes")
FLOOR_TESTS = """
import pytest
@pytest.mark.parametrize("n", range({count}))
def test_nothing(n):
    pass
"""


def figures(runs: list[tuple[SuiteRun, float]]) -> dict:
    """Median wall time over the repeats; the counters of the first (all repeats start alike)."""
    for run, _ in runs:
        if run.returncode != 0:
            raise RuntimeError(f"the suite failed:\n{run.output[-3000:]}")
    first = runs[0][0]
    return {"wall_s": round(statistics.median(wall for _, wall in runs), 2), "walls_s": [round(w, 2) for _, w in runs],
            "tests_passed": len(first.tests), "servers": len({session["server"] for session in first.sessions}),
            **{counter: first.total(counter) for counter in COUNTERS}}


def cold_and_warm(repeat: int, run_once) -> dict:
    """``run_once(cache, phase) -> (SuiteRun, wall)`` cold on a fresh cache, then warm on it, ``repeat`` times."""
    phases: dict[str, list] = {"cold": [], "warm": []}
    for attempt in range(repeat):
        with tempfile.TemporaryDirectory(prefix="vidmock-render-cache-") as cache:
            for phase in phases:
                phases[phase].append(run_once(Path(cache), phase))
    return {phase: figures(runs) for phase, runs in phases.items()}


def per_worker(suite: Path, workers: list[str], repeat: int, **env: str) -> dict:
    def once(cache: Path, phase: str) -> tuple[SuiteRun, float]:
        run = run_suite(suite, *workers, "--vidmock-cache-dir", str(cache), env=env)
        return run, run.wall_s
    return cold_and_warm(repeat, once)


def shared_server(suite: Path, workers: list[str], repeat: int) -> dict:
    def once(cache: Path, phase: str) -> tuple[SuiteRun, float]:
        started = time.perf_counter()
        server = start_vidmock("--cache-dir", str(cache))
        try:
            run = run_suite(suite, *workers, env={"VIDMOCK_EXTERNAL_URL": server.base_url})
        finally:
            server.stop()
        return run, time.perf_counter() - started
    return cold_and_warm(repeat, once)


def floor(folder: Path, tests: int, workers: list[str], repeat: int) -> dict:
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_nothing.py").write_text(FLOOR_TESTS.format(count=tests))
    walls = [run_suite(folder, *workers).wall_s for _ in range(repeat)]
    return {"wall_s": round(statistics.median(walls), 2), "walls_s": [round(w, 2) for w in walls]}


def main(tests: int, workers: int, repeat: int) -> dict:
    xdist = ["-n", str(workers)]
    with tempfile.TemporaryDirectory(prefix="vidmock-plugin-bench-") as scratch:
        root = Path(scratch)
        suite = write_suite(root / "suite", count=tests)
        layouts = {
            "floor": floor(root / "floor", tests, xdist, repeat),
            "per_worker": per_worker(suite, xdist, repeat),
            "shared_server": shared_server(suite, xdist, repeat),
            "unshared": per_worker(suite, xdist, repeat, SUITE_SERVER_CACHE_DIR="none"),
            "serial_floor": floor(root / "serial-floor", tests, [], repeat),
            "serial": per_worker(suite, [], repeat),
        }
    shipped = layouts["per_worker"]
    floors = {"per_worker": "floor", "shared_server": "floor", "unshared": "floor", "serial": "serial_floor"}
    return {
        "benchmark": "plugin_cache", "command": command_line(), "machine": machine(),
        "suite": {"tests": tests, "distinct_videos": len(SPECS), "workers": workers, "repeat": repeat},
        "layouts": layouts,
        "above_floor_s": {name: {phase: round(layouts[name][phase]["wall_s"] - layouts[floor_name]["wall_s"], 2)
                                 for phase in ("cold", "warm")} for name, floor_name in floors.items()},
        "ratios": {
            "per_worker_warm_vs_cold_wall": round(shipped["warm"]["wall_s"] / shipped["cold"]["wall_s"], 3),
            "shared_server_vs_per_worker_wall_cold": round(
                layouts["shared_server"]["cold"]["wall_s"] / shipped["cold"]["wall_s"], 3),
            "shared_server_vs_per_worker_wall_warm": round(
                layouts["shared_server"]["warm"]["wall_s"] / shipped["warm"]["wall_s"], 3),
            "unshared_vs_per_worker_wall_warm": round(layouts["unshared"]["warm"]["wall_s"] / shipped["warm"]["wall_s"], 3),
            "serial_warm_vs_cold_wall": round(layouts["serial"]["warm"]["wall_s"] / layouts["serial"]["cold"]["wall_s"], 3),
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50, help="tests in the suite")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median wall time reported)")
    args = parser.parse_args()
    print(json.dumps(main(args.tests, args.workers, args.repeat), indent=2))
