"""``vidmock``: ``serve`` runs the mock, ``proxy`` stands between a client and the real API,
``validate`` checks requests offline, ``explain`` says what a rule id or an error code means,
``openapi`` prints the mocked API's OpenAPI description.

This is the composition root of the command line: ``check`` (run a client command against a fresh
mock) and ``probe`` (dry runs against the real API, judged by vidmock) belong to the conformance
harness and register themselves in ``add_subcommands`` below, and
``explain`` gets the client rules from ``conformance.rules`` here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from importlib import metadata
from pathlib import Path

from mockserver.config import (CONFIG_VARIABLE, SETTINGS, ConfigError, ServerConfig, did_you_mean,
                               load_config)
from mockserver.commands.config_render import help_line, render_toml

GC_THRESHOLDS = (10_000, 20, 20)  # collector generations 0/1/2; CPython's defaults are (700, 10, 10)
EXIT_USAGE = 2
EXIT_DRIFT = 3  # vidmock proxy --fail-on-drift found drift


def version() -> str:
    """The installed distribution's version (pyproject's ``version``), as pip sees it."""
    try:
        return metadata.version("vidmock")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidmock", description="Offline mock of Runware's videoInference API (Wan 2.7).")
    parser.add_argument("--version", action="version", version=f"vidmock {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_subcommands(commands)
    for sub in commands.choices.values():  # so that a mistake is answered with the sub-command's usage
        sub.set_defaults(subparser=sub)
    return parser


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    add_serve_command(commands)
    add_proxy_command(commands)

    validate = commands.add_parser(
        "validate", help="print the errors the API would return for request files",
        description="Print the reply the API would give to each request file, and every violation. "
        "Exit status: 0 all valid, 1 a task is invalid, 2 a file cannot be read (the worst of them).")
    validate.add_argument("files", nargs="+", metavar="FILE",
                          help="JSON file holding one task or an array of tasks; - reads standard input")
    validate.add_argument("--json", action="store_true", help="print JSON reports instead of text")
    validate.set_defaults(run=_run_validate)

    explain = commands.add_parser(
        "explain", help="say what a client rule (VM004) or an error code (unsupportedModelResolution) means",
        description="Print a client rule (id, title, documentation, fix) or an error code (HTTP status, "
        "when it is raised, documentation). Exit status 2 for an unknown id, with the nearest ones.")
    explain.add_argument("id", nargs="?", metavar="ID", help="a rule id (VM001...) or an error code")
    explain.add_argument("--list", action="store_true", help="list every rule id and error code")
    explain.set_defaults(run=_run_explain)

    openapi = commands.add_parser(
        "openapi", help="print the OpenAPI 3.1 description of the mocked API",
        description="Print the OpenAPI 3.1 description of the mocked API (POST /v1 with every task and reply "
        "schema, the WebSocket at /v1, /media/{file}) as JSON, built from the schemas. A running server serves "
        "the same at GET /openapi.json; the control API's is at GET /__mock/openapi.json.")
    openapi.add_argument("--output", type=Path, metavar="FILE", help="write it to FILE instead of standard output")
    openapi.set_defaults(run=_run_openapi)
    cache = commands.add_parser(
        "cache", help="show the render cache (where, per ffmpeg build, its size) or clear it",
        description="The render cache that `vidmock serve`, `vidmock check` and the pytest plugin share: "
        "one folder per ffmpeg build and font state. It is not bounded; --clear empties it.")
    cache.add_argument("--cache-dir", metavar="DIR", help="the cache to show (default: VIDMOCK_CACHE_DIR, the "
                       "--config file's cache_dir, else the user's cache folder)")
    cache.add_argument("--config", type=Path, metavar="FILE", help=f"TOML settings file (or {CONFIG_VARIABLE})")
    cache.add_argument("--clear", action="store_true", help="remove every cached file")
    cache.set_defaults(run=_run_cache)

    from conformance.check import add_check_command
    from conformance.probe import add_probe_command

    add_check_command(commands)  # `vidmock check -- CMD ...`
    add_probe_command(commands)  # `vidmock probe`: the real API's dry runs against vidmock's answers


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    """``vidmock serve``: one flag per setting of ``mockserver.config.SETTINGS``."""
    serve = commands.add_parser("serve", help="run the mock server until Ctrl-C",
                                description="Run the mock. Every option also reads VIDMOCK_<NAME> "
                                "(e.g. VIDMOCK_PORT) and the --config file; the command line wins.")
    _add_settings(serve, "serve")
    serve.set_defaults(run=_run_serve)


def add_proxy_command(commands: argparse._SubParsersAction) -> None:
    """``vidmock proxy``: the serve settings that apply, plus the proxy's own (docs/drift.md)."""
    proxy = commands.add_parser(
        "proxy", help="stand between a client and the real API, judging both directions (docs/drift.md)",
        description="Serve what vidmock serve serves (POST /v1, WebSocket /v1, /__mock/) but forward every "
        "request to the upstream (default: Runware's production API, https://api.runware.ai/v1 and "
        "wss://ws-api.runware.ai/v1) with the client's own key, pass its replies back unchanged, and report "
        "where requests or replies depart from vidmock's schemas (GET /__mock/drift, a summary on exit). "
        "Exit status: 0, 1 when it cannot serve, 2 for a usage error, 3 with --fail-on-drift when drift was "
        "found. Every option also reads VIDMOCK_<NAME> and the --config file.")
    _add_settings(proxy, "proxy")
    proxy.set_defaults(run=_run_proxy)


def _add_settings(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per setting of ``mockserver.config.SETTINGS`` that belongs to ``command``."""
    for s in SETTINGS:
        if not s.belongs_to(command):
            continue
        options: dict = {"dest": s.name, "help": help_line(s).replace("%", "%%")}
        if s.switch:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = s.metavar
            if s.repeatable:
                options["action"] = "append"
        parser.add_argument(s.flag, **options)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help=f"TOML file with the same settings, snake_case keys (or {CONFIG_VARIABLE})")
    parser.add_argument("--print-config", action="store_true",
                        help="print the settings in effect as a TOML file, with help comments, and exit")


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would answer with the top-level usage; the sub-command's is the useful one
        command = getattr(args, "subparser", parser)
        options = list(command._option_string_actions)
        hints = "".join(did_you_mean(word.partition("=")[0], options, "--") for word in unknown if word.startswith("--"))
        command.error(f"unrecognized arguments: {' '.join(unknown)}{hints}")
    raise SystemExit(args.run(args))


def _run_validate(args: argparse.Namespace) -> int:
    from mockserver.commands.validate import run

    return run(args.files, as_json=args.json)


def _run_explain(args: argparse.Namespace) -> int:
    from conformance.rules import RULES
    from mockserver.commands.explain import RuleText, run

    if not args.id and not args.list:
        args.subparser.error("give a rule id or an error code, or --list")
    rules = {rule.id: RuleText(rule.id, rule.title, rule.fix) for rule in RULES.values()}
    return run(None if args.list else args.id, rules)


def _run_openapi(args: argparse.Namespace) -> int:
    from mockserver.commands.openapi import openapi_json

    if args.output is None:
        sys.stdout.write(openapi_json())
        return 0
    try:
        args.output.write_text(openapi_json(), encoding="utf-8")
    except OSError as exc:
        print(f"vidmock: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from mockserver.commands.cache import run

    config_file = args.config or os.environ.get(CONFIG_VARIABLE)
    try:
        config = load_config({"cache_dir": args.cache_dir}, os.environ, Path(config_file) if config_file else None)
    except ConfigError as exc:
        print(f"vidmock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(config, clear=args.clear)


def _load(args: argparse.Namespace, command: str) -> ServerConfig | int:
    """The config of a serving command, or its exit status when it must not run (usage error, or
    --print-config done)."""
    cli = {s.name: getattr(args, s.name, None) for s in SETTINGS}
    config_file = args.config or os.environ.get(CONFIG_VARIABLE)
    notices: list[str] = []
    try:
        config = load_config(cli, os.environ, Path(config_file) if config_file else None, notices=notices)
    except ConfigError as exc:
        print(f"vidmock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for notice in notices:
        print(f"vidmock: warning: {notice}", file=sys.stderr)
    if args.print_config:
        sys.stdout.write(render_toml(config, command))
        return 0
    logging.basicConfig(level=logging.WARNING, format="vidmock %(levelname)s %(name)s: %(message)s")
    return config


def _run_serve(args: argparse.Namespace) -> int:
    config = _load(args, "serve")
    if isinstance(config, int):
        return config
    from mockserver.traffic.recording import RecordingError

    try:
        asyncio.run(_serve(config))
    except RecordingError as exc:  # --replay names a file vidmock cannot read
        print(f"vidmock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # port in use, address not available
        print(f"vidmock: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_proxy(args: argparse.Namespace) -> int:
    config = _load(args, "proxy")
    if isinstance(config, int):
        return config
    from mockserver.backends.proxy import UpstreamRefused

    try:
        findings = asyncio.run(_serve(config, proxy=True))
    except UpstreamRefused as exc:
        print(f"vidmock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # port in use, address not available, --record not writable
        print(f"vidmock: cannot proxy on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return EXIT_DRIFT if config.fail_on_drift and findings else 0


async def _serve(config: ServerConfig, *, proxy: bool = False) -> int:
    """Serve until SIGINT/SIGTERM; returns how many drift findings a proxy recorded."""
    from mockserver.app import start_server
    from mockserver.control import CONTROL
    from mockserver.control.exposure import warn_if_control_exposed
    from mockserver.exchange import BACKEND

    def proxy_backend(app, _mock):
        from mockserver.backends.proxy import install_proxy
        return install_proxy(app, os.environ, version())

    server = await start_server(config, backend=proxy_backend if proxy else None)
    freeze_startup_heap()
    print(f"vidmock {'proxy ' if proxy else ''}serving on {server.base_url}", flush=True)
    if proxy:
        upstream = server.app[BACKEND].health()
        print(f"vidmock proxy: forwarding to {upstream['upstream']} and {upstream['upstreamWs']}", file=sys.stderr)
    warn_if_control_exposed(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        drift = server.app[CONTROL].drift
        await server.stop()
    if proxy:
        print(drift.summary(), file=sys.stderr)
    return drift.total


def freeze_startup_heap() -> None:
    """Hide the start-up heap (modules, schemas, compiled validators: ~50,000 objects) from the
    cyclic garbage collector and collect young objects less often. A submit allocates a few
    hundred objects, so with the defaults the collector ran every few requests and rescanned
    everything; this saves ~20 µs per submit (docs/performance.md). Only the process that
    ``vidmock serve`` owns is tuned: the pytest plugin leaves its host process alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
