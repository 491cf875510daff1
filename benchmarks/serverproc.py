"""Run a server (vidmock, or the floor server) in its own process for a benchmark or a test.

Servers under measurement live in separate processes so the load generator's CPU never counts as
theirs; each announces its address on stdout as ``<name> serving on http://HOST:PORT``, which is
how ``vidmock serve --port 0`` reports the free port it picked.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVING_LINE = re.compile(r"serving on (http://\S+)")
BENCHMARKS = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0  # seconds; imports plus ffmpeg discovery on a loaded 2-core machine


@dataclass
class ServerProcess:
    process: subprocess.Popen
    base_url: str
    stderr_path: Path

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url[len("http"):] + "/v1"

    def status_kib(self, field: str) -> int | None:
        """A memory figure of ``/proc/<pid>/status`` in KiB (``VmHWM`` = peak RSS, ``VmRSS`` = now)."""
        try:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
        return int(match.group(1)) if match else None

    final_stderr: str | None = None  # kept once stopped (the file is then removed)

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far, all threads: the scheduler's nanosecond
        count (``/proc/<pid>/task/*/schedstat``), else ``/proc/<pid>/stat`` in clock ticks."""
        try:
            return sum(int((task / "schedstat").read_text().split()[0])
                       for task in Path(f"/proc/{self.process.pid}/task").iterdir()) / 1e9
        except (OSError, IndexError, ValueError):
            pass
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stderr_text(self) -> str:
        if self.final_stderr is not None:
            return self.final_stderr
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """Ctrl-C (a clean shutdown), then a kill if it does not leave in time; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.final_stderr is None:
            self.final_stderr = self.stderr_text()
            self.stderr_path.unlink(missing_ok=True)
            self.process.stdout.close()
        return self.process.returncode


def vidmock_command() -> list[str]:
    """``vidmock`` from the running interpreter's environment (``python -m mockserver`` otherwise)."""
    script = Path(sys.executable).parent / "vidmock"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver"]


def start_vidmock(*options: str, env: dict | None = None) -> ServerProcess:
    """``vidmock serve --port 0 OPTIONS...`` (default host, so 127.0.0.1)."""
    return start_process([*vidmock_command(), "serve", "--port", "0", *options], env=env)


def start_floor() -> ServerProcess:
    """The minimal aiohttp server that only parses and echoes JSON (see floor_server.py)."""
    return start_process([sys.executable, str(BENCHMARKS / "floor_server.py")])


def start_process(argv: list[str], env: dict | None = None) -> ServerProcess:
    stderr_file = tempfile.NamedTemporaryFile(prefix="vidmock-stderr-", suffix=".log", delete=False)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr_file, text=True,
                               env={**os.environ, **(env or {})})
    stderr_file.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = SERVING_LINE.search(line)
        if match:
            return ServerProcess(process, match.group(1), Path(stderr_file.name))
        if not line and process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"{argv[0]} did not start: {line!r}\n{Path(stderr_file.name).read_text()}")


def machine() -> dict:
    """What a figure was measured on: the same keys in every benchmark's output."""
    import aiohttp

    return {"nproc": os.cpu_count(), "python": platform.python_version(), "aiohttp": aiohttp.__version__,
            "platform": platform.platform(), "cpu": _cpu_model()}


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def command_line() -> str:
    """The exact command that produced this output, to print alongside the figures."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)  # set when run as ``python -m benchmarks.X``
    program = ["-m", spec.name] if spec is not None else [os.path.relpath(sys.argv[0])]
    return shlex.join(["python", *program, *sys.argv[1:]])
