"""``vidmock check --explore``: hypothesis searches the behaviours for one that makes a client
command fail, then shrinks it to the smallest one that still does.

Each behaviour is run at most once (results are kept by behaviour, so the shrinker's repeats and
hypothesis's final replay cost nothing, and a client that fails only sometimes cannot make the
search contradict itself). The shrunk behaviour is then run once more, fresh, to show that it
fails on its own, as the reproduce line will. With a fixed seed and no database the search is
deterministic: hypothesis starts from the same random state and, for a client that answers each
behaviour the same way, tries the same behaviours in the same order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.behaviours import Behaviour
from conformance.runs import Runner, RunResult


class _Failed(Exception):
    """A run failed: hypothesis shrinks the behaviour that raised it."""


@dataclass
class Exploration:
    seed: int
    runs: list[RunResult] = field(default_factory=list)
    smallest: RunResult | None = None  # the smallest failing behaviour's run
    confirmation: RunResult | None = None  # the same behaviour, run again on its own

    @property
    def passed(self) -> bool:
        return self.smallest is None

    @property
    def reproduced(self) -> bool:
        return bool(self.smallest and self.confirmation
                    and self.confirmation.signature() == self.smallest.signature())


def explore(runner: Runner, strategy: st.SearchStrategy[Behaviour], *, examples: int, seed: int,
            database: Path | None = None, database_key: str = "",
            on_run: Callable[[RunResult], None] = lambda result: None) -> Exploration:
    """Run the command under up to ``examples`` generated behaviours; on a failure, shrink it.
    ``database`` keeps hypothesis's example database there (a failure found once is tried first
    next time); ``database_key`` tells apart what is explored (the command, the options)."""
    exploration = Exploration(seed)
    seen: dict[Behaviour, RunResult] = {}

    def fails(behaviour: Behaviour) -> bool:
        if behaviour not in seen:
            phase = "shrink" if any(not run.passed for run in exploration.runs) else "explore"
            seen[behaviour] = runner.run(behaviour, phase=phase)
            exploration.runs.append(seen[behaviour])
            on_run(seen[behaviour])
        return not seen[behaviour].passed

    found: list[Behaviour] = []

    @settings(max_examples=examples, deadline=None, verbosity=Verbosity.quiet, print_blob=False,
              phases=(Phase.explicit, *((Phase.reuse,) if database else ()), Phase.generate, Phase.shrink),
              database=DirectoryBasedExampleDatabase(str(database)) if database else None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(strategy)
    def search(behaviour: Behaviour) -> None:
        if fails(behaviour):
            found[:] = [behaviour]
            raise _Failed

    # What hypothesis.find() and @seed() set, minus @seed's switching the database off: a seeded
    # search may still replay the failures a database holds.
    search._hypothesis_internal_use_seed = seed
    search._hypothesis_internal_database_key = hashlib.sha256(database_key.encode()).digest()
    try:
        search()
    except _Failed:
        pass
    if not found:
        return exploration
    exploration.smallest = seen[found[0]]
    exploration.confirmation = runner.run(found[0], phase="confirm")
    on_run(exploration.confirmation)
    return exploration


def database_key(command: list[str], *parts: object) -> str:
    """What a stored failure belongs to: the command and whatever shapes the search."""
    return json.dumps(["vidmock-explore-1", command, *parts], default=str)
