"""``vidmock``: ``serve`` runs the mock, ``validate`` checks requests offline, ``explain`` says what
a rule id or an error code means.

This is the composition root of the command line: ``check`` (run a client command against a fresh
mock) belongs to the conformance harness and registers itself in ``add_subcommands`` below, and
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
from mockserver.config_render import help_line, render_toml

GC_THRESHOLDS = (10_000, 20, 20)  # collector generations 0/1/2; CPython's defaults are (700, 10, 10)
EXIT_USAGE = 2


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

    add_check_command(commands)  # `vidmock check -- CMD ...`


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    """``vidmock serve``: one flag per setting of ``mockserver.config.SETTINGS``."""
    serve = commands.add_parser("serve", help="run the mock server until Ctrl-C",
                                description="Run the mock. Every option also reads VIDMOCK_<NAME> "
                                "(e.g. VIDMOCK_PORT) and the --config file; the command line wins.")
    for s in SETTINGS:
        options: dict = {"dest": s.name, "help": help_line(s).replace("%", "%%")}
        if s.switch:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = s.metavar
            if s.repeatable:
                options["action"] = "append"
        serve.add_argument(s.flag, **options)
    serve.add_argument("--config", type=Path, metavar="FILE",
                       help=f"TOML file with the same settings, snake_case keys (or {CONFIG_VARIABLE})")
    serve.add_argument("--print-config", action="store_true",
                       help="print the settings in effect as a TOML file, with help comments, and exit")
    serve.set_defaults(run=_run_serve)


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
    from mockserver.validate_cmd import run

    return run(args.files, as_json=args.json)


def _run_explain(args: argparse.Namespace) -> int:
    from conformance.rules import RULES
    from mockserver.explain_cmd import RuleText, run

    if not args.id and not args.list:
        args.subparser.error("give a rule id or an error code, or --list")
    rules = {rule.id: RuleText(rule.id, rule.title, rule.fix) for rule in RULES.values()}
    return run(None if args.list else args.id, rules)


def _run_cache(args: argparse.Namespace) -> int:
    from mockserver.cache_cmd import run

    config_file = args.config or os.environ.get(CONFIG_VARIABLE)
    try:
        config = load_config({"cache_dir": args.cache_dir}, os.environ, Path(config_file) if config_file else None)
    except ConfigError as exc:
        print(f"vidmock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(config, clear=args.clear)


def _run_serve(args: argparse.Namespace) -> int:
    cli = {s.name: getattr(args, s.name) for s in SETTINGS}
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
        sys.stdout.write(render_toml(config))
        return 0
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
