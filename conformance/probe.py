"""``vidmock probe``: the real API as an oracle, at no cost (docs/drift.md).

Generated ``videoInference`` tasks go to the upstream as dry runs and to vidmock in process; every
disagreement is shrunk and reported, and the vendor's published request schema is compared with
``schemas/``. This module is the command line; the run is ``conformance.probe_run`` (asking both
sides, the phases), built on ``probe_questions`` (what to ask), ``probe_upstream`` (dry runs only,
budget, rate), ``probe_judge`` (reading and comparing answers), ``probe_schema`` (the published
schema) and ``probe_report`` (the report, the evidence file). They are imported when the command
runs, not when ``vidmock`` builds its parser: every other command starts ~0.1 s sooner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
from pathlib import Path

DEFAULT_REQUESTS = 200
DEFAULT_RATE = 2.0
KEY_VARIABLE = "RUNWARE_API_KEY"


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
    probe.add_argument("--upstream", metavar="URL",
                       help="the REST endpoint, as for vidmock proxy (default https://api.runware.ai/v1)")
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
    probe.add_argument("--schemas-url", metavar="URL",
                       help="the schema registry (default https://schemas.runware.ai)")
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


def run_probe_command(args: argparse.Namespace) -> int:
    """Check what argparse cannot (the key, --case), then run the probe."""
    from conformance.probe_run import Options, probe
    from conformance.probe_schema import DEFAULT_SCHEMAS_URL
    from conformance.probe_upstream import unsafe_reason
    from mockserver.backends.proxy import RUNWARE_REST

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
    options = Options(upstream=args.upstream or RUNWARE_REST, key=key, requests=args.requests, rate=args.rate,
                      seed=seed, url_inputs=args.url_inputs, schemas_only=args.schemas,
                      schemas_url=args.schemas_url or DEFAULT_SCHEMAS_URL, case=case, evidence=args.evidence,
                      fail_on_drift=args.fail_on_drift, as_json=args.json)
    return asyncio.run(probe(options, environ))
