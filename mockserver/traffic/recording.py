"""Recordings of traffic with an upstream: JSON Lines, written by ``vidmock proxy --record`` and
read by ``vidmock serve --replay`` (the format is described in docs/drift.md).

The first line is a header naming the format and its version; every later line is one exchange:
a REST request and its reply, a WebSocket frame and the frame that answered it, or a frame the
upstream sent unasked (``request`` null). Lines are flushed as they are written, so a proxy that
is killed leaves a readable file. Keys never reach the file: the writer redacts every line
(``mockserver.traffic.redaction``) with the keys of the connection it came on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mockserver.traffic.redaction import redact, redact_url

FORMAT = "vidmock-recording"
VERSION = 1


class RecordingError(ValueError):
    """A recording vidmock cannot read; the message names the file and the line."""


class Recorder:
    """Appends exchanges to a recording, one JSON object per line."""

    def __init__(self, path: Path, *, upstream: str, upstream_ws: str, vidmock_version: str = "") -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._sequence = 0
        self._write({"format": FORMAT, "version": VERSION, "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "upstream": redact_url(upstream), "upstreamWs": redact_url(upstream_ws),
                     "vidmock": vidmock_version})

    def exchange(self, *, transport: str, connection: int | None, request: dict | None, reply: dict,
                 sent: float | None, received: float | None, media: dict | None = None,
                 secrets: Iterable[str] = ()) -> None:
        """One exchange (``request`` None: a frame the upstream pushed); ``sent``/``received``
        are Unix times."""
        self._sequence += 1
        line = {"seq": self._sequence, "transport": transport, "connection": connection, "request": request,
                "reply": reply, "times": {"sent": sent, "received": received,
                                          "ms": round((received - sent) * 1000, 3) if sent and received else None}}
        if media:
            line["media"] = media
        self._write(redact(line, secrets))

    def _write(self, line: dict) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class RecordedExchange:
    """One line of a recording."""

    seq: int
    transport: str
    connection: int | None
    tasks: list | None  # None: a frame the upstream sent unasked
    status: int | None
    headers: dict[str, str]
    body: Any
    media: dict[str, dict] = field(default_factory=dict)  # videoUUID -> {"file", "width", "height", ...}


@dataclass
class Recording:
    header: dict
    exchanges: list[RecordedExchange]


def read_recording(path: Path) -> Recording:
    """Every exchange of a recording file, in order; ``RecordingError`` for anything else."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"recording {path}: {exc}") from exc
    parsed = list(_parse(path, lines))
    if not parsed:
        raise RecordingError(f"recording {path}: the file is empty; it must start with a {FORMAT} header line")
    header = parsed[0][1]
    if header.get("format") != FORMAT:
        raise RecordingError(f"recording {path}: line 1 is not a {FORMAT} header")
    if header.get("version") != VERSION:
        raise RecordingError(f"recording {path}: format version {header.get('version')!r}; this vidmock reads "
                             f"version {VERSION}")
    return Recording(header, [_exchange(path, number, line) for number, line in parsed[1:]])


def _parse(path: Path, lines: list[str]) -> Iterator[tuple[int, dict]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError as exc:
            raise RecordingError(f"recording {path}, line {number}: not JSON ({exc})") from None
        if not isinstance(line, dict):
            raise RecordingError(f"recording {path}, line {number}: not a JSON object")
        yield number, line


def _exchange(path: Path, number: int, line: dict) -> RecordedExchange:
    request, reply = line.get("request"), line.get("reply")
    tasks = request.get("tasks") if isinstance(request, dict) else None
    if not isinstance(reply, dict) or (request is not None and not isinstance(tasks, list)):
        raise RecordingError(f"recording {path}, line {number}: an exchange needs a reply object and a request "
                             "with a tasks array (or null)")
    media = line.get("media") if isinstance(line.get("media"), dict) else {}
    return RecordedExchange(seq=line.get("seq", number), transport=line.get("transport", "rest"),
                            connection=line.get("connection"), tasks=tasks, status=reply.get("status"),
                            headers=reply.get("headers") or {}, body=reply.get("body"), media=media)
