"""``vidmock check`` run in the test's own process, for the cases where an interpreter start adds
nothing to what is proved: the command line goes through ``mockserver.cli.main`` as the console
script would pass it, the client is still a process of its own, and its output and the command's
reach the same file descriptors (1 and 2), read back with ``capfd``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "conformance" / "examples"


def check_here(capfd: pytest.CaptureFixture, *options: str, client: str | None = None,
               command: list[str] | None = None) -> subprocess.CompletedProcess:
    """``vidmock check OPTIONS -- COMMAND`` (or ``python CLIENT`` of conformance/examples) in this
    process; its exit status and output as ``subprocess.run`` would give them."""
    argv = ["check", *options, "--", *(command or [sys.executable, str(EXAMPLES / f"{client}.py")])]
    capfd.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(argv, exited.value.code, out, err)
