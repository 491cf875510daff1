"""``vidmock probe``: the real API as an oracle, at no cost.

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

import argparse
import asyncio
import json
import os
import random
import shlex
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import aiohttp

from conformance.probe_judge import (Answer, Disagreement, disagreements, is_auth_refusal, plain_dry_run,
                                     real_run)
from conformance.probe_questions import Question, boundary_questions, canary, smaller, value_at
from conformance.probe_schema import DEFAULT_SCHEMAS_URL, SchemaDifference, SchemaUnavailable, published_differences
from conformance.probe_upstream import (BudgetSpent, DryRunner, Exchange, ProbeStop, UnsafeTask, refusal_offline,
                                        unsafe_reason)
from mockserver.backends.proxy import RUNWARE_REST
from mockserver.contract import DEFAULT_MODEL
from mockserver.protocol import DRY_RUN_HEADER
from mockserver.redaction import REDACTED, redact_url

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
DEFAULT_REQUESTS = 200
DEFAULT_RATE = 2.0
KEY_VARIABLE = "RUNWARE_API_KEY"
VIDMOCK_KEY = "vidmock-probe"  # the in-process vidmock accepts any key
MAX_SHRINK_STEPS = 32  # smaller requests taken per finding, at most (each step removes or simplifies one thing)
DRAWS_PER_REQUEST = 3  # drawn tasks per request left: some are unsafe to send, some were asked already


# --- the report ----------------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    message: str
    request: dict | None = None
    upstream: Any = None
    vidmock: Any = None
    path: str | None = None  # schema findings
    verbatim: str | None = None  # an unreadable upstream reply, as received
    signature: tuple = ()

    def to_json(self, reproduce: Callable[[dict], str]) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind}
        if self.path is not None:
            found["path"] = self.path
        if self.request is not None:
            found["request"] = self.request
        found.update(upstream=self.upstream, vidmock=self.vidmock, message=self.message)
        if self.verbatim is not None:
            found["verbatim"] = self.verbatim
        if self.request is not None:
            found["reproduce"] = reproduce(self.request)
        return found


@dataclass
class Report:
    upstream: str
    seed: int
    sent: int = 0
    agreed: int = 0
    findings: list[Finding] = field(default_factory=list)
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self, reproduce: Callable[[dict], str]) -> dict[str, Any]:
        return {"upstream": self.upstream, "seed": self.seed, "sent": self.sent, "agreed": self.agreed,
                "findings": [f.to_json(reproduce) for f in self.findings], "stopped": self.stopped,
                "notes": self.notes}


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
        headers = {"Authorization": f"Bearer {VIDMOCK_KEY}", DRY_RUN_HEADER: "1"}
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


# --- the command ---------------------------------------------------------------------------------


def add_probe_command(commands: argparse._SubParsersAction) -> None:
    probe = commands.add_parser(
        "probe", help="ask the real API chosen questions as free dry runs and report where vidmock answers "
        "differently (docs/drift.md)",
        description="Send generated videoInference tasks to the upstream as dry runs (X-Runware-Dry-Run: 1: "
        "validated and priced, never run or billed), judge each with vidmock in process, shrink every "
        "disagreement to the smallest request still showing it, and compare Runware's published request "
        "schema with vidmock's. The key comes from RUNWARE_API_KEY (or --api-key-env) and is never printed. "
        "Exit status: 0, 1 with --fail-on-drift when there are findings, 2 for a usage error, a refused key, "
        "a canary that is no plain dry run, or an upstream that stops answering.")
    probe.add_argument("--upstream", default=RUNWARE_REST, metavar="URL",
                       help=f"the REST endpoint, as for vidmock proxy (default {RUNWARE_REST})")
    probe.add_argument("--api-key-env", default=KEY_VARIABLE, metavar="NAME",
                       help=f"the environment variable holding the API key (default {KEY_VARIABLE})")
    probe.add_argument("--requests", type=_positive_int, default=DEFAULT_REQUESTS, metavar="N",
                       help=f"at most N requests to the upstream, retries included (default {DEFAULT_REQUESTS})")
    probe.add_argument("--rate", type=_positive_float, default=DEFAULT_RATE, metavar="R",
                       help=f"at most R requests a second (default {DEFAULT_RATE:g}); 429 and Retry-After are honoured")
    probe.add_argument("--seed", type=int, metavar="S", help="seed of the run (default: random, printed)")
    probe.add_argument("--url-inputs", action="store_true",
                       help="also ask about URL inputs (the service will try to fetch them)")
    probe.add_argument("--schemas", action="store_true",
                       help="only compare the published request schema with vidmock's (no key, no dry run)")
    probe.add_argument("--schemas-url", default=DEFAULT_SCHEMAS_URL, metavar="URL",
                       help=f"the schema registry (default {DEFAULT_SCHEMAS_URL})")
    probe.add_argument("--case", metavar="JSON", help="ask only this one task (after the canary), as a "
                       "finding's reproduce line gives it")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.add_argument("--evidence", type=Path, metavar="FILE",
                       help="write every exchange (key redacted) as captures for fixtures/real/")
    probe.add_argument("--fail-on-drift", action="store_true", help="exit 1 when there is any finding")
    probe.set_defaults(run=run_probe_command)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


@dataclass
class Options:
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


def run_probe_command(args: argparse.Namespace) -> int:
    usage = args.subparser.error
    environ = dict(os.environ)
    case = None
    if args.case is not None:
        try:
            case = json.loads(args.case)
        except ValueError as exc:
            usage(f"--case is not JSON: {exc}")
        if not isinstance(case, dict):
            usage("--case must be one task object")
        reason = unsafe_reason(case, args.url_inputs)
        if reason:
            usage(f"--case cannot be sent: {reason}")
    key = environ.get(args.api_key_env, "")
    if not args.schemas and not key:
        usage(f"set {args.api_key_env} to the API key of the upstream (it is never printed)")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = Options(args.upstream, key, args.requests, args.rate, seed, args.url_inputs, args.schemas,
                      args.schemas_url, case, args.evidence, args.fail_on_drift, args.json)
    return asyncio.run(probe(options, environ))


async def probe(options: Options, environ: dict[str, str], *, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                clock=None, sleep=None) -> int:
    """Run one probe and print its report; returns the exit status."""
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
                report.findings += [_schema_finding(d) for d in await published_differences(session, options.schemas_url)]
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
        _write_evidence(options.evidence, prober, options, clean)
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
        report.findings += [_schema_finding(d) for d in await published_differences(session, options.schemas_url)]
    except SchemaUnavailable as exc:
        report.notes.append(f"published schema not compared: {exc}")


def _schema_finding(difference: SchemaDifference) -> Finding:
    return Finding("schema", difference.message, upstream=difference.upstream, vidmock=difference.vidmock,
                   path=difference.path, signature=(difference.path,))


def _reproducer(options: Options) -> Callable[[dict], str]:
    def reproduce(task: dict) -> str:
        case = json.dumps({k: v for k, v in task.items() if k != "taskUUID"}, separators=(",", ":"))
        line = f"vidmock probe --case {shlex.quote(case)}"
        if options.upstream != RUNWARE_REST:
            line += f" --upstream {shlex.quote(redact_url(options.upstream))}"
        return line + (" --url-inputs" if options.url_inputs else "")
    return reproduce


def _print(report: Report, options: Options, out: TextIO, err: TextIO, clean: Callable[[str], str]) -> None:
    reproduce = _reproducer(options)
    if report.stopped:
        err.write(clean(f"vidmock probe: stopped: {report.stopped}\n"))
    if options.as_json:
        out.write(clean(json.dumps(report.to_json(reproduce), indent=2)) + "\n")
        return
    lines = [f"vidmock probe of {report.upstream} (seed {report.seed})"]
    if not options.schemas_only:
        lines.append(f"{report.sent} dry run(s) sent, {report.agreed} answered alike")
    for number, finding in enumerate(report.findings, 1):
        lines.append(f"\n{number}. {finding.kind}: {finding.message}")
        if finding.path is not None:
            lines.append(f"   at {finding.path}: upstream {json.dumps(finding.upstream)}, vidmock "
                         f"{json.dumps(finding.vidmock)}")
        if finding.request is not None:
            lines.append(f"   upstream {json.dumps(finding.upstream)}\n   vidmock  {json.dumps(finding.vidmock)}")
            if finding.verbatim is not None:
                lines.append(f"   upstream's body: {finding.verbatim[:500]!r}")
            lines.append(f"   reproduce: {reproduce(finding.request)}")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append(f"\n{len(report.findings)} finding(s)" if report.findings else "\nno findings")
    out.write(clean("\n".join(lines)) + "\n")


def _write_evidence(path: Path, prober: Prober, options: Options, clean: Callable[[str], str]) -> None:
    """Every exchange as a capture of fixtures/real/ (origin dry-run), key redacted."""
    host = urlsplit(options.upstream).hostname or options.upstream
    captures = []
    for label, exchange in prober.exchanges:
        verbatim = clean(exchange.text)
        try:
            parsed = json.loads(verbatim)
        except ValueError:
            parsed = None
        answer = Answer.read(exchange.status, exchange.text, exchange.task.get("taskUUID"))
        verdict = "accepted" if answer.accepted else "refused" if answer.readable else "answered, not JSON"
        captures.append({
            "source": {"repo": host, "url": redact_url(options.upstream), "date": exchange.date[:10]},
            "kind": f"reply (dry run {verdict})",
            "task": exchange.task.get("taskType"), "model": exchange.task.get("model"),
            "transport": "rest", "http_status": exchange.status,
            "judgement": "captured by vidmock probe: the upstream's answer to a dry run (X-Runware-Dry-Run: 1)",
            "notes": label, "verbatim": verbatim, "parsed": parsed, "origin": "dry-run",
            "redacted": "the API key, where the reply quoted it" if verbatim != exchange.text else "",
            "request": [exchange.task]})
    path.write_text(clean(json.dumps(captures, indent=2)) + "\n", encoding="utf-8")
