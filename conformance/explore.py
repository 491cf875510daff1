"""``vidmock check --explore``: hypothesis searches the behaviours for one that makes a client
command fail, then shrinks it to the smallest one that still does.

Each behaviour is run at most once (results are kept by behaviour, so the shrinker's repeats and
hypothesis's final replay cost nothing, and a client that fails only sometimes cannot make the
search contradict itself). The shrunk behaviour is then run once more, fresh, to show that it
fails on its own, as the reproduce line will. With a fixed seed and no database the search is
deterministic: hypothesis starts from the same random state and, for a client that answers each
behaviour the same way, tries the same behaviours in the same order.

With ``jobs`` > 1 the runs of the search run ahead of it, ``jobs`` at a time. Until a run fails,
what hypothesis tries next does not depend on how the runs went, so a first search in which
every behaviour passes, without running anything, lists what the real search will ask for; those
behaviours run concurrently (each on its own key), and the real search takes their results in
its own order. Shrinking, which depends on each result, runs one at a time. So the runs reported,
their order and their numbers are those of ``jobs=1``; the only cost is the few runs started
ahead of a failure and never reported.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, ReadOnlyDatabase

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
            database: Path | None = None, database_key: str = "", jobs: int = 1,
            on_run: Callable[[RunResult], None] = lambda result: None) -> Exploration:
    """Run the command under up to ``examples`` generated behaviours; on a failure, shrink it.
    ``database`` keeps hypothesis's example database there (a failure found once is tried first
    next time); ``database_key`` tells apart what is explored (the command, the options); ``jobs``
    runs that many of the search's runs at once."""
    exploration = Exploration(seed)
    seen: dict[Behaviour, RunResult] = {}
    stored = DirectoryBasedExampleDatabase(str(database)) if database else None
    planned = _search(lambda behaviour: False, strategy, examples, seed, ReadOnlyDatabase(stored) if stored else None,
                      database_key)[0] if jobs > 1 else []
    ahead = _Ahead(runner, jobs, planned)

    def fails(behaviour: Behaviour) -> bool:
        if behaviour not in seen:
            phase = "shrink" if any(not run.passed for run in exploration.runs) else "explore"
            seen[behaviour] = runner.numbered(ahead.result(behaviour) or runner.execute(behaviour), phase)
            exploration.runs.append(seen[behaviour])
            on_run(seen[behaviour])
        return not seen[behaviour].passed

    try:
        _, smallest = _search(fails, strategy, examples, seed, stored, database_key)
    except BaseException:  # Ctrl-C: the runs ahead would otherwise end only at their time-out
        runner.kill_commands()
        raise
    finally:
        ahead.close()
    if smallest is None:
        return exploration
    exploration.smallest = seen[smallest]
    exploration.confirmation = runner.run(smallest, phase="confirm")
    on_run(exploration.confirmation)
    return exploration


def _search(fails: Callable[[Behaviour], bool], strategy: st.SearchStrategy[Behaviour], examples: int, seed: int,
            database: ExampleDatabase | None, database_key: str) -> tuple[list[Behaviour], Behaviour | None]:
    """(every behaviour hypothesis tried, in order; the smallest failing one, None when none failed)."""
    tried: list[Behaviour] = []
    found: list[Behaviour] = []

    @settings(max_examples=examples, deadline=None, verbosity=Verbosity.quiet, print_blob=False,
              phases=(Phase.explicit, *((Phase.reuse,) if database is not None else ()), Phase.generate, Phase.shrink),
              database=database, suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(strategy)
    def search(behaviour: Behaviour) -> None:
        tried.append(behaviour)
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
    return tried, found[0] if found else None


class _Ahead:
    """The behaviours a search will try while every run passes, run ``jobs`` at a time ahead of
    it, in its order; none is started once one of them has failed past what the search needs."""

    def __init__(self, runner: Runner, jobs: int, planned: list[Behaviour]) -> None:
        self.planned = {behaviour: index for index, behaviour in enumerate(dict.fromkeys(planned))}
        self.failed_at = len(self.planned)  # the first failure the search will stop at
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(jobs, thread_name_prefix="vidmock-explore") if self.planned else None
        self.futures: dict[Behaviour, Future] = {
            behaviour: self.pool.submit(self._run, runner, behaviour, index) for behaviour, index in self.planned.items()}

    def _run(self, runner: Runner, behaviour: Behaviour, index: int) -> RunResult | None:
        with self.lock:
            if index > self.failed_at:  # the search stops at that failure: never asks for this one
                return None
        result = runner.execute(behaviour, phase="explore")
        if not result.passed:
            with self.lock:
                self.failed_at = min(self.failed_at, index)
        return result

    def result(self, behaviour: Behaviour) -> RunResult | None:
        """The run of a planned behaviour (waiting for it), or None: run it now."""
        future = self.futures.pop(behaviour, None)
        return future.result() if future is not None else None

    def close(self) -> None:
        """Drop what was not started; wait for what was (its command ends within --timeout)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def database_key(command: list[str], *parts: object) -> str:
    """What a stored failure belongs to: the command and whatever shapes the search."""
    return json.dumps(["vidmock-explore-1", command, *parts], default=str)
