"""``vidmock validate FILE.json``: the errors the API would return for a request, offline.

Prints the would-be response (one error per failing task, as the API sends it) and then every
violation, which the API itself never shows all at once. Exit status: 0 valid, 1 invalid,
2 unreadable file.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from mockserver.errors import RunwareError
from mockserver.validation import validate_task


def would_be_reply(tasks: list[Any]) -> tuple[dict, int, list[list[RunwareError]]]:
    """(response body, HTTP status, all violations per task) for a task array, without a server.

    Tasks that need server state (getResponse of a submitted task, UUID inputs) are judged on
    their shape alone.
    """
    data, errors, violations = [], [], []
    for task in tasks:
        found = validate_task(task)
        violations.append(found)
        if found:
            errors.append(found[0])
        elif task["taskType"] != "authentication":
            data.append({"taskType": task["taskType"], "taskUUID": task.get("taskUUID")})
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:
        body["errors"] = [e.to_wire() for e in errors]
    status = 200 if data or not errors else errors[0].http_status
    return body, status, violations


def _load(path: str, err: TextIO) -> tuple[list[Any] | None, str | None]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"{path} is not UTF-8 text (byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(body, dict):
        err.write("note: the file holds one task object; the API expects an array of tasks, "
                  "so it is validated as [task].\n")
        return [body], None
    if not isinstance(body, list) or not body:
        return None, f"{path} must hold a task object or a non-empty JSON array of tasks"
    return body, None


def run(path: str, as_json: bool = False, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Validate one request file and print the verdict."""
    tasks, problem = _load(path, err)
    if tasks is None:
        err.write(f"vidmock validate: {problem}\n")
        return 2
    body, status, violations = would_be_reply(tasks)
    failing = sum(1 for found in violations if found)
    if as_json:
        report = {"status": status, "response": body,
                  "violations": [[e.to_wire() for e in found] for found in violations]}
        out.write(json.dumps(report, indent=2) + "\n")
        return 1 if failing else 0
    out.write(f"HTTP {status}\n{json.dumps(body, indent=2)}\n")
    for index, found in enumerate(violations):
        task = tasks[index]
        label = task.get("taskType", "?") if isinstance(task, dict) else "?"
        if found:
            out.write(f"\ntask {index} ({label}): {len(found)} violation(s)\n")
            for error in found:
                param = error.parameter if isinstance(error.parameter, str) else ", ".join(error.parameter or [])
                out.write(f"  {error.code:<28} {param:<28} {error.message}\n")
    out.write(f"\n{len(tasks) - failing} of {len(tasks)} task(s) valid\n")
    return 1 if failing else 0
