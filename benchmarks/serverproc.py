"""Run a server (vidmock, the floor server, a peer mock) in its own process for a benchmark or a test.

Servers under measurement live in separate processes so the load generator's CPU never counts as
theirs. vidmock and the floor announce their address on stdout as ``<name> serving on
http://HOST:PORT`` (how ``vidmock serve --port 0`` reports the free port it picked); a peer is told
its port and polled until it answers. A server's CPU and memory are those of its whole process tree.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

SERVING_LINE = re.compile(r"serving on (http://\S+)")
BENCHMARKS = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0  # seconds; imports plus ffmpeg discovery on a loaded 2-core machine


@dataclass
class ServerProcess:
    process: subprocess.Popen
    base_url: str
    stderr_path: Path
    startup_s: float | None = None  # seconds from the start to the first sign of readiness

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url[len("http"):] + "/v1"

    def status_kib(self, field: str) -> int | None:
        """A memory figure of ``/proc/<pid>/status`` in KiB (``VmHWM`` = peak RSS, ``VmRSS`` = now)."""
        return status_kib(self.process.pid, field)

    final_stderr: str | None = None  # kept once stopped (the file is then removed)

    def pids(self) -> list[int]:
        """The started process and its live descendants, so a launcher (a shell, npm, a wrapper
        script) never hides the process that does the work."""
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu_seconds(self) -> float | None:
        """CPU time the server's processes (``pids``) have used so far, all threads. A descendant
        that exits between two readings takes its share with it; servers under load fork none."""
        own = process_cpu_seconds(self.process.pid)
        if own is None:
            return None
        return own + sum(process_cpu_seconds(pid) or 0.0 for pid in descendants(self.process.pid))

    def rss_kib(self) -> int | None:
        """Resident memory now (``VmRSS``), summed over the server's processes."""
        sizes = [status_kib(pid, "VmRSS") for pid in self.pids()]
        return sum(size for size in sizes if size is not None) if sizes[0] is not None else None

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
            if self.process.stdout is not None:
                self.process.stdout.close()
        return self.process.returncode


def status_kib(pid: int, field: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of one process, all threads: the scheduler's nanosecond count
    (``/proc/<pid>/task/*/schedstat``), else ``/proc/<pid>/stat`` in clock ticks."""
    try:
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, IndexError, ValueError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid``, from each process's parent in ``/proc/*/stat`` (the
    ``/proc/<pid>/task/*/children`` lists are not in every kernel)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def vidmock_command() -> list[str]:
    """``vidmock`` from the running interpreter's environment (``python -m mockserver`` otherwise)."""
    script = Path(sys.executable).parent / "vidmock"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver"]


def start_vidmock(*options: str, env: dict | None = None) -> ServerProcess:
    """``vidmock serve --port 0 OPTIONS...`` (default host, so 127.0.0.1). Its render cache is its
    own and new (``--cache-dir none``) unless OPTIONS name one: "cold" means cold in every run."""
    return start_process([*vidmock_command(), "serve", "--port", "0", "--cache-dir", "none", *options], env=env)


def start_floor() -> ServerProcess:
    """The minimal aiohttp server that only parses and echoes JSON (see floor_server.py)."""
    return start_process([sys.executable, str(BENCHMARKS / "floor_server.py")])


def start_process(argv: list[str], env: dict | None = None) -> ServerProcess:
    started = time.monotonic()
    process, stderr_path = _spawn(argv, env, stdout=subprocess.PIPE)
    line = ""
    while time.monotonic() < started + STARTUP_TIMEOUT:
        line = process.stdout.readline()
        match = SERVING_LINE.search(line)
        if match:
            return ServerProcess(process, match.group(1), stderr_path, startup_s=time.monotonic() - started)
        if not line and process.poll() is not None:
            break
    _give_up(process, stderr_path, f"{argv[0]} did not start: {line!r}")


def start_listening(argv: list[str], port: int, env: dict | None = None) -> ServerProcess:
    """A server told its port on the command line that announces nothing we rely on (Prism,
    WireMock): its output is discarded and it is ready once ``GET /`` gets any HTTP answer."""
    started = time.monotonic()
    process, stderr_path = _spawn(argv, env, stdout=subprocess.DEVNULL)
    while time.monotonic() < started + STARTUP_TIMEOUT and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
        except OSError:
            time.sleep(0.05)
            continue
        finally:
            connection.close()
        return ServerProcess(process, f"http://127.0.0.1:{port}", stderr_path, startup_s=time.monotonic() - started)
    _give_up(process, stderr_path, f"{argv[0]} did not answer on port {port}")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); for servers that cannot take port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spawn(argv: list[str], env: dict | None, stdout) -> tuple[subprocess.Popen, Path]:
    stderr_file = tempfile.NamedTemporaryFile(prefix="vidmock-stderr-", suffix=".log", delete=False)
    process = subprocess.Popen(argv, stdout=stdout, stderr=stderr_file, text=True, env={**os.environ, **(env or {})})
    stderr_file.close()
    return process, Path(stderr_file.name)


def _give_up(process: subprocess.Popen, stderr_path: Path, why: str) -> NoReturn:
    process.kill()
    process.wait()
    stderr = stderr_path.read_text(errors="replace")
    stderr_path.unlink(missing_ok=True)
    raise RuntimeError(f"{why}\n{stderr}")


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


def print_run(benchmark: Coroutine[Any, Any, dict]) -> None:
    """Run a benchmark's coroutine and print its JSON, with the seconds the run took."""
    print_result(lambda: asyncio.run(benchmark))


def print_result(benchmark: Callable[[], dict]) -> None:
    """Run a benchmark and print its JSON, with the seconds the run took."""
    started = time.monotonic()
    result = benchmark()
    result["duration_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


def code_revision(checkout: Path = BENCHMARKS) -> str | None:
    """The commit measured (``git describe --always --dirty``), so figures can be told apart later."""
    try:
        completed = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=checkout, capture_output=True,
                                   text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None


def command_line() -> str:
    """The exact command that produced this output, to print alongside the figures."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)  # set when run as ``python -m benchmarks.X``
    program = ["-m", spec.name] if spec is not None else [os.path.relpath(sys.argv[0])]
    return shlex.join(["python", *program, *sys.argv[1:]])
