"""``vidmock``: ``serve`` runs the mock, ``validate`` checks a request file offline.

``check`` (run a client command against a fresh mock) belongs to the conformance harness: it
registers itself in ``add_subcommands`` below, from ``conformance/``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from mockserver.config import ConfigError, ServerConfig, load_config

GC_THRESHOLDS = (10_000, 20, 20)  # collector generations 0/1/2; CPython's defaults are (700, 10, 10)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidmock", description="Offline mock of Runware's videoInference API (Wan 2.7).")
    commands = parser.add_subparsers(dest="command", required=True)
    add_subcommands(commands)
    return parser


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the mock server until Ctrl-C",
                                description="Run the mock. Every option also reads VIDMOCK_<NAME> "
                                "(e.g. VIDMOCK_PORT) and the --config file; the command line wins.")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind, 0 for a free one (default 8765)")
    serve.add_argument("--api-key", dest="api_keys", action="append", metavar="KEY",
                       help="accepted API key, repeatable (default: any non-empty key)")
    serve.add_argument("--data-dir", type=Path, help="media and cache folder (default: a temporary one)")
    serve.add_argument("--progression", metavar="POLICY",
                       help="immediate | polls:N | seconds:T | manual (default immediate)")
    serve.add_argument("--results", metavar="MODE",
                       help="together | staggered: all results of a task in one reply, or one more per "
                       "poll (default together)")
    serve.add_argument("--ttl", type=int, help="seconds a video URL lives unless the task sets ttl (default 3600)")
    serve.add_argument("--media-cap-mb", type=float, help="disk cap of served media in MiB (default 1024)")
    serve.add_argument("--seed", type=int, help="seed of the server RNG: drawn seeds and UUIDs (default random)")
    serve.add_argument("--max-body-mb", type=float, help="largest request body in MiB (default 32)")
    serve.add_argument("--synth-concurrency", type=int, help="parallel ffmpeg processes (default: CPUs)")
    serve.add_argument("--delivery-attempts", type=int, help="tries per webhook POST / upload PUT (default 5)")
    serve.add_argument("--delivery-backoff", type=float, help="seconds before the first retry, doubling (default 1)")
    serve.add_argument("--delivery-backoff-max", type=float, help="cap of the wait between retries (default 30)")
    serve.add_argument("--delivery-timeout", type=float, help="seconds per delivery attempt (default 10)")
    serve.add_argument("--delivery-concurrency", type=int, help="deliveries in flight at once (default 16)")
    serve.add_argument("--delivery-log-size", type=int, help="delivery records kept (default 10000)")
    serve.add_argument("--delivery-allow-host", dest="delivery_allow_hosts", action="append", metavar="HOST",
                       help="deliver only to this host, repeatable (default: any host)")
    serve.add_argument("--delivery-follow-redirects", action=argparse.BooleanOptionalAction,
                       help="follow same-host redirects (default: a 3xx fails the attempt)")
    serve.add_argument("--journal-size", type=int, help="journal entries kept, oldest dropped (default 5000)")
    serve.add_argument("--control-token", metavar="TOKEN",
                       help="require header X-Vidmock-Control-Token: TOKEN on /__mock/ (all but health)")
    serve.add_argument("--virtual-clock", action=argparse.BooleanOptionalAction,
                       help="freeze server time: it moves only via POST /__mock/clock/advance")
    serve.add_argument("--ws-idle-timeout", type=float,
                       help="seconds without a client frame before a WebSocket is closed (default 120)")
    serve.add_argument("--ws-resume-window", type=float,
                       help="seconds a WebSocket session can be resumed with connectionSessionUUID (default 120)")
    serve.add_argument("--config", type=Path, help="TOML file with the same settings (snake_case names)")
    serve.set_defaults(run=_run_serve)

    validate = commands.add_parser("validate", help="print the errors the API would return for a request file")
    validate.add_argument("file", help="JSON file: one task or an array of tasks")
    validate.add_argument("--json", action="store_true", help="print one JSON report instead of text")
    validate.set_defaults(run=lambda args: _delegate_validate(args.file, args.json))

    from conformance.check import add_check_command

    add_check_command(commands)  # `vidmock check -- CMD ...`


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.run(args))


def _delegate_validate(path: str, as_json: bool) -> int:
    from mockserver.validate_cmd import run

    return run(path, as_json=as_json)


def _run_serve(args: argparse.Namespace) -> int:
    option_names = set(ServerConfig.__dataclass_fields__)
    cli = {name: value for name, value in vars(args).items() if name in option_names}
    config_file = args.config or os.environ.get("VIDMOCK_CONFIG")
    try:
        config = load_config(cli, os.environ, Path(config_file) if config_file else None)
    except ConfigError as exc:
        print(f"vidmock: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="vidmock %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(config))
    except OSError as exc:  # port in use, address not available
        print(f"vidmock: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(config: ServerConfig) -> None:
    from mockserver.app import start_server
    from mockserver.control.exposure import warn_if_control_exposed

    server = await start_server(config)
    _freeze_startup_heap()
    print(f"vidmock serving on {server.base_url}", flush=True)
    warn_if_control_exposed(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def _freeze_startup_heap() -> None:
    """Hide the start-up heap (modules, schemas, compiled validators: ~50,000 objects) from the
    cyclic garbage collector and collect young objects less often. A submit allocates a few
    hundred objects, so with the defaults the collector ran every few requests and rescanned
    everything; this saves ~20 µs per submit (docs/performance.md). Only the process that
    ``vidmock serve`` owns is tuned: the pytest plugin leaves its host process alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

