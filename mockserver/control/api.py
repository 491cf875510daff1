"""The ``/__mock/`` routes: journal, faults, scenarios, progression, tasks, clock, reset, health,
the OpenAPI description and the dashboard.

Every route acts on the namespace of the API key it is called with (``Authorization: Bearer KEY``
or ``?apiKey=KEY``); without one it acts on every namespace (reads see all, resets reset all).
Errors come back in the Runware error envelope.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aiohttp import web

from mockserver.control.faults import FaultSpecError, parse_fault
from mockserver.control.openapi import openapi_document
from mockserver.control.plane import ControlPlane
from mockserver.errors import RunwareError, kind_of
from mockserver.jobs import RESULT_RELEASES, Progression
from mockserver.state import CONTROL, HEALTH_SOURCES
from mockserver.control.conventions import bad_control_request, namespace_of

DASHBOARD = Path(__file__).with_name("dashboard.html")
TRANSPORTS = ("rest", "ws")
MAX_ADVANCE = 10 * 365 * 24 * 3600.0


def _not_found(message: str) -> RunwareError:
    return RunwareError("controlResourceNotFound", message)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if await request.read() else {}
    except ValueError:
        raise bad_control_request("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise bad_control_request("The body must be a JSON object.")
    return body


def _query_number(request: web.Request, name: str, kind=float) -> Any:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise bad_control_request(f"{name} must be a number.") from None
    if not math.isfinite(value):
        raise bad_control_request(f"{name} must be finite.")
    return value


def _plane(request: web.Request) -> ControlPlane:
    return request.app[CONTROL]


# -- health, dashboard, description ---------------------------------------------------------------

async def health(request: web.Request) -> web.Response:
    """Liveness plus a few counters (each component contributes one section)."""
    sections = {name: stats() for name, stats in request.app[HEALTH_SOURCES].items()}
    return web.json_response({"status": "ok", **sections})


async def dashboard(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DASHBOARD, headers={"Content-Type": "text/html; charset=utf-8",
                                                 "Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# -- journal ----------------------------------------------------------------------------------------

async def get_journal(request: web.Request) -> web.Response:
    transport = request.query.get("transport")
    if transport not in (None, *TRANSPORTS):
        raise bad_control_request("transport must be rest or ws.")
    valid = request.query.get("valid")
    if valid not in (None, "true", "false"):
        raise bad_control_request("valid must be true or false.")
    limit = _query_number(request, "limit", int)
    if limit is not None and limit < 1:
        raise bad_control_request("limit must be at least 1.")
    entries = _plane(request).journal.entries(
        namespace=namespace_of(request), task_uuid=request.query.get("taskUUID"),
        since=_query_number(request, "since"), until=_query_number(request, "until"), transport=transport,
        valid=None if valid is None else valid == "true", limit=limit)
    return web.json_response({"entries": [entry.to_json() for entry in entries], "now": _plane(request).clock.now()})


async def delete_journal(request: web.Request) -> web.Response:
    return web.json_response({"deleted": _plane(request).journal.reset(namespace_of(request))})


# -- faults -----------------------------------------------------------------------------------------

async def create_fault(request: web.Request) -> web.Response:
    plane = _plane(request)
    try:
        fault = parse_fault(await _json_object(request), namespace_of(request))
    except FaultSpecError as exc:
        raise bad_control_request(f"Invalid fault: {exc}.") from None
    if fault.action == "webhook" and plane.delivery is None:
        raise bad_control_request("Webhook faults need the delivery engine, which this server does not run.")
    return web.json_response(plane.faults.add(fault).to_json(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    faults = _plane(request).faults.listed(namespace_of(request))
    return web.json_response({"faults": [fault.to_json() for fault in faults]})


async def get_fault(request: web.Request) -> web.Response:
    fault_id = request.match_info["faultId"]
    for fault in _plane(request).faults.listed(namespace_of(request)):
        if fault.id == fault_id:
            return web.json_response(fault.to_json())
    raise _not_found(f"No fault {fault_id} in this namespace.")


async def delete_faults(request: web.Request) -> web.Response:
    return web.json_response({"deleted": _plane(request).faults.reset(namespace_of(request))})


async def delete_fault(request: web.Request) -> web.Response:
    fault_id = request.match_info["faultId"]
    if not _plane(request).faults.remove(fault_id, namespace_of(request)):
        raise _not_found(f"No fault {fault_id} in this namespace.")
    return web.json_response({"deleted": 1})


async def list_scenarios(request: web.Request) -> web.Response:
    return web.json_response({"header": "X-Vidmock-Scenario", "scenarios": _plane(request).scenarios.listing()})


# -- progression and tasks -----------------------------------------------------------------------------

def _policy(body: dict) -> Progression | None:
    policy = body.get("policy", "")
    if policy is None:
        return None
    try:
        if not isinstance(policy, str):
            raise ValueError("expected immediate, polls:N, seconds:T or manual")
        return Progression.parse(policy)
    except ValueError as exc:
        raise bad_control_request(f"policy: {exc} (or null to clear).") from None


def _results(body: dict) -> str | None:
    mode = body["results"]
    if mode is None:
        return None
    if not isinstance(mode, str) or mode not in RESULT_RELEASES:
        raise bad_control_request("results: expected together or staggered (or null to clear).")
    return mode


async def _progression_body(request: web.Request) -> dict[str, Any]:
    """The settings a progression PUT changes: ``policy`` and/or ``results`` (None clears one)."""
    body = await _json_object(request)
    if "policy" not in body and "results" not in body:
        raise bad_control_request("The body needs policy (immediate, polls:N, seconds:T or manual) and/or results "
                   "(together or staggered).")
    changes = {}
    if "policy" in body:
        changes["policy"] = _policy(body)
    if "results" in body:
        changes["results"] = _results(body)
    return changes


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    return {name: str(value) if value is not None else None for name, value in changes.items()}


async def put_progression(request: web.Request) -> web.Response:
    """A namespace's default policy and result release; without a key, the server-wide defaults."""
    plane, namespace = _plane(request), namespace_of(request)
    changes = await _progression_body(request)
    if "policy" in changes:
        if namespace is None:
            plane.jobs.policies.default = changes["policy"] or plane.default_policy
        else:
            plane.jobs.policies.set_namespace(namespace, changes["policy"])
    if "results" in changes:
        if namespace is None:
            plane.jobs.results.default = changes["results"] or plane.default_results
        else:
            plane.jobs.results.set_namespace(namespace, changes["results"])
    return web.json_response({"namespace": namespace, **_shown(changes)})


def _task_namespace(request: web.Request, *, must_exist: bool) -> tuple[str, str]:
    """(namespace, taskUUID) of a per-task route; the admin view finds the task's namespace."""
    plane, task_uuid, namespace = _plane(request), request.match_info["taskUUID"], namespace_of(request)
    if namespace is None:
        owners = [ns for ns in plane.tasks.namespaces() if plane.jobs.get(ns, task_uuid) is not None]
        if len(owners) != 1:
            raise (_not_found(f"No task {task_uuid}.") if not owners else
                   bad_control_request(f"Task {task_uuid} exists under several API keys; call with one."))
        namespace = owners[0]
    if must_exist and plane.jobs.get(namespace, task_uuid) is None:
        raise _not_found(f"No task {task_uuid} for this API key (or it expired).")
    return namespace, task_uuid


async def put_task_progression(request: web.Request) -> web.Response:
    """One task's policy and result release; may be set before the task is submitted (then an API
    key is needed)."""
    plane = _plane(request)
    changes = await _progression_body(request)
    if namespace_of(request) is None:
        namespace, task_uuid = _task_namespace(request, must_exist=True)
    else:
        namespace, task_uuid = namespace_of(request), request.match_info["taskUUID"]
    if "policy" in changes:
        plane.jobs.policies.set_task(namespace, task_uuid, changes["policy"])
    if "results" in changes:
        plane.jobs.results.set_task(namespace, task_uuid, changes["results"])
    return web.json_response({"namespace": namespace, "taskUUID": task_uuid, **_shown(changes)})


async def complete_task(request: web.Request) -> web.Response:
    plane = _plane(request)
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    job = await plane.jobs.complete(namespace, task_uuid)
    return web.json_response(plane.tasks.describe(job))


async def fail_task(request: web.Request) -> web.Response:
    plane = _plane(request)
    body = await _json_object(request)
    code, message = body.get("code", "providerError"), body.get("message", "The task failed.")
    try:
        kind_of(code)
    except (KeyError, AttributeError, TypeError):
        raise bad_control_request("code must be an error code of the catalogue (docs/errors.md).") from None
    if not isinstance(message, str):
        raise bad_control_request("message must be a string.")
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    return web.json_response(plane.tasks.describe(plane.jobs.fail(namespace, task_uuid, code, message)))


async def list_tasks(request: web.Request) -> web.Response:
    limit = _query_number(request, "limit", int)
    return web.json_response({"tasks": _plane(request).tasks.listing(namespace_of(request), limit)})


async def get_task(request: web.Request) -> web.Response:
    plane = _plane(request)
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    return web.json_response(plane.tasks.describe(plane.jobs.get(namespace, task_uuid)))


# -- clock and reset ------------------------------------------------------------------------------------

async def get_clock(request: web.Request) -> web.Response:
    clock = _plane(request).clock
    return web.json_response({"now": clock.now(), "offset": clock.offset, "frozen": _plane(request).frozen_clock})


async def advance_clock(request: web.Request) -> web.Response:
    seconds = (await _json_object(request)).get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_ADVANCE:
        raise bad_control_request(f"seconds must be a number within 0..{MAX_ADVANCE:g}.")
    plane = _plane(request)
    now = await plane.advance_clock(float(seconds))
    return web.json_response({"now": now, "offset": plane.clock.offset, "frozen": plane.frozen_clock})


async def reset(request: web.Request) -> web.Response:
    namespace = namespace_of(request)
    return web.json_response({"namespace": namespace, "reset": _plane(request).reset(namespace)})


def add_control_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/__mock/", dashboard)
    router.add_get("/__mock/health", health)
    router.add_get("/__mock/openapi.json", openapi)
    router.add_get("/__mock/journal", get_journal)
    router.add_delete("/__mock/journal", delete_journal)
    router.add_post("/__mock/faults", create_fault)
    router.add_get("/__mock/faults", list_faults)
    router.add_delete("/__mock/faults", delete_faults)
    router.add_get("/__mock/faults/{faultId}", get_fault)
    router.add_delete("/__mock/faults/{faultId}", delete_fault)
    router.add_get("/__mock/scenarios", list_scenarios)
    router.add_put("/__mock/progression", put_progression)
    router.add_get("/__mock/tasks", list_tasks)
    router.add_get("/__mock/tasks/{taskUUID}", get_task)
    router.add_put("/__mock/tasks/{taskUUID}/progression", put_task_progression)
    router.add_post("/__mock/tasks/{taskUUID}/complete", complete_task)
    router.add_post("/__mock/tasks/{taskUUID}/fail", fail_task)
    router.add_get("/__mock/clock", get_clock)
    router.add_post("/__mock/clock/advance", advance_clock)
    router.add_post("/__mock/reset", reset)
