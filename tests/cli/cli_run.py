"""Running the installed ``vidmock`` command as a user would: the console script, in a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VIDMOCK = str(Path(sys.executable).with_name("vidmock"))  # the entry point pip installed next to python


def clean_env(**extra: str) -> dict[str, str]:
    """The inherited environment without any VIDMOCK_* variable, plus ``extra``: stderr is exact."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("VIDMOCK_")}, **extra}


def vidmock(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
            cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run ``vidmock ARGS`` to its end; stdout and stderr as text."""
    return subprocess.run([VIDMOCK, *args], input=stdin.decode() if stdin is not None else None,
                          capture_output=True, text=True, env=env or clean_env(), cwd=cwd, timeout=60)


async def start_serve(*args: str, env: dict[str, str] | None = None) -> tuple[asyncio.subprocess.Process, str]:
    """``vidmock serve ARGS`` until its one stdout line; returns the process and its base URL."""
    process = await asyncio.create_subprocess_exec(
        VIDMOCK, "serve", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env or clean_env(), cwd=REPO)
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("vidmock serving on http://127.0.0.1:"), line
    return process, line.split()[-1]


async def stop_serve(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, a clean exit, and what the server wrote to stderr."""
    process.terminate()
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err
    return err.decode()


def vidmock_here(capsys, monkeypatch, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``vidmock ARGS`` through ``mockserver.cli.main`` in this process, in ``clean_env(**env)``'s
    environment: for argument checks, help texts and printed settings, where an interpreter start
    proves nothing more (each command keeps a console-script test of its own)."""
    from mockserver.cli import main

    for name in [name for name in os.environ if name.startswith("VIDMOCK_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    try:
        main(list(args))
        status = 0
    except SystemExit as exited:
        status = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["vidmock", *args], status, out, err)
