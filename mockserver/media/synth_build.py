"""What a rendered file depends on besides its ``VideoSpec``: the ffmpeg build and the fonts it finds.

The render cache outlives a run (setting ``cache_dir``) and travels: a CI job restores it on
another machine, a second virtualenv may hold another imageio-ffmpeg. A cached file is only valid
for the toolchain that wrote it (bytes differ between ffmpeg builds; text is drawn with whatever
font fontconfig finds, or not at all), so every file lives under one folder per *build*, named
``<ffmpeg version>-<text|plain>-<digest>``. The digest covers:

- vidmock's own synthesis recipe: a hash of the code of ``SYNTHESIS_CODE`` (filters, codecs,
  overlay, how the parts are assembled), so a changed recipe can never be served from a cache that a
  kept folder holds; comments, docstrings and layout are left out, so editing them costs no render;
- ffmpeg's version and configuration lines, and the binary's identity: its size and a hash of its
  first and last MiB (hashing all 170 MB would take half a second per server start; a reinstalled
  wheel keeps the same identity, so a restored CI cache still matches);
- the font probe: the pixels of one small frame with text drawn on it, which differ with the font
  found, or the fact that drawing text failed (no font: videos are drawn without text).

``probe_build`` finds all of that with one small ffmpeg run (two without fonts), once per process
for a given binary and fontconfig environment (``known_build``).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

# The modules whose code decides a rendered file's bytes: synth.py turns a VideoSpec into ffmpeg's
# filters, codecs and arguments. (formats.py only names the containers; this module only runs
# ffmpeg with what it is given.) ffmpeg-python, which writes the argument list, counts by version.
SYNTHESIS_CODE = (Path(__file__).with_name("synth.py"),)
ARGUMENT_WRITER = "ffmpeg-python"
PROBE_SOURCE = "color=c=black:s=160x32:r=1:d=1"
PROBE_TEXT = "drawtext=text=vidmock 0123 Ag:fontsize=20:fontcolor=white:x=4:y=4"
PROBE_OUTPUT = ("-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
ENDS_BYTES = 1 << 20  # bytes hashed at each end of the binary
FONT_VARIABLES = ("FONTCONFIG_FILE", "FONTCONFIG_PATH")  # they change what fontconfig finds
BUILD_FILE = "build.json"
KILLED_WAIT = 5.0  # seconds a cancelled ffmpeg is waited for once killed


class BuildProbeError(Exception):
    """ffmpeg could not be run at all, or could not draw even a plain frame."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True)
class Build:
    """One toolchain's identity, and the name of its folder in a render cache."""

    version: str  # "n9.0.2-17-g2a571b6068-20260930"
    text: bool  # drawtext works (a font was found)
    text_error: str | None  # what ffmpeg said when it did not
    digest: str  # sha256 over everything the folder name stands for
    facts: dict  # what went into the digest, for build.json

    @property
    def name(self) -> str:
        version = re.sub(r"[^A-Za-z0-9._-]", "_", self.version)[:48]
        return f"{version}-{'text' if self.text else 'plain'}-{self.digest[:12]}"

    def folder(self, root: Path) -> Path:
        """This build's folder under a cache root, described by its build.json (written once)."""
        folder = root / self.name
        described = folder / BUILD_FILE
        if not described.exists():
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{BUILD_FILE}.{uuid.uuid4().hex}.part"  # unique: writers may race
            partial.write_text(json.dumps({"name": self.name, **self.facts}, indent=2) + "\n")
            os.replace(partial, described)
        return folder


_KNOWN: dict[tuple, Build] = {}


def probe_key(exe: str) -> tuple:
    return (exe, *(os.environ.get(name) for name in FONT_VARIABLES))


def known_build(exe: str) -> Build | None:
    """The build already probed in this process for this binary and font environment."""
    return _KNOWN.get(probe_key(exe))


async def probe_build(exe: str) -> Build:
    """Run the probe (one small frame with text; a plain one if text fails) and remember the result."""
    key = probe_key(exe)
    code, frame, stderr = await _run(exe, "-vf", PROBE_TEXT)
    text_error = None
    if code != 0:
        text_error = stderr
        code, frame, stderr = await _run(exe)
        if code != 0:
            raise BuildProbeError(f"ffmpeg cannot draw a frame: {stderr.strip()[-500:]}", stderr)
    version, configuration = _banner(stderr)
    facts = {
        "synthesisCode": await asyncio.to_thread(synthesis_code_digest),
        "ffmpeg": {"version": version, "configuration": configuration, **await asyncio.to_thread(_identity, exe)},
        "text": text_error is None,
        "fontProbe": hashlib.sha256(frame).hexdigest() if text_error is None else None,
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
    build = _KNOWN[key] = Build(version, text_error is None, text_error, digest, facts)
    return build


@cache
def synthesis_code_digest() -> str:
    """The recipe's identity: the code of ``SYNTHESIS_CODE`` and the version of the library that
    writes ffmpeg's arguments; computed once per process."""
    return code_digest([path.read_text(encoding="utf-8") for path in SYNTHESIS_CODE], metadata.version(ARGUMENT_WRITER))


def code_digest(sources: Iterable[str], *versions: str) -> str:
    """SHA-256 of Python sources as code: their syntax trees without docstrings, so a comment, a
    docstring or a layout change keeps the digest and any change to what runs alters it."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(ast.dump(_without_docstrings(ast.parse(source)), include_attributes=False).encode())
    for version in versions:
        digest.update(f"\0{version}".encode())
    return digest.hexdigest()


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


async def run_ffmpeg(argv: list[str], *, keep_stdout: bool = False) -> tuple[int, bytes, str]:
    """(exit code, stdout if kept, stderr) of one ffmpeg process, killed if the caller is cancelled.
    ``OSError`` when it cannot be started (a missing binary, a bad ``IMAGEIO_FFMPEG_EXE``)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE if keep_stdout else asyncio.subprocess.DEVNULL)
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        with contextlib.suppress(asyncio.TimeoutError):  # reaped at once; a pipe held by a grandchild may not close
            await asyncio.wait_for(process.wait(), KILLED_WAIT)
        raise
    return process.returncode, stdout or b"", stderr.decode(errors="replace")


async def _run(exe: str, *filters: str) -> tuple[int, bytes, str]:
    """(exit code, frame, stderr) of one probe frame; ffmpeg's banner is on stderr (``-v info``)."""
    argv = [exe, "-nostdin", "-v", "info", "-f", "lavfi", "-i", PROBE_SOURCE, *filters, *PROBE_OUTPUT]
    try:
        return await run_ffmpeg(argv, keep_stdout=True)
    except OSError as exc:
        raise BuildProbeError(f"cannot run ffmpeg: {exc}", str(exc)) from exc


def _banner(stderr: str) -> tuple[str, str]:
    """ffmpeg's version (from ``ffmpeg version X Copyright...``) and its configuration line."""
    version = re.search(r"^ffmpeg version (\S+)", stderr, re.MULTILINE)
    configuration = re.search(r"^\s*configuration: (.*)$", stderr, re.MULTILINE)
    return (version.group(1) if version else "unknown"), (configuration.group(1) if configuration else "")


def _identity(exe: str) -> dict:
    """The binary's size and a hash of its two ends: cheap, and the same for a reinstalled wheel."""
    with open(exe, "rb") as binary:
        size = os.fstat(binary.fileno()).st_size
        ends = hashlib.sha256(binary.read(ENDS_BYTES))
        binary.seek(max(size - ENDS_BYTES, 0))
        ends.update(binary.read(ENDS_BYTES))
    return {"size": size, "sha256Ends": ends.hexdigest()}
