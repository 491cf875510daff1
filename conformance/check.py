"""``vidmock check -- CMD ...``: run a client command against a fresh mock and judge how it behaved.

The mock gets a free port and one API key; CMD finds both in its environment
(``VIDMOCK_HTTP_URL``, ``VIDMOCK_WS_URL``, ``VIDMOCK_BASE_URL``, ``VIDMOCK_API_KEY``,
``RUNWARE_API_KEY``). When CMD exits, pending webhooks are let finish, then every rule is evaluated
over the whole journal (the admin view: a client that sends no key is judged too).

Exit status: 0 when CMD succeeded and no rule was violated; 1 when a rule was violated; CMD's own
status when CMD failed (it wins: a crashed client is the first thing to fix); 2 for a usage error;
124 when CMD timed out; 127 when CMD cannot be started.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from conformance.client import Namespace
from conformance.mock import BackgroundMock, harness_config
from mockserver.jobs import Progression

EXIT_VIOLATIONS, EXIT_USAGE, EXIT_TIMEOUT, EXIT_NOT_FOUND = 1, 2, 124, 127
DEFAULT_PROGRESSION = "polls:2"  # a task stays processing for two polls, so polling is observable


def client_environment(namespace: Namespace) -> dict[str, str]:
    """What CMD is told about the mock (added to the inherited environment)."""
    return {"VIDMOCK_HTTP_URL": namespace.http_url, "VIDMOCK_WS_URL": namespace.ws_url,
            "VIDMOCK_BASE_URL": namespace.base_url, "VIDMOCK_API_KEY": namespace.api_key or "",
            "RUNWARE_API_KEY": namespace.api_key or ""}


def add_check_command(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check", help="run a client command against a fresh mock and check how it conforms",
        description="Run CMD against a fresh mock, then evaluate the client rules over what it sent. "
        "Exit status: 0 conforming, 1 rule violations, CMD's status if CMD failed, 2 usage, "
        "124 CMD timed out, 127 CMD not found.")
    check.add_argument("--junit", type=Path, metavar="FILE", help="also write the result as JUnit XML")
    check.add_argument("--rules", metavar="IDS", help="comma-separated rule ids to check (default: all)")
    check.add_argument("--progression", default=DEFAULT_PROGRESSION, metavar="POLICY",
                       help=f"how tasks progress: immediate | polls:N | seconds:T (default {DEFAULT_PROGRESSION})")
    check.add_argument("--fault", action="append", default=[], metavar="JSON",
                       help='a fault to inject first, as POST /__mock/faults takes it, e.g. '
                       '\'{"action": "status", "status": 429, "retryAfter": 1}\' (repeatable)')
    check.add_argument("--timeout", type=float, default=300.0, help="seconds CMD may run (default 300)")
    check.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    check.set_defaults(run=run_check_command)


def run_check_command(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("vidmock check: give the client command after --", file=sys.stderr)
        return EXIT_USAGE
    try:
        faults = [json.loads(text) for text in args.fault]
        progression = Progression.parse(args.progression)
    except ValueError as exc:
        print(f"vidmock check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rule_ids = [part.strip() for part in args.rules.split(",") if part.strip()] if args.rules else None
    return check(command, rule_ids=rule_ids, junit=args.junit, progression=progression, faults=faults,
                 timeout=args.timeout)


def check(command: list[str], *, rule_ids: list[str] | None = None, junit: Path | None = None,
          progression: Progression = Progression.parse(DEFAULT_PROGRESSION), faults: list[dict] = (),
          timeout: float = 300.0) -> int:
    """Run ``command`` against a fresh mock, print the report; returns the exit status."""
    from conformance.report import failed, text_report, write_junit
    from conformance.rules import RULES, Traffic, evaluate

    unknown = [rule_id for rule_id in rule_ids or () if rule_id not in RULES]
    if unknown:
        print(f"vidmock check: unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}", file=sys.stderr)
        return EXIT_USAGE
    key = f"check-{uuid.uuid4().hex}"
    with BackgroundMock(harness_config(api_keys=(key,), progression=progression)) as mock:
        client = Namespace(mock.base_url, key)
        for spec in faults:
            client.call("POST", "/__mock/faults", spec)
        status = _run(command, {**os.environ, **client_environment(client)}, timeout)
        admin = Namespace(mock.base_url, None)
        traffic = Traffic(admin.journal(), admin.settle_deliveries())
    results = evaluate(traffic, rule_ids)
    print(text_report(results), flush=True)
    if junit:
        write_junit(results, junit)
    if status != 0:
        print(f"vidmock check: the client command exited with status {status}", file=sys.stderr)
        return status
    return EXIT_VIOLATIONS if failed(results) else 0


def _run(command: list[str], env: dict[str, str], timeout: float) -> int:
    try:
        code = subprocess.run(command, env=env, timeout=timeout).returncode
        return code if code >= 0 else 128 - code  # killed by a signal: the shell's 128+N
    except FileNotFoundError:
        print(f"vidmock check: cannot run {command[0]!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except subprocess.TimeoutExpired:
        print(f"vidmock check: the client command ran longer than {timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
