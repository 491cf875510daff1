"""``vidmock check [--explore N | --behaviour JSON | --scenario NAME | --matrix] -- CMD ...``: run a
client command against a mock and judge how it behaved.

One server serves the whole check; each run of CMD gets a fresh API key, with the run's server
behaviour installed for that key before CMD starts, so vidmock needs to know nothing of the
client's taskUUIDs. CMD finds the mock in its environment (``VIDMOCK_HTTP_URL``,
``VIDMOCK_WS_URL``, ``VIDMOCK_BASE_URL``, ``VIDMOCK_API_KEY``, ``RUNWARE_API_KEY``).

- no mode: one run, tasks answering ``processing`` to two polls (``--progression``), ``--fault``s;
- ``--behaviour JSON``: one run under that behaviour (what a reproduce line runs);
- ``--scenario NAME`` (repeatable): one run under those named scenarios, composed;
- ``--explore N``: hypothesis runs CMD under up to N generated behaviours, shrinks a failure to
  the smallest behaviour and prints the line that reproduces it;
- ``--matrix``: one run per named scenario, and a table.

``--jobs N`` runs N of the matrix's runs, or of an exploration's independent runs, at once, each
under its own key; the report and the JUnit file are the same for any N (runs are numbered and
reported in the order of ``--jobs 1``).

Outcome contract (docs/conformance.md): when every task can succeed, CMD must exit 0; when every
task ends without a usable video (a task error, NSFW results; explored with ``--outcomes``),
CMD must exit non-zero. Either way within ``--timeout``, breaking no client rule.

Exit status of one run: 0 when it passed; 1 when a rule was violated (or CMD exited 0 where it
had to fail); CMD's own status when CMD failed where it had to succeed (it wins: a crashing
client is the first thing to fix); 124 when CMD timed out. Of many runs: 0 when every run
passed, else 1. Always: 2 for a usage error, 127 when CMD cannot be started.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import sys
import uuid
from pathlib import Path

from conformance.behaviour_text import dumps, from_json, json_object, parse_progression
from conformance.behaviours import Behaviour, key_behaviours, scenario_may_end_in_error
from conformance.client import ControlError, Namespace
from conformance.runs import EXIT_NOT_FOUND, EXIT_TIMEOUT, Runner, RunResult
from mockserver.contract.vocabulary import ProgressionKind

EXIT_VIOLATIONS, EXIT_USAGE = 1, 2
DEFAULT_PROGRESSION = "polls:2"  # a task stays processing for two polls, so polling is observable
DEFAULT_TIMEOUT = 60.0
NO_SCENARIO = "(none)"


class UsageError(ValueError):
    """A command line vidmock check cannot run; the message says why."""


def add_check_command(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check", help="run a client command against a mock and check how it conforms",
        description="Run CMD against a mock, then evaluate the client rules over what it sent. One run by "
        "default; --explore, --matrix run it many times under different server behaviour. Exit status: "
        "0 conforming, 1 a run failed, CMD's status if CMD failed (one run), 2 usage, 124 CMD timed out "
        "(one run), 127 CMD not found.")
    check.add_argument("--junit", type=Path, metavar="FILE", help="also write the result as JUnit XML")
    check.add_argument("--rules", metavar="IDS", help="comma-separated rule ids to check (default: all)")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds each run of CMD may take (default {DEFAULT_TIMEOUT:g})")
    check.add_argument("--jobs", type=_positive, default=1, metavar="N",
                       help="with --explore or --matrix: run N runs of CMD at once, each under its own API key "
                       "(default 1: a command that uses a fixed port or file cannot run beside itself); the "
                       "report and --junit file are the same for any N")
    check.add_argument("--fault", action="append", default=[], metavar="JSON",
                       help='a fault to install before each run, as POST /__mock/faults takes it, e.g. '
                       '\'{"action": "status", "status": 429, "retryAfter": 1}\' (repeatable)')
    modes = check.add_argument_group("what the mock does (at most one of --behaviour, --scenario, --explore, --matrix)")
    modes.add_argument("--progression", metavar="POLICY",
                       help=f"how tasks progress: immediate | polls:N | seconds:T (default {DEFAULT_PROGRESSION}; "
                       "not with --behaviour or --explore, whose behaviours set it)")
    modes.add_argument("--behaviour", metavar="JSON", help="one run under this behaviour (JSON, as a reproduce line prints it), "
                       'e.g. \'{"submit": [503], "progression": "polls:1"}\'')
    modes.add_argument("--scenario", action="append", default=[], metavar="NAME",
                       help="one run under this named scenario (repeatable: they compose)")
    modes.add_argument("--explore", type=_positive, metavar="N",
                       help="run CMD under up to N generated behaviours; shrink a failure to the smallest")
    modes.add_argument("--matrix", action="store_true", help="one run per named scenario, and a table")
    exploring = check.add_argument_group("exploring")
    exploring.add_argument("--seed", type=int, help="seed of the search (default: random, printed)")
    exploring.add_argument("--database", type=Path, metavar="DIR",
                           help="keep hypothesis's example database here: a failure found once is tried first next time")
    exploring.add_argument("--outcomes", choices=("success", "errors", "all"),
                           help="with --explore or --matrix: behaviours whose tasks can succeed (default), "
                           "that end in a task error or NSFW results, or both")
    check.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    check.set_defaults(run=run_check_command)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_check_command(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        if not command:
            raise UsageError("give the client command after --")
        _check_modes(args)
        faults = [_fault(text) for text in args.fault]
        rule_ids = _rule_ids(args.rules)
    except UsageError as exc:
        print(f"vidmock check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if shutil.which(command[0]) is None:
        print(f"vidmock check: cannot run {command[0]!r}: not found or not executable", file=sys.stderr)
        return EXIT_NOT_FOUND
    many = bool(args.explore or args.matrix)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    with Runner(command, rule_ids, args.timeout, faults, capture=many, seed=seed if args.explore else None) as runner:
        try:
            _faults_accepted(runner)
            if args.explore:
                return _explore(runner, args, seed)
            if args.matrix:
                return _matrix(runner, args)
            return _one_run(runner, args, _single_behaviour(args, runner.catalogue))
        except UsageError as exc:
            print(f"vidmock check: {exc}", file=sys.stderr)
            return EXIT_USAGE


# --- the command line ----------------------------------------------------------------------------


def _check_modes(args: argparse.Namespace) -> None:
    given = [name for name, value in (("--behaviour", args.behaviour), ("--scenario", args.scenario),
                                      ("--explore", args.explore), ("--matrix", args.matrix)) if value]
    if len(given) > 1:
        raise UsageError(f"choose one of {', '.join(given)}")
    if args.jobs > 1 and not (args.explore or args.matrix):
        raise UsageError("--jobs goes with --explore or --matrix (a single run is one command)")
    if (args.seed is not None or args.database) and not args.explore:
        raise UsageError("--seed and --database go with --explore")
    if args.outcomes and not (args.explore or args.matrix):
        raise UsageError("--outcomes goes with --explore or --matrix (a single run's behaviour says its outcome)")
    if args.progression and (args.explore or args.behaviour):
        raise UsageError("--progression does not go with --explore or --behaviour: the behaviour sets the "
                         'progression (e.g. {"progression": "polls:2"})')
    if args.progression:
        _finishable(args.progression, args.timeout, "--progression")


def _finishable(policy: str, timeout: float, where: str) -> str:
    """Refuse a progression no client can finish within the time-out."""
    try:
        progression = parse_progression(policy)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    if progression.kind is ProgressionKind.MANUAL:
        raise UsageError(f"{where} {policy}: tasks would never finish on their own (only POST "
                         "/__mock/tasks/{taskUUID}/complete finishes them), so every client would wait "
                         "until --timeout; use immediate, polls:N or seconds:T")
    if progression.kind is ProgressionKind.SECONDS and progression.amount >= timeout:
        raise UsageError(f"{where} {policy}: tasks would finish after {progression.amount:g} s, but the client "
                         f"may run only {timeout:g} s (--timeout)")
    return policy


def _fault(text: str) -> dict:
    try:
        return json_object(text, "--fault (as POST /__mock/faults takes it)")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _faults_accepted(runner: Runner) -> None:
    """Try each --fault once under a throwaway key, so a fault the mock refuses is a usage error
    before anything runs, with the mock's reason."""
    probe = Namespace(runner.mock.base_url, f"check-probe-{uuid.uuid4().hex}")
    try:
        for spec in runner.faults:
            try:
                probe.call("POST", "/__mock/faults", spec)
            except ControlError as exc:
                raise UsageError(f"--fault {json.dumps(spec)}: {exc}") from None
    finally:
        probe.reset()


def _rule_ids(text: str | None) -> list[str] | None:
    from conformance.rules import RULES

    rule_ids = [part.strip() for part in text.split(",") if part.strip()] if text else None
    unknown = [rule_id for rule_id in rule_ids or () if rule_id not in RULES]
    if unknown:
        raise UsageError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    return rule_ids


def _known_scenarios(names: tuple[str, ...], catalogue: dict[str, dict]) -> None:
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise UsageError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(catalogue)}, "
                         "and the progressions immediate, polls:N, seconds:T")


def _single_behaviour(args: argparse.Namespace, catalogue: dict[str, dict]) -> Behaviour:
    """The behaviour of a one-run check: --behaviour, or the scenarios (progression policies among
    them set the progression), or calm tasks under --progression."""
    if args.behaviour:
        try:
            behaviour = from_json(args.behaviour)
        except ValueError as exc:
            raise UsageError(f"--behaviour: {exc}") from None
        _finishable(behaviour.progression, args.timeout, "--behaviour progression")
        _known_scenarios(behaviour.scenarios, catalogue)
        return behaviour
    progression, named = args.progression or DEFAULT_PROGRESSION, []
    for name in args.scenario:
        if name in catalogue:
            named.append(name)
        elif _is_policy(name):
            progression = _finishable(name, args.timeout, "--scenario")
        else:
            _known_scenarios((name,), catalogue)
    return Behaviour(progression=progression, scenarios=tuple(named))


def _is_policy(name: str) -> bool:
    try:
        parse_progression(name)
        return True
    except ValueError:
        return False


def reproduce_line(behaviour: Behaviour, args: argparse.Namespace, command: list[str]) -> str:
    """The command that runs one behaviour alone, with the options that shape a run."""
    options = [*(["--timeout", f"{args.timeout:g}"] if args.timeout != DEFAULT_TIMEOUT else []),
               *(["--rules", args.rules] if args.rules else []),
               *[part for fault in args.fault for part in ("--fault", fault)]]
    return "vidmock check " + shlex.join([*options, "--behaviour", dumps(behaviour), "--", *command])


# --- the modes -----------------------------------------------------------------------------------


def _one_run(runner: Runner, args: argparse.Namespace, behaviour: Behaviour) -> int:
    from conformance.report import junit_xml, text_report

    result = runner.run(behaviour)
    print(text_report(result.results), flush=True)
    problem = result.exit_problem()
    if problem:
        print(f"vidmock check: {problem}", file=sys.stderr)
    if args.junit:
        args.junit.write_text(junit_xml(result.results, exit_problem=problem, with_exit=True), encoding="utf-8")
    return _one_run_status(result)


def _one_run_status(result: RunResult) -> int:
    run = result.execution
    if run.not_found:
        return EXIT_NOT_FOUND
    if run.timed_out:
        return EXIT_TIMEOUT
    if not result.expects_error and run.status != 0:
        return run.status
    return EXIT_VIOLATIONS if result.exit_problem() or result.broken else 0


def _explore(runner: Runner, args: argparse.Namespace, seed: int) -> int:
    from conformance.explore import database_key, explore
    from conformance.report import failure_text, junit_runs, run_line

    outcomes = args.outcomes or "success"
    transient = tuple(name for name, found in runner.catalogue.items() if not scenario_may_end_in_error(found))
    command = runner.command
    print(f"vidmock check: exploring up to {args.explore} behaviour(s) ({outcomes} outcomes), seed {seed}: "
          f"{shlex.join(command)}", flush=True)
    exploration = explore(
        runner, key_behaviours(outcomes, transient), examples=args.explore, seed=seed, database=args.database,
        database_key=database_key(command, outcomes, args.rules, args.fault, args.timeout), jobs=args.jobs,
        on_run=lambda result: print(run_line(result), flush=True))
    reproduce = {result.number: reproduce_line(result.behaviour, args, command) for result in exploration.runs}
    if exploration.confirmation:
        confirmation = exploration.confirmation
        reproduce[confirmation.number] = reproduce_line(confirmation.behaviour, args, command)
    if args.junit:
        runs = exploration.runs + ([exploration.confirmation] if exploration.confirmation else [])
        args.junit.write_text(junit_runs(runs, "vidmock-explore", reproduce), encoding="utf-8")
    searched = sum(1 for result in exploration.runs if result.phase == "explore")
    shrunk = len(exploration.runs) - searched
    if exploration.passed:
        print(f"vidmock check: all {searched} explored run(s) passed (seed {seed})")
        return 0
    smallest = exploration.smallest
    print(f"\nvidmock check: a run failed; {shrunk} more run(s) shrank it to the smallest failing behaviour "
          f"(run {smallest.number}):")
    print(failure_text(smallest, reproduce[smallest.number]))
    if not exploration.reproduced:
        print(f"vidmock check: warning: run again on its own (run {exploration.confirmation.number}), it "
              f"{'passed' if exploration.confirmation.passed else 'failed differently'}: the client is flaky "
              "under this behaviour", file=sys.stderr)
    return EXIT_VIOLATIONS


def _matrix(runner: Runner, args: argparse.Namespace) -> int:
    from conformance.report import junit_runs, matrix_table, run_line

    progression = args.progression or DEFAULT_PROGRESSION
    wanted = {"success": (False,), "errors": (True,), "all": (False, True)}[args.outcomes or "success"]
    rows = [(NO_SCENARIO, Behaviour(progression=progression))] + [
        (name, Behaviour(progression=progression, scenarios=(name,))) for name, found in runner.catalogue.items()
        if scenario_may_end_in_error(found) in wanted]
    results = runner.run_all([(behaviour, label) for label, behaviour in rows], phase="matrix", jobs=args.jobs,
                             on_run=lambda result: print(run_line(result), flush=True))
    reproduce = {result.number: reproduce_line(result.behaviour, args, runner.command) for result in results}
    print("\n" + matrix_table(results))
    for result in results:
        if not result.passed:
            print(f"{result.label}: reproduce: {reproduce[result.number]}")
    if args.junit:
        args.junit.write_text(junit_runs(results, "vidmock-matrix", reproduce), encoding="utf-8")
    return 0 if all(result.passed for result in results) else EXIT_VIOLATIONS
