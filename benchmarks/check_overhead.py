"""What ``vidmock check`` adds to each run of a client command, beyond the command's own time.

The client reaches the mock once (a REST ping) and does nothing else. ``bare_s``: the command by
itself; ``calm_run_s``: one ``Runner.run`` under the calm behaviour, everything included (a fresh
key, the behaviour installed, the command, the journal read, the rules, the reset), so
``overhead_s = calm_run_s - bare_s``; ``explored_vidmock_s``: a run's time minus the command's for
behaviours drawn as ``--explore`` draws them; ``startup_s``: the one server of a whole check.
Medians and 95th percentiles over ``--runs`` runs after two untimed warm-up runs of each kind.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings

from benchmarks.serverproc import API_KEY, main
from conformance.behaviours import Behaviour, key_behaviours
from conformance.client import Namespace
from conformance.runs import Runner, client_environment

PING = ("import os, urllib.request as u; u.urlopen(u.Request(os.environ['VIDMOCK_HTTP_URL'], "
        "b'[{\"taskType\": \"ping\", \"ping\": true}]', {'Authorization': 'Bearer ' + os.environ['VIDMOCK_API_KEY'], "
        "'Content-Type': 'application/json'}))")
CLIENT = [sys.executable, "-c", PING]
LIMIT_S = 0.2  # the budget: what vidmock may add per explored run


def stats(values: list[float]) -> dict:
    p95 = statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
    return {"median": round(statistics.median(values), 4), "p95": round(p95, 4)}


def drawn_behaviours(count: int, catalogue: dict) -> list[Behaviour]:
    """Behaviours as ``--explore`` draws them, without the ones that only slow the command down
    (their cost is the command's, and it is not what this measures)."""
    drawn: list[Behaviour] = []

    @settings(max_examples=count * 3, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(key_behaviours("all", tuple(catalogue)))
    def collect(behaviour: Behaviour) -> None:
        if len(drawn) < count and behaviour.reply_delay_ms == 0 and "slow" not in behaviour.scenarios:
            drawn.append(behaviour)

    collect()
    return drawn


def measure(runs: int) -> dict[str, list[float] | float | int]:
    """Bare runs and calm runs alternate (so load on the machine hits both alike), then runs under
    drawn behaviours."""
    found: dict = {"bare": [], "calm": [], "calm_command": [], "explored": [], "refusals": 0}
    started = time.perf_counter()
    with Runner(CLIENT, capture=True) as runner:
        found["startup"] = time.perf_counter() - started
        env = {**os.environ, **client_environment(Namespace(runner.mock.base_url, API_KEY))}
        for number in range(runs + 2):
            started = time.perf_counter()
            subprocess.run(CLIENT, env=env, check=True)
            bare = time.perf_counter() - started
            result = runner.run(Behaviour())
            assert result.passed, result.reasons()
            if number >= 2:  # two warm-up rounds
                found["bare"].append(bare)
                found["calm"].append(result.overhead + result.execution.seconds)
                found["calm_command"].append(result.execution.seconds)
        for behaviour in drawn_behaviours(runs, runner.catalogue):
            result = runner.run(behaviour)
            found["explored"].append(result.overhead)
            found["refusals"] += len(behaviour.submit_refusals) + len(behaviour.poll_refusals)
    return found


def report(args) -> dict:
    runs = args.runs
    found = measure(runs)
    calm, explored = found["calm"], found["explored"]
    overhead = [run - bare for run, bare in zip(calm, found["bare"])]
    return {
        "runs": runs, "client": "python -c <one REST ping under VIDMOCK_API_KEY>",
        "bare_s": stats(found["bare"]), "calm_run_s": stats(calm), "calm_command_s": stats(found["calm_command"]),
        "overhead_s": stats(overhead),
        "overhead_ratio": round(statistics.median(calm) / statistics.median(found["bare"]), 3),
        "explored_vidmock_s": stats(explored), "explored_refusals_installed": found["refusals"],
        "startup_s": round(found["startup"], 3), "limit_s": LIMIT_S,
        "within_limit": statistics.median(overhead) < LIMIT_S and statistics.median(explored) < LIMIT_S,
    }


if __name__ == "__main__":
    main(__doc__, report, quick={"runs": 3}, runs=(30, "timed runs of each kind"))
