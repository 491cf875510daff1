"""``vidmock validate FILE.json ... | -``: the errors the API would return for requests, offline.

For each file (``-`` is standard input) prints the would-be response (one error per failing task,
as the API sends it, in the envelope the transports build) and then every violation, which the
API itself never shows all at once. Exit status, the worst over the files: 0 valid, 1 invalid,
2 unreadable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO, TextIO

from mockserver.contract.protocol import Reply, is_authentication
from mockserver.validation import validate_task

STDIN = "-"
VALID, INVALID, UNREADABLE = 0, 1, 2


def would_be_reply(tasks: list[Any]) -> Reply:
    """The reply to a task array, and every violation per task index, without a server.

    Tasks that need server state (getResponse of a submitted task, UUID inputs) are judged on
    their shape alone.
    """
    data, errors, violations = [], [], {}
    for index, task in enumerate(tasks):
        found = validate_task(task)
        violations[index] = found
        if found:
            errors.append(found[0])
        elif not is_authentication(task):
            data.append({"taskType": task["taskType"], "taskUUID": task.get("taskUUID")})
    return Reply.of(data, errors, violations)


def _read(path: str, stdin: BinaryIO | None) -> bytes:
    if path == STDIN:
        return (stdin or sys.stdin.buffer).read()
    with open(path, "rb") as handle:
        return handle.read()


def _load(path: str, name: str, err: TextIO, stdin: BinaryIO | None) -> tuple[list[Any] | None, str | None]:
    try:
        raw = _read(path, stdin)
    except OSError as exc:
        return None, f"cannot read {name}: {exc.strerror or exc}"
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"{name} is not UTF-8 text (byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"{name} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(body, dict):
        err.write(f"note: {name} holds one task object; the API expects an array of tasks, "
                  "so it is validated as [task].\n")
        return [body], None
    if not isinstance(body, list) or not body:
        return None, f"{name} must hold a task object or a non-empty JSON array of tasks"
    return body, None


def _text_report(tasks: list[Any], reply: Reply, out: TextIO) -> None:
    out.write(f"HTTP {reply.http_status}\n{json.dumps(reply.envelope(), indent=2)}\n")
    for index, found in reply.violations.items():
        task = tasks[index]
        label = task.get("taskType", "?") if isinstance(task, dict) else "?"
        if found:
            out.write(f"\ntask {index} ({label}): {len(found)} violation(s)\n")
            for error in found:
                param = error.parameter if isinstance(error.parameter, str) else ", ".join(error.parameter or [])
                out.write(f"  {error.code:<28} {param:<28} {error.message}\n")
    failing = sum(1 for found in reply.violations.values() if found)
    out.write(f"\n{len(tasks) - failing} of {len(tasks)} task(s) valid\n")


def _json_report(name: str, reply: Reply | None, problem: str | None) -> dict:
    if reply is None:
        return {"file": name, "error": problem}
    return {"file": name, "status": reply.http_status, "response": reply.envelope(),
            "violations": [[e.to_wire() for e in found] for found in reply.violations.values()]}


def run(paths: str | Sequence[str], as_json: bool = False, out: TextIO | None = None, err: TextIO | None = None,
        stdin: BinaryIO | None = None) -> int:
    """Validate request files and print the verdicts; returns the worst exit status.

    With several files, each text report starts with ``== NAME`` and a last line counts the
    verdicts; ``--json`` prints one report object, or an array of them (each with ``file``).
    """
    out, err = out or sys.stdout, err or sys.stderr  # the streams of the call, not of the import: a redirected stdout is honoured
    paths = [paths] if isinstance(paths, str) else list(paths)
    several = len(paths) > 1
    verdicts, reports = [], []
    for path in paths:
        name = "<stdin>" if path == STDIN else path
        tasks, problem = _load(path, name, err, stdin)
        reply = would_be_reply(tasks) if tasks is not None else None
        verdicts.append(UNREADABLE if reply is None else INVALID if any(reply.violations.values()) else VALID)
        if reply is None:
            err.write(f"vidmock validate: {problem}\n")
        if as_json:
            reports.append(_json_report(name, reply, problem))
        elif reply is not None:
            out.write(f"{chr(10) if len(verdicts) > 1 else ''}== {name}\n" if several else "")
            _text_report(tasks, reply, out)
    if as_json and (several or verdicts[0] != UNREADABLE):
        out.write(json.dumps(reports if several else reports[0], indent=2) + "\n")
    if several and not as_json:
        counts = [f"{verdicts.count(code)} {word}" for code, word in
                  ((VALID, "valid"), (INVALID, "invalid"), (UNREADABLE, "unreadable")) if code in verdicts]
        out.write(f"\n{len(paths)} files: {', '.join(counts)}\n")
    return max(verdicts)
