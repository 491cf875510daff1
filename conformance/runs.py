"""One mock for many runs of a client command: each run gets a fresh API key with its behaviour
installed before the command starts, and ends in a verdict.

A run passes when the command ends as its behaviour says it should (exit 0 when every task can
succeed; non-zero when every task ends without a usable video: a task error or NSFW results, or
when a task met a refusal no retry gets past: insufficientCredits, invalidValueUploadFailed),
within the time-out, and breaks no client rule. The rules judge what the mock recorded for
the run's key since the run started, what came without a key (or under a key vidmock did not
give) in that time, and the key's webhook deliveries.

Runs may run concurrently (``vidmock check --jobs N``): each has its own key, so its traffic stays
its own; only a request that carries no key of ours cannot be told apart, and is judged in every
run going on when it came. A run is numbered when it is reported, not when it starts, so the
numbers follow the order of the report whatever finished first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from conformance.behaviours import Behaviour, apply_to_key, ends_in_error, refused_for_good, scenario_catalogue
from conformance.client import Namespace
from conformance.mock import BackgroundMock, harness_config
from conformance.rules import Rule, Traffic, Violation, evaluate

EXIT_TIMEOUT, EXIT_NOT_FOUND = 124, 127
OUTPUT_TAIL = 4000  # characters of a captured run's output kept for its report


def client_environment(namespace: Namespace) -> dict[str, str]:
    """What CMD is told about the mock (added to the inherited environment)."""
    return {"VIDMOCK_HTTP_URL": namespace.http_url, "VIDMOCK_WS_URL": namespace.ws_url,
            "VIDMOCK_BASE_URL": namespace.base_url, "VIDMOCK_API_KEY": namespace.api_key or "",
            "RUNWARE_API_KEY": namespace.api_key or ""}


@dataclass
class Execution:
    """How the command ended: its status (the shell's 128+N when killed by signal N)."""

    status: int
    seconds: float
    timed_out: bool = False
    not_found: bool = False
    output: str = ""


@dataclass
class RunResult:
    number: int
    behaviour: Behaviour
    expects_error: bool  # every task ends without a usable video: the command must exit non-zero
    execution: Execution
    results: dict[Rule, list[Violation]]
    timeout: float
    phase: str = "run"  # run | explore | shrink | confirm | matrix
    label: str = ""  # a matrix row's name
    overhead: float = 0.0  # seconds vidmock spent on the run beyond the command's own time

    @property
    def status(self) -> int:
        return self.execution.status

    @property
    def broken(self) -> list[Rule]:
        return [rule for rule, violations in self.results.items() if violations]

    @property
    def exit_ok(self) -> bool:
        run = self.execution
        if run.timed_out or run.not_found:
            return False
        return (run.status != 0) if self.expects_error else run.status == 0

    @property
    def passed(self) -> bool:
        return self.exit_ok and not self.broken

    def exit_problem(self) -> str | None:
        """What was wrong with how the command ended, if anything."""
        run = self.execution
        if run.not_found:
            return "the client command could not be started"
        if run.timed_out:
            return f"the client command ran longer than --timeout {self.timeout:g} s"
        if self.expects_error and run.status == 0:
            return ("the client command exited 0, but no task could end with a usable video "
                    "(it must exit non-zero)")
        if not self.expects_error and run.status != 0:
            return f"the client command exited with status {run.status} (expected 0)"
        return None

    def reasons(self) -> list[str]:
        """Why the run failed, one line each (empty when it passed)."""
        problem = self.exit_problem()
        return ([problem] if problem else []) + [f"{rule.id} {rule.title}" for rule in self.broken]

    def signature(self) -> tuple:
        """What "failed the same way" compares: how the command ended and which rules broke."""
        run = self.execution
        return (run.timed_out, run.not_found, None if run.timed_out else run.status,
                tuple(rule.id for rule in self.broken))


@dataclass
class Runner:
    """The mock for a whole check (started by ``with``), and runs of ``command`` against it.

    ``faults`` (``POST /__mock/faults`` bodies) go in before each run's behaviour; ``capture``
    keeps the command's output (stdout and stderr) for the report instead of passing it through.
    """

    command: list[str]
    rule_ids: list[str] | None = None
    timeout: float = 60.0
    faults: list[dict] = field(default_factory=list)
    capture: bool = False
    seed: int | None = None
    runs: int = 0  # reported so far: each run's number
    mock: BackgroundMock = field(init=False, repr=False)
    admin: Namespace = field(init=False, repr=False)  # every namespace: clients may send no key
    catalogue: dict[str, dict] = field(init=False, repr=False)  # the named scenarios, by name
    _keys: set[str] = field(init=False, repr=False, default_factory=set)  # every run's key so far
    _processes: set[subprocess.Popen] = field(init=False, repr=False, default_factory=set)  # commands running now
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __enter__(self) -> "Runner":
        settings = {"seed": self.seed} if self.seed is not None else {}
        self.mock = BackgroundMock(harness_config(**settings)).start()
        try:
            self.admin = Namespace(self.mock.base_url, None)
            self.catalogue = scenario_catalogue(self.admin)
        except BaseException:
            self.mock.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill_commands()
        self.mock.stop()

    def kill_commands(self) -> None:
        """Ctrl-C reaches only the main thread: take the commands of the other runs down too."""
        with self._lock:
            running = list(self._processes)
        for process in running:
            _kill_group(process)

    def run(self, behaviour: Behaviour, *, phase: str = "run", label: str = "") -> RunResult:
        """One run, numbered at once (the next number)."""
        return self.numbered(self.execute(behaviour, phase=phase, label=label))

    def numbered(self, result: RunResult, phase: str | None = None) -> RunResult:
        """The run with the next number (and ``phase``, when given): called as it is reported."""
        self.runs += 1
        return replace(result, number=self.runs, phase=phase or result.phase)

    def run_all(self, runs: Iterable[tuple[Behaviour, str]], *, phase: str, jobs: int = 1,
                on_run: Callable[[RunResult], None] = lambda result: None) -> list[RunResult]:
        """(behaviour, label) runs, ``jobs`` at a time, numbered and reported in the order given."""
        with ThreadPoolExecutor(jobs, thread_name_prefix="vidmock-check") as pool:
            pending = [pool.submit(self.execute, behaviour, phase=phase, label=label) for behaviour, label in runs]
            results = []
            try:
                for future in pending:
                    results.append(self.numbered(future.result()))
                    on_run(results[-1])
            except BaseException:
                for future in pending:
                    future.cancel()
                self.kill_commands()  # else the pool would wait for them to end
                raise
        return results

    def execute(self, behaviour: Behaviour, *, phase: str = "run", label: str = "") -> RunResult:
        """Run the command once under a fresh key with the behaviour installed (safe from several
        threads at once); the result is not numbered yet (0)."""
        started = time.perf_counter()
        key = f"check-{uuid.uuid4().hex}"
        with self._lock:
            self._keys.add(key)
        client = Namespace(self.mock.base_url, key)
        since = self.admin.call("GET", "/__mock/clock")["now"]
        for spec in self.faults:
            client.call("POST", "/__mock/faults", spec)
        apply_to_key(behaviour, client, self.catalogue)
        execution = self._execute({**os.environ, **client_environment(client)})
        entries = self.admin.call("GET", "/__mock/journal?" + urllib.parse.urlencode({"since": since}))["entries"]
        with self._lock:
            others = self._keys - {key}
        entries = [entry for entry in entries if entry.get("namespace") not in others]  # other runs' own traffic
        results = evaluate(Traffic(entries, client.settle_deliveries(), api_key=key), self.rule_ids)
        client.reset()  # the run's tasks, journal, faults and deliveries: the server stays small
        expects_error = ends_in_error(behaviour, self.catalogue) or refused_for_good(entries)
        return RunResult(0, behaviour, expects_error, execution, results,
                         self.timeout, phase, label, overhead=time.perf_counter() - started - execution.seconds)

    def _execute(self, env: dict[str, str]) -> Execution:
        """Run the command in its own process group (killed whole on time-out or Ctrl-C)."""
        output = tempfile.TemporaryFile() if self.capture else None
        started = time.perf_counter()
        try:
            process = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT if output else None, process_group=0)
        except OSError as error:  # not found, not executable
            return Execution(EXIT_NOT_FOUND, 0.0, not_found=True, output=f"cannot run {self.command[0]!r}: {error}")
        with self._lock:
            self._processes.add(process)
        try:
            code = process.wait(self.timeout)
            execution = Execution(code if code >= 0 else 128 - code, time.perf_counter() - started)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            execution = Execution(EXIT_TIMEOUT, time.perf_counter() - started, timed_out=True)
        except BaseException:  # Ctrl-C: take the command down with us
            _kill_group(process)
            raise
        finally:
            with self._lock:
                self._processes.discard(process)
        if output is not None:
            output.seek(max(0, output.seek(0, os.SEEK_END) - OUTPUT_TAIL))
            execution.output = output.read().decode(errors="replace")
            output.close()
        return execution


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
