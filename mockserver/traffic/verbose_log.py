"""``vidmock serve --verbose``: one log line per REST request and per WebSocket frame.

An ``exchange_done`` observer (``mockserver.exchange``): it sees the finished exchange in its
``RequestContext`` (tasks, key, reply, status, timing) and writes one line through ``logging``
(logger ``mockserver.verbose_log``, level INFO), so it lands wherever the host process sends its
logs: stderr under ``vidmock serve``, pytest's captured log under the plugin. The composition root
registers it only when ``verbose`` is on, so with the setting off a request pays nothing at all.

    2025-06-01T12:34:56.789Z rest req-3 key=any-...(7) tasks=videoInference:0d84f171-... status=200 data=videoInference errors=- 0.84ms

The key is never written whole (at most its first 4 characters, and never more than half of it,
then its length); every text the client chose (task types, UUIDs) is cut short and stripped of
anything that could start a new line or fake another field.
"""

from __future__ import annotations

import logging
import re
import time

from mockserver.exchange import Hooks, RequestContext

# The name users filter on (docs/server.md), kept when the module moved into traffic/.
log = logging.getLogger("mockserver.verbose_log")

KEY_PREFIX = 4  # characters of the key shown, at most (and never more than half of it)
MAX_TASKS = 8  # tasks (and replies, and errors) named per line; more are counted
MAX_WORD = 64  # characters of a client-chosen word shown
_PLAIN = re.compile(r"[\w.@:+/-]*")  # what a word may hold to be shown as it is


def install(hooks: Hooks) -> None:
    """Log every finished exchange; INFO is switched on for this logger so the lines show."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    hooks.exchange_done.append(log_exchange)


def log_exchange(ctx: RequestContext) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info("%s", exchange_line(ctx))


def exchange_line(ctx: RequestContext) -> str:
    """The one line of an exchange, without the logger's prefix."""
    envelope = ctx.reply.envelope(ctx.transport) if ctx.reply is not None else {}
    data = envelope.get("data") or []
    errors = envelope.get("errors") or []
    fields = [
        _timestamp(ctx.received_wall), str(ctx.transport), ctx.request_id or "-",
        f"key={redact_key(ctx.claimed_key)}",
        f"tasks={_listed(_task_word(task) for task in ctx.tasks or ())}",
        f"status={_status(ctx)}",
        f"data={_listed(_item_word(item) for item in data)}",
        f"errors={_listed(_word(error.get('code')) for error in errors)}",
        f"{ctx.elapsed_ms():.2f}ms",
    ]
    return " ".join(fields)


def redact_key(key: str | None) -> str:
    """``any-...(7)``: enough to tell keys apart in a log, never enough to use one."""
    if not key:
        return "-"
    return f"{_word(key[: min(KEY_PREFIX, len(key) // 2)], empty='')}...({len(key)})"


def _timestamp(wall: float) -> str:
    seconds = int(wall)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((wall - seconds) * 1000):03d}Z"


def _status(ctx: RequestContext) -> str:
    """The HTTP status sent (REST), how the reply was broken on purpose, or ``-`` (a frame)."""
    if ctx.break_reply is not None:
        return f"{ctx.response_status or '-'}/{ctx.break_reply}"
    return str(ctx.response_status) if ctx.response_status is not None else "-"


def _task_word(task: object) -> str:
    if not isinstance(task, dict):
        return "?"
    uuid = task.get("taskUUID")
    return _word(task.get("taskType")) + (f":{_word(uuid)}" if uuid is not None else "")


def _item_word(item: dict) -> str:
    status = item.get("status")
    return _word(item.get("taskType")) + (f":{_word(status)}" if status is not None else "")


def _word(value: object, *, empty: str = "?") -> str:
    """A client-chosen value as one token: plain text as it is, anything else quoted and escaped
    (no space, comma or line break survives, so a value cannot fake a field or a line)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_WORD:
        text = text[:MAX_WORD] + "..."
    if not text:
        return empty
    if _PLAIN.fullmatch(text):
        return text
    return ascii(text).replace(" ", "\\x20").replace(",", "\\x2c")


def _listed(words) -> str:
    words = list(words)
    if not words:
        return "-"
    shown = ",".join(words[:MAX_TASKS])
    return shown + (f",+{len(words) - MAX_TASKS}" if len(words) > MAX_TASKS else "")
