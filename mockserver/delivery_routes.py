"""``/__mock/deliveries``: the delivery log, and a long-poll that returns once deliveries are final.

Like every ``/__mock/`` endpoint (``control/conventions.py``), the key in ``Authorization: Bearer
KEY`` or ``?apiKey=KEY`` scopes the answer to that key's namespace; without one, every namespace is
visible, and a bad query gets a Runware ``invalidControlRequest``.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.control.conventions import bad_control_request, namespace_of
from mockserver.delivery import KINDS, STATES, DeliveryRecord, DeliveryWaitTimeout
from mockserver.state import DELIVERY

MAX_WAIT = 300.0  # seconds a wait request may hold the connection
DEFAULT_WAIT = 10.0


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise bad_control_request(f"{name} must be one of {', '.join(allowed)}")
    return value


def _number(request: web.Request, name: str, kind: type, default: float, low: float, high: float):
    raw = request.query.get(name)
    try:
        value = kind(raw) if raw is not None else default
    except ValueError:
        raise bad_control_request(f"{name} must be a number") from None
    if not low <= value <= high:
        raise bad_control_request(f"{name} must be within {low:g}..{high:g}")
    return value


def _listing(records: list[DeliveryRecord], status: int = 200) -> web.Response:
    return web.json_response({"deliveries": [record.to_json() for record in records]}, status=status)


async def list_deliveries(request: web.Request) -> web.Response:
    """``GET /__mock/deliveries[?taskUUID=&kind=webhook|upload&state=...]``, oldest first."""
    records = request.app[DELIVERY].records(
        namespace_of(request), request.query.get("taskUUID"), _choice(request, "kind", KINDS),
        _choice(request, "state", STATES))
    return _listing(records)


async def wait_for_deliveries(request: web.Request) -> web.Response:
    """``GET /__mock/deliveries/wait?taskUUID=X[&kind=][&count=1][&timeout=10]``: 200 with the final
    records as soon as ``count`` are final, else 408 with every matching record."""
    task_uuid = request.query.get("taskUUID")
    if not task_uuid:
        raise bad_control_request("taskUUID is required")
    kind = _choice(request, "kind", KINDS)
    count = _number(request, "count", int, 1, 1, 10_000)
    timeout = _number(request, "timeout", float, DEFAULT_WAIT, 0, MAX_WAIT)
    try:
        records = await request.app[DELIVERY].wait_for(namespace_of(request), task_uuid, kind, count, timeout)
    except DeliveryWaitTimeout as timed_out:
        return _listing(timed_out.records, status=408)
    return _listing(records)


def add_delivery_routes(app: web.Application) -> None:
    app.router.add_get("/__mock/deliveries", list_deliveries)
    app.router.add_get("/__mock/deliveries/wait", wait_for_deliveries)
