"""The wire format shared by both transports: a JSON array of tasks in, an envelope out.

Parsing turns every malformed body into a Runware error instead of an exception. Replies take the
live service's envelope (``wire_envelope``): over REST always ``{"data": [...]}`` with
``"errors": [...]`` added when a task failed, over a WebSocket ``data``, ``errors`` or both. The
HTTP status follows one rule: 200 when any task produced data (partial success), else the status
of the first error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import TaskType, Transport

AUTH = TaskType.AUTHENTICATION
SUBMITTED = (TaskType.VIDEO_INFERENCE, TaskType.IMAGE_UPLOAD, TaskType.MEDIA_STORAGE)  # the tasks getTaskDetails can report on
SCENARIO_HEADER = "X-Vidmock-Scenario"  # vidmock's own: misbehaviours per request (docs/control.md)
SCENARIO_QUERY = "scenario"  # the same on the WebSocket URL, for the whole connection
DRY_RUN_HEADER = "X-Runware-Dry-Run"  # Runware's: validate and price, run nothing (REST)
DRY_RUN_QUERY = "dryRun"  # the same on the WebSocket URL (sdk-js's dryRun: true), for the connection
CONTROL_MOUNT = "/__mock/"  # where the control plane is mounted: vidmock's own, never API traffic


def decode_tasks(body: bytes) -> list[Any]:
    """The task array of a request body; raises ``invalidRequestBody`` for anything else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_body(f"The request body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        tasks = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _invalid_body(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}.") from None
    except (ValueError, RecursionError) as exc:  # NaN/Infinity, or nesting deeper than Python allows
        raise _invalid_body(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(tasks, list):
        raise _invalid_body("The request body must be a JSON array of tasks, even for a single task.")
    if not tasks:
        raise _invalid_body("The request body must contain at least one task.")
    return tasks


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer KEY`` header; "" for any other (unusable) form."""
    if authorization is None:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def split_names(*values: str | None) -> tuple[str, ...]:
    """Scenario names from header / query values: comma-separated, blanks ignored, order kept."""
    return tuple(name.strip() for value in values if value for name in value.split(",") if name.strip())


def is_dry_run(value: str | None) -> bool:
    """Whether a dry-run header or query value asks for one: ``1`` (what Runware documents and
    sdk-js sends) or ``true``."""
    return value is not None and value.strip().lower() in ("1", "true")


def is_authentication(task: Any) -> bool:
    return isinstance(task, dict) and task.get("taskType") == AUTH


def leading_api_key(tasks: list | None) -> str | None:
    """The key of a leading authentication task (the way a request authenticates in its body)."""
    if tasks and is_authentication(tasks[0]) and isinstance(tasks[0].get("apiKey"), str):
        return tasks[0]["apiKey"]
    return None


def request_too_large(limit_bytes: int) -> RunwareError:
    return RunwareError("requestTooLarge", f"The request exceeds the limit of {limit_bytes} bytes. Upload large "
                        "images with imageUpload, or raise the limit with --max-body-mb.", max=limit_bytes)


@dataclass
class Reply:
    """What one request produced, before it is put on the wire.

    ``violations`` keeps, per task index, every validation error found, while the wire carries only
    the first (as the API does); the journal reads the rest. A *relayed* reply (``Reply.relay``)
    came from elsewhere, a proxied upstream or a recording, and goes out exactly as received.
    """

    data: list[dict]
    errors: list[RunwareError]
    http_status: int
    violations: dict[int, list[RunwareError]] = field(default_factory=dict)
    _envelope: dict[str, list] | None = field(default=None, repr=False, compare=False)
    _built_for: Transport | None = field(default=None, repr=False, compare=False)
    relayed: bool = False

    @classmethod
    def of(cls, data: list[dict], errors: list[RunwareError],
           violations: dict[int, list[RunwareError]] | None = None) -> "Reply":
        status = 200 if data or not errors else errors[0].http_status
        return cls(data, errors, status, violations or {})

    @classmethod
    def relay(cls, envelope: Any, http_status: int,
              violations: dict[int, list[RunwareError]] | None = None) -> "Reply":
        """A reply received from an upstream (or read from a recording): ``envelope()`` is that body
        unchanged, whatever its shape, and ``http_status`` its status. ``None`` means nothing came
        back (the upstream socket closed first): a WebSocket transport then sends nothing.
        ``data`` holds the body's data items that are objects, the same objects, so a transport
        reads the authentication item as it would the mock's."""
        raw = envelope.get("data") if isinstance(envelope, dict) else None
        data = [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
        return cls(data, [], http_status, violations or {}, _envelope=envelope, relayed=True)

    def envelope(self, transport: Transport = Transport.REST) -> dict[str, list]:
        """The wire body for this transport, built once: the journal and the transport both read it."""
        if not self.relayed and (self._envelope is None or self._built_for is not transport):
            self._envelope = wire_envelope(self.data, error_items(self.errors, transport), transport)
            self._built_for = transport
        return self._envelope


def wire_envelope(data: list[dict], errors: list[dict], transport: Transport) -> dict[str, list]:
    """The envelope as the live service sends it. Every captured REST refusal is
    ``{"data": [], "errors": [...]}`` (real-traffic deankerr-ig invalidWidth, content-factory
    missingDimensionParameters, banana-editor invalidReferenceImages, runware-cli's invalidApiKey
    test data), so REST always has ``data``. The one captured WebSocket error frame is
    ``{"errors": [...]}`` (sdk-python issue 26): a frame has ``data`` only when a task produced
    items, or when nothing failed."""
    body: dict[str, list] = {}
    if carries_data(bool(data), bool(errors), transport):
        body["data"] = data
    if errors:
        body["errors"] = errors
    return body


def control_error_response(error: RunwareError, headers: dict[str, str] | None = None) -> web.Response:
    """The control plane's refusal: the error alone, ``{"errors": [...]}`` (no ``data``: it is
    vidmock's own API, not Runware's). The API's refusals are ``Reply.envelope``'s."""
    return web.json_response({"errors": [error.to_wire()]}, status=error.http_status, headers=headers)


def carries_data(has_data: bool, has_errors: bool, transport: Transport) -> bool:
    """Whether an envelope has a ``data`` key (``wire_envelope``; ``ws_frames`` splits by it too)."""
    return has_data or not has_errors or transport is Transport.REST


def error_items(errors: list[RunwareError], transport: Transport) -> list[dict]:
    """``errors[]`` items in the live key set: no captured item carries ``taskType`` (four REST, one
    WebSocket), except that a WebSocket authentication refusal keeps ``taskType:
    "authentication"``: sdk-python recognises one only so, and sdk-js routes it by that key."""
    return [error.to_wire(task_type=transport is Transport.WS and error.task_type == AUTH) for error in errors]


def _invalid_body(message: str) -> RunwareError:
    return RunwareError("invalidRequestBody", message)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _number(text: str) -> int | float:
    """A JSON number written with a fraction or an exponent. A whole one (``4.0``, ``1e3``) is an
    integer, as JSON Schema and JavaScript read it: the task is valid, so everything behind
    validation gets an ``int`` to count with (``range(numberResults)``, frame counts, seeds)."""
    value = float(text)
    return int(value) if value.is_integer() else value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_number)  # built once: json.loads(text, **kw) builds one per call
