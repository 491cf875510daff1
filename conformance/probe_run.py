"""One run of ``vidmock probe``: the phases, and asking both sides.

Asks the upstream chosen questions as dry runs (``X-Runware-Dry-Run: 1``: validated and priced,
never run, never billed) and asks vidmock the same, in process: a vidmock server started on the
loopback interface inside this process answers every task with the validation and pricing
``vidmock serve`` uses, and its reply is read exactly as the upstream's is, so the comparison
follows vidmock wherever it changes. The phases:

1. the canary, a cheap valid task; the run goes on only if its answer is plainly a dry run;
2. the boundary questions of ``conformance.probe_questions``;
3. each disagreement shrunk to the smallest request still showing it, duplicates folded;
4. tasks drawn from ``conformance.strategies`` (valid and invalid) with what is left of ``--requests``.

The vendor's published request schema is compared too (``conformance.probe_schema``); with
``--schemas`` that is all a run does (no key needed, no dry run sent).
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from conformance.probe import DEFAULT_RATE, DEFAULT_REQUESTS
from conformance.probe_judge import (Answer, Disagreement, disagreements, is_auth_refusal, plain_dry_run,
                                     real_run)
from conformance.probe_questions import Question, boundary_questions, canary, smaller, value_at
from conformance.probe_report import Finding, Report, print_report, reproducer, schema_finding, write_evidence
from conformance.probe_schema import DEFAULT_SCHEMAS_URL, SchemaUnavailable, published_differences
from conformance.probe_upstream import (BudgetSpent, DryRunner, Exchange, ProbeStop, UnsafeTask, refusal_offline,
                                        unsafe_reason)
from mockserver.backends.proxy import RUNWARE_REST
from mockserver.contract import DEFAULT_MODEL
from mockserver.contract.protocol import DRY_RUN_HEADER
from mockserver.traffic.redaction import REDACTED, redact_url

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
INPROCESS_KEY = "vidmock-probe"  # the in-process vidmock accepts any key
MAX_SHRINK_STEPS = 32  # smaller requests taken per finding, at most (each step removes or simplifies one thing)
DRAWS_PER_REQUEST = 3  # drawn tasks per request left: some are unsafe to send, some were asked already


@dataclass
class Options:
    """One run's settings, as ``vidmock probe``'s options give them (``key``: the API key itself)."""

    upstream: str = RUNWARE_REST
    key: str = ""
    requests: int = DEFAULT_REQUESTS
    rate: float = DEFAULT_RATE
    seed: int = 0
    url_inputs: bool = False
    schemas_only: bool = False
    schemas_url: str = DEFAULT_SCHEMAS_URL
    case: dict | None = None
    evidence: Path | None = None
    fail_on_drift: bool = False
    as_json: bool = False


# --- asking both sides ---------------------------------------------------------------------------


# the task as sent, the upstream's answer, vidmock's, and how they differ
Asked = tuple[dict, Answer, Answer, list[Disagreement]]


class Prober:
    """Sends tasks to the upstream and to the in-process vidmock, and keeps what they said."""

    def __init__(self, runner: DryRunner, session: aiohttp.ClientSession, vidmock: Any, report: Report,
                 rng: random.Random, progress: Callable[[str], None]) -> None:
        self.runner = runner
        self.session = session
        self.vidmock = vidmock  # a RunningServer of mockserver.app
        self.vidmock_url = f"{vidmock.base_url}/v1"
        self.report = report
        self.rng = rng
        self.progress = progress
        self.exchanges: list[tuple[str, Exchange]] = []
        self._asked: dict[str, Asked] = {}

    async def stop_vidmock(self) -> None:
        await self.vidmock.stop()

    def task_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    async def ask(self, task: dict, label: str, *, canary: bool = False) -> Asked:
        """Both sides' answers to ``task`` (a fresh taskUUID each time); an identical task asked
        before is answered from memory and spends nothing. The canary's answer must be plainly a
        dry run, every other answer must at least not show a task that ran."""
        key = json.dumps({k: v for k, v in task.items() if k != "taskUUID"}, sort_keys=True)
        if key in self._asked:
            return self._asked[key]
        sent = {"taskType": task.get("taskType"), "taskUUID": self.task_uuid(),
                **{k: v for k, v in task.items() if k not in ("taskType", "taskUUID")}}
        exchange = await self.runner.send(sent)
        self.exchanges.append((label, exchange))
        self.report.sent = self.runner.sent
        if is_auth_refusal(exchange.status, exchange.text):
            raise ProbeStop(f"the upstream refused the API key (HTTP {exchange.status}): "
                            f"{self.runner.redact(exchange.text)[:300]}")
        not_dry = plain_dry_run(exchange.status, exchange.text) if canary else None
        if not_dry:
            raise ProbeStop(f"the canary's answer is not plainly a dry run ({not_dry}); nothing more was sent. "
                            f"The upstream answered HTTP {exchange.status}: {self.runner.redact(exchange.text)[:300]}")
        ran = real_run(exchange.text)
        if ran:
            raise ProbeStop(f"the upstream ran a task instead of a dry run ({ran}); nothing more is sent")
        theirs = Answer.read(exchange.status, exchange.text, sent["taskUUID"])
        status, text = await self._vidmock(sent)
        ours = Answer.read(status, text, sent["taskUUID"])
        found = disagreements(theirs, ours, sent.get("model") or DEFAULT_MODEL)
        if not found:
            self.report.agreed += 1
        self.progress(f"[{self.runner.sent}/{self.runner.budget}] {label}: "
                      f"{', '.join(d.kind for d in found) or 'agreed'}")
        self._asked[key] = (sent, theirs, ours, found)
        return self._asked[key]

    async def _vidmock(self, task: dict) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {INPROCESS_KEY}", DRY_RUN_HEADER: "1"}
        async with self.session.post(self.vidmock_url, json=[task], headers=headers) as response:
            return response.status, await response.text()


def _finding(disagreement: Disagreement, sent: dict, theirs: Answer, ours: Answer) -> Finding:
    return Finding(disagreement.kind, disagreement.message, sent, theirs.to_json(), ours.to_json(),
                   verbatim=theirs.verbatim if not theirs.readable else None, signature=disagreement.signature)


# --- the phases ----------------------------------------------------------------------------------


class Run:
    """One probe run: canary, boundaries, shrinking, strategies."""

    def __init__(self, prober: Prober, base: dict, *, url_inputs: bool) -> None:
        self.prober = prober
        self.base = base
        self.url_inputs = url_inputs
        self.found: dict[tuple, Finding] = {}  # (kind, signature) -> the smallest request showing it
        self.shrunk: set[tuple] = set()

    async def canary(self) -> None:
        """One cheap valid task; anything but a plain dry run ends the run before more is sent."""
        self.keep(*await self.prober.ask(self.base, "canary", canary=True))

    async def questions(self, questions: list[Question]) -> None:
        for question in questions:
            self.keep(*await self.prober.ask(question.task, question.label))

    async def shrink_all(self) -> None:
        for key in list(self.found):
            if key not in self.shrunk:
                await self._shrink(key)

    async def strategies(self, draws: list[dict]) -> None:
        for task in draws:
            if self.prober.runner.left <= 0:
                return
            if unsafe_reason(task, self.url_inputs):
                continue
            self.keep(*await self.prober.ask(task, f"drawn {task.get('taskType')}"))
            await self.shrink_all()

    def findings(self) -> list[Finding]:
        """One finding per kind and request, the smallest request first."""
        kept: dict[tuple, Finding] = {}
        for finding in sorted(self.found.values(), key=lambda f: (self.size(f.request), f.kind)):
            request = {k: v for k, v in (finding.request or {}).items() if k != "taskUUID"}
            kept.setdefault((finding.kind, json.dumps(request, sort_keys=True)), finding)
        return list(kept.values())

    def keep(self, sent: dict, theirs: Answer, ours: Answer, found: list[Disagreement]) -> None:
        for disagreement in found:
            key = (disagreement.kind, disagreement.signature)
            if key not in self.found or self.size(sent) < self.size(self.found[key].request):
                self.found[key] = _finding(disagreement, sent, theirs, ours)

    def size(self, task: dict | None) -> tuple[int, int, int]:
        """How big a request is: its fields, then its values that are not the canary's, then its JSON."""
        if task is None:
            return (0, 0, 0)
        leaves = [(path, value) for path, value in _leaves(task) if path[:1] != ("taskUUID",)]
        changed = sum(1 for path, value in leaves if value_at(self.base, path, default=_MISSING) != value)
        return (len(leaves), changed, len(json.dumps(task)))

    async def _shrink(self, key: tuple) -> None:
        """Greedy: take any one-step-smaller request that still shows the same disagreement."""
        self.shrunk.add(key)
        task = self.found[key].request
        for _ in range(MAX_SHRINK_STEPS):
            progressed = False
            for candidate in smaller(task, self.base):
                # other disagreements met on the way follow from the removals themselves: not kept
                sent, theirs, ours, found = await self.prober.ask(candidate, f"shrinking a {key[0]} finding")
                same = next((d for d in found if (d.kind, d.signature) == key), None)
                if same is not None:
                    task = sent
                    self.found[key] = _finding(same, sent, theirs, ours)
                    progressed = True
                    break
            if not progressed:
                return


def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))] or [(path, value)]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (i,))] or [(path, value)]
    return [(path, value)]


_MISSING = object()


def drawn_tasks(seed: int, count: int) -> list[dict]:
    """``count`` videoInference tasks drawn from the conformance strategies (valid and breaking one
    rule each, as safe to send to a live server), the same for the same seed."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from conformance.strategies import VIDEO, profile_breakers, schema_breakers, video_tasks

    breakers = [b.breaches.map(lambda breach: breach.task) for b in schema_breakers(VIDEO, live=True)
                + profile_breakers(live=True)]
    tasks = st.one_of(video_tasks(live=True), *breakers)
    drawn: list[dict] = []

    @hypothesis_seed(seed)
    @settings(max_examples=max(count, 1), database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(tasks)
    def collect(task: dict) -> None:
        if len(drawn) < count:
            drawn.append(task)

    collect()
    return drawn


async def probe(options: Options, environ: dict[str, str], *, out: TextIO | None = None, err: TextIO | None = None,
                clock=None, sleep=None) -> int:
    """Run one probe and print its report; returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr  # the streams of the call, not of the import: a redirected stdout is honoured
    report = Report(redact_url(options.upstream if not options.schemas_only else options.schemas_url), options.seed)
    secret = options.key

    def clean(text: str) -> str:
        return text.replace(secret, REDACTED) if secret else text

    def progress(line: str) -> None:
        if err.isatty():
            err.write(clean(line) + "\n")

    refused = refusal_offline(options.schemas_url if options.schemas_only else options.upstream, environ)
    if refused:  # before any connection is made
        report.stopped = refused
        _print(report, options, out, err, clean)
        return EXIT_USAGE
    prober = None
    async with aiohttp.ClientSession() as session:
        try:
            if options.schemas_only:
                report.findings += [schema_finding(d) for d in await published_differences(session, options.schemas_url)]
            else:
                prober = await _start(options, session, report, progress, clock, sleep)
                try:
                    await _dry_runs(prober, options, report)
                finally:
                    await prober.stop_vidmock()
                await _compare_schemas(session, options, report, environ)
        except (SchemaUnavailable, ProbeStop) as exc:
            report.stopped = str(exc)
    if options.evidence is not None and prober is not None:
        write_evidence(options.evidence, prober.exchanges, options.upstream, clean)
    _print(report, options, out, err, clean)
    if report.stopped:
        return EXIT_USAGE
    return EXIT_DRIFT if options.fail_on_drift and report.findings else EXIT_OK


async def _start(options: Options, session: aiohttp.ClientSession, report: Report, progress, clock, sleep) -> Prober:
    """The upstream's runner and a vidmock server in this process, on the loopback interface."""
    from conformance.mock import harness_config
    from mockserver.app import start_server

    pacing = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
    runner = DryRunner(session, options.upstream, options.key, budget=options.requests, rate=options.rate,
                       url_inputs=options.url_inputs, **pacing)
    vidmock = await start_server(harness_config(port=0, host="127.0.0.1"))
    return Prober(runner, session, vidmock, report, random.Random(options.seed), progress)


async def _dry_runs(prober: Prober, options: Options, report: Report) -> None:
    run = Run(prober, canary(), url_inputs=options.url_inputs)
    try:
        await run.canary()
        if options.case is not None:
            run.keep(*await prober.ask(options.case, "case"))
        else:
            await run.questions(boundary_questions(url_inputs=options.url_inputs))
            await run.shrink_all()
            if prober.runner.left > 0:
                await run.strategies(drawn_tasks(options.seed, DRAWS_PER_REQUEST * prober.runner.left))
    except BudgetSpent:
        report.notes.append(f"--requests {options.requests} spent; later phases were cut short")
    except UnsafeTask as exc:  # a task probe built itself: a bug, and never sent
        report.notes.append(f"a task was not sent: {exc}")
    finally:
        report.findings += run.findings()
        report.sent = prober.runner.sent


async def _compare_schemas(session: aiohttp.ClientSession, options: Options, report: Report,
                           environ: dict[str, str]) -> None:
    """A full run compares the published schema too, when it may and can reach it."""
    refused = refusal_offline(options.schemas_url, environ)
    if refused:
        report.notes.append(f"published schema not compared: {refused}")
        return
    try:
        report.findings += [schema_finding(d) for d in await published_differences(session, options.schemas_url)]
    except SchemaUnavailable as exc:
        report.notes.append(f"published schema not compared: {exc}")


def _print(report: Report, options: Options, out: TextIO, err: TextIO, clean: Callable[[str], str]) -> None:
    print_report(report, reproducer(options.upstream, options.url_inputs), as_json=options.as_json,
                 dry_runs=not options.schemas_only, out=out, err=err, clean=clean)
