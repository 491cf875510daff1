"""The ``/__mock/`` routes: journal, drift, faults, scenarios, progression, tasks, clock, reset,
deliveries, WebSocket drops, health, the OpenAPI description and the dashboard.

Every route acts on the namespace of the API key it is called with (``Authorization: Bearer KEY``
or ``?apiKey=KEY``); without one it acts on every namespace (reads see all, resets reset all).
``ROUTES`` is the one table of them: method, path, handler, and the schemas of its body, query
and reply. The body or query is checked against its schema before the handler runs (``bodies.py``),
and the OpenAPI document is built from the same table; a refusal is a Runware error envelope (the
sub-application's middleware renders any ``RunwareError`` a route raises).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

from aiohttp import web

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import SCENARIO_HEADER, bearer_key
from mockserver.contract.vocabulary import DropKind, JobStatus, Progression, ResultRelease
from mockserver.control.bodies import bad_control_request, check, check_query
from mockserver.control.faults import parse_fault
from mockserver.control.keys import CONTROL, OPENAPI_DOCUMENT
from mockserver.control.plane import ControlPlane
from mockserver.delivery.engine import DeliveryRecord, DeliveryWaitTimeout
from mockserver.state import DELIVERY, HEALTH_SOURCES, SOCKETS

DASHBOARD = Path(__file__).with_name("dashboard.html")


def namespace_of(request: web.Request) -> str | None:
    """The key the call names (header first, then ``?apiKey=``); None: the admin view."""
    return bearer_key(request.headers.get("Authorization")) or request.query.get("apiKey") or None


def _not_found(message: str) -> RunwareError:
    return RunwareError("controlResourceNotFound", message)


async def _body(request: web.Request, schema: str) -> dict[str, Any]:
    """The JSON body, checked against its schema (an empty body is ``{}``)."""
    try:
        body = await request.json() if await request.read() else {}
    except ValueError:
        raise bad_control_request("The body must be JSON.") from None
    return check(schema, body)


def _plane(request: web.Request) -> ControlPlane:
    return request.app[CONTROL]


# -- health, dashboard, description ---------------------------------------------------------------

async def health(request: web.Request) -> web.Response:
    """Liveness plus a few counters (each component contributes one section)."""
    sections = {name: stats() for name, stats in request.config_dict[HEALTH_SOURCES].items()}
    return web.json_response({"status": "ok", **sections})


async def dashboard(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DASHBOARD, headers={"Content-Type": "text/html; charset=utf-8",
                                                 "Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT]())


# -- journal ----------------------------------------------------------------------------------------

async def get_journal(request: web.Request, query: dict) -> web.Response:
    valid = query.get("valid")
    entries = _plane(request).journal.entries(
        namespace=namespace_of(request), task_uuid=query.get("taskUUID"), since=query.get("since"),
        until=query.get("until"), transport=query.get("transport"),
        valid=None if valid is None else valid == "true", limit=query.get("limit"))
    return web.json_response({"entries": [entry.to_json() for entry in entries], "now": _plane(request).clock.now()})


async def delete_journal(request: web.Request) -> web.Response:
    return web.json_response({"deleted": _plane(request).journal.reset(namespace_of(request))})


async def get_drift(request: web.Request, query: dict) -> web.Response:
    """What ``vidmock proxy`` found where requests or replies depart from vidmock's schemas."""
    findings = _plane(request).drift.findings(namespace_of(request), query.get("direction"), query.get("taskUUID"))
    return web.json_response({"findings": findings, "total": _plane(request).drift.total})


# -- faults -----------------------------------------------------------------------------------------

async def create_fault(request: web.Request, body: dict) -> web.Response:
    fault = parse_fault(body, namespace_of(request))
    return web.json_response(_plane(request).faults.add(fault).to_json(), status=201)


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
    return web.json_response({"header": SCENARIO_HEADER, "scenarios": _plane(request).scenarios.listing()})


async def drop_sockets(request: web.Request, body: dict) -> web.Response:
    """Drop a key's WebSocket connections now, or (with ``on``) install the fault that drops them
    right after the key's next request of that task type."""
    how = DropKind(body.get("how", DropKind.CLOSE1011))
    if "on" in body:
        fault = parse_fault({"action": how, "match": {"taskType": body["on"]}}, body["apiKey"])
        return web.json_response({"armed": _plane(request).faults.add(fault).to_json()})
    return web.json_response({"dropped": await request.config_dict[SOCKETS].drop(body["apiKey"], how)})


# -- progression and tasks -----------------------------------------------------------------------------

def _progression_changes(body: dict) -> dict[str, Any]:
    """The settings a progression PUT changes: ``policy`` and/or ``results`` (None clears one)."""
    changes: dict[str, Any] = {}
    if "policy" in body:
        changes["policy"] = Progression.parse(body["policy"]) if body["policy"] is not None else None
    if "results" in body:
        changes["results"] = ResultRelease(body["results"]) if body["results"] is not None else None
    return changes


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    return {name: str(value) if value is not None else None for name, value in changes.items()}


async def put_progression(request: web.Request, body: dict) -> web.Response:
    """A namespace's default policy and result release; without a key, the server-wide defaults."""
    plane, namespace = _plane(request), namespace_of(request)
    changes = _progression_changes(body)
    for name, setting, default in (("policy", plane.jobs.policies, plane.default_policy),
                                   ("results", plane.jobs.results, plane.default_results)):
        if name not in changes:
            continue
        if namespace is None:
            setting.default = changes[name] or default
        else:
            setting.set_namespace(namespace, changes[name])
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


async def put_task_progression(request: web.Request, body: dict) -> web.Response:
    """One task's policy and result release; may be set before the task is submitted (then an API
    key is needed)."""
    plane = _plane(request)
    changes = _progression_changes(body)
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


async def fail_task(request: web.Request, body: dict) -> web.Response:
    plane = _plane(request)
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    job = plane.jobs.fail(namespace, task_uuid, body.get("code", "providerError"), body.get("message", "The task failed."))
    return web.json_response(plane.tasks.describe(job))


async def list_tasks(request: web.Request, query: dict) -> web.Response:
    return web.json_response({"tasks": _plane(request).tasks.listing(namespace_of(request), query.get("limit"))})


async def get_task(request: web.Request) -> web.Response:
    plane = _plane(request)
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    return web.json_response(plane.tasks.describe(plane.jobs.get(namespace, task_uuid)))


async def wait_for_task(request: web.Request, query: dict) -> web.Response:
    """``GET /__mock/tasks/{taskUUID}/wait[?timeout=10]``: 200 with the task once it is final
    (success or error; a staggered release is final when its last generation settled), else 408
    with the task as it stands after ``timeout`` wall-clock seconds. Woken by the job's end, never
    by a timer. A wait is not a getResponse: it does not count as a poll, so a task that only polls
    move (``polls:N``, a staggered release) stays processing unless the client polls meanwhile."""
    plane = _plane(request)
    namespace, task_uuid = _task_namespace(request, must_exist=True)
    job = plane.jobs.get(namespace, task_uuid)

    def gone() -> bool:  # reset (or expired and forgotten) while waiting
        return plane.jobs.get(namespace, task_uuid) is not job

    await plane.waits.wait(lambda: gone() or job.status != JobStatus.PROCESSING, query.get("timeout", 10.0))
    if gone():
        raise _not_found(f"Task {task_uuid} was forgotten (reset or expired) while waiting.")
    return web.json_response(plane.tasks.describe(job), status=408 if job.status == JobStatus.PROCESSING else 200)


# -- deliveries ----------------------------------------------------------------------------------------

def _listing(records: list[DeliveryRecord], status: int = 200) -> web.Response:
    return web.json_response({"deliveries": [record.to_json() for record in records]}, status=status)


async def list_deliveries(request: web.Request, query: dict) -> web.Response:
    """``GET /__mock/deliveries[?taskUUID=&kind=webhook|upload&state=...]``, oldest first."""
    records = request.config_dict[DELIVERY].records(namespace_of(request), query.get("taskUUID"), query.get("kind"),
                                                    query.get("state"))
    return _listing(records)


async def wait_for_deliveries(request: web.Request, query: dict) -> web.Response:
    """``GET /__mock/deliveries/wait?taskUUID=X[&kind=][&count=1][&timeout=10]``: 200 with the final
    records as soon as ``count`` are final, else 408 with every matching record. A task the key
    never submitted is 404 at once: nothing will ever be delivered for it."""
    engine, plane, namespace, task_uuid = request.config_dict[DELIVERY], _plane(request), namespace_of(request), query["taskUUID"]
    submitted = any(plane.jobs.get(ns, task_uuid) is not None
                    for ns in ([namespace] if namespace else plane.tasks.namespaces()))
    if not submitted and not engine.records(namespace, task_uuid):
        raise _not_found(f"No task {task_uuid} for this API key (or it expired), and no deliveries of it.")
    try:
        records = await engine.wait_for(namespace, task_uuid, query.get("kind"), query.get("count", 1),
                                        query.get("timeout", 10.0))
    except DeliveryWaitTimeout as timed_out:
        return _listing(timed_out.records, status=408)
    return _listing(records)


# -- clock and reset ------------------------------------------------------------------------------------

def _clock(plane: ControlPlane, now: float) -> web.Response:
    return web.json_response({"now": now, "offset": plane.clock.offset, "frozen": plane.frozen_clock})


async def get_clock(request: web.Request) -> web.Response:
    return _clock(_plane(request), _plane(request).clock.now())


async def advance_clock(request: web.Request, body: dict) -> web.Response:
    return _clock(_plane(request), await _plane(request).advance_clock(float(body["seconds"])))


async def reset(request: web.Request) -> web.Response:
    namespace = namespace_of(request)
    return web.json_response({"namespace": namespace, "reset": await _plane(request).reset(namespace)})


@dataclass(frozen=True)
class Route:
    """One ``/__mock/`` operation: what the router serves and the OpenAPI document describes."""

    method: str
    path: str  # relative to the mount point /__mock
    handler: Callable[..., Awaitable[web.StreamResponse]]
    summary: str
    reply: str | None = None  # schema of the success reply (None: described inline by openapi.py)
    status: int = 200
    body: str | None = None  # schema of the JSON body, checked before the handler runs
    query: str | None = None  # schema of the query parameters, likewise
    errors: tuple[int, ...] = ()  # statuses besides the success and 401 (the control token)

    def serve(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The handler, given its checked body or query."""
        @wraps(self.handler)
        async def serve(request: web.Request) -> web.StreamResponse:
            if self.body is not None:
                return await self.handler(request, await _body(request, self.body))
            if self.query is not None:
                return await self.handler(request, check_query(self.query, request))
            return await self.handler(request)
        return serve


R = Route
ROUTES: tuple[Route, ...] = (
    R("GET", "/", dashboard, "The dashboard (static HTML; exempt from the control token)."),
    R("GET", "/health", health, "Liveness and counters (exempt from the control token).", "Health"),
    R("GET", "/openapi.json", openapi, "This description."),
    R("GET", "/journal", get_journal, "Journal entries, oldest first.", "Journal", query="JournalQuery", errors=(400,)),
    R("DELETE", "/journal", delete_journal, "Forget the namespace's entries (all without a key).", "Deleted"),
    R("GET", "/drift", get_drift, "Drift findings of vidmock proxy: requests the upstream accepted but vidmock "
      "rejects, replies that depart from schemas/responses/ or the model profile; oldest first.", "Drift",
      query="DriftQuery", errors=(400,)),
    R("POST", "/faults", create_fault, "Install a fault.", "Fault", status=201, body="FaultSpec", errors=(400,)),
    R("GET", "/faults", list_faults, "The namespace's faults (all without a key).", "Faults"),
    R("DELETE", "/faults", delete_faults, "Remove the namespace's faults (all without a key).", "Deleted"),
    R("GET", "/faults/{faultId}", get_fault, "One fault.", "Fault", errors=(404,)),
    R("DELETE", "/faults/{faultId}", delete_fault, "Remove one fault.", "Deleted", errors=(404,)),
    R("GET", "/scenarios", list_scenarios, "The scenario catalogue (X-Vidmock-Scenario names).", "Scenarios"),
    R("PUT", "/progression", put_progression, "The namespace's default progression policy and result release "
      "(server defaults without a key).", "ProgressionChange", body="ProgressionBody", errors=(400,)),
    R("GET", "/tasks", list_tasks, "Recent videoInference tasks, newest first.", "Tasks", query="TasksQuery",
      errors=(400,)),
    R("GET", "/tasks/{taskUUID}", get_task, "One task.", "Task", errors=(400, 404)),
    R("GET", "/tasks/{taskUUID}/wait", wait_for_task, "Long-poll until the task is final (success or error, every "
      "generation settled); 408 with the task as it stands on time-out. Not a poll: polls:N and staggered "
      "releases move only with getResponse.", "Task", query="TaskWaitQuery", errors=(400, 404, 408)),
    R("PUT", "/tasks/{taskUUID}/progression", put_task_progression, "One task's progression policy and result "
      "release (may precede the task).", "ProgressionChange", body="ProgressionBody", errors=(400, 404)),
    R("POST", "/tasks/{taskUUID}/complete", complete_task, "Finish a task now, whatever its policy.", "Task",
      errors=(400, 404)),
    R("POST", "/tasks/{taskUUID}/fail", fail_task, "End a task in error now.", "Task", body="FailBody",
      errors=(400, 404)),
    R("GET", "/clock", get_clock, "Server time.", "Clock"),
    R("POST", "/clock/advance", advance_clock, "Move server time forward; time policies settle and media expire "
      "before the reply.", "Clock", body="ClockAdvanceBody", errors=(400,)),
    R("POST", "/reset", reset, "Reset the namespace (everything without a key): every store's state of it.",
      "Reset"),
    R("POST", "/ws/drop", drop_sockets, "Drop a key's WebSocket connections now, or (with on) install the fault "
      "that drops them after its next request of a task type.", "WsDrop", body="WsDropBody", errors=(400,)),
    R("GET", "/deliveries", list_deliveries, "The webhook and upload delivery log, oldest first.", "Deliveries",
      query="DeliveriesQuery", errors=(400,)),
    R("GET", "/deliveries/wait", wait_for_deliveries, "Long-poll until a task's deliveries are final (408 with the "
      "records so far on time-out).", "Deliveries", query="DeliveriesWaitQuery", errors=(400, 404, 408)),
)


def add_control_routes(app: web.Application) -> None:
    for route in ROUTES:
        if route.method == "GET":  # GET also answers HEAD
            app.router.add_get(route.path, route.serve())
        else:
            app.router.add_route(route.method, route.path, route.serve())
