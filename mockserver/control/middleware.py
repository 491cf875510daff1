"""Where the control plane meets the transports: an aiohttp middleware for HTTP and a hook for
each WebSocket frame.

The middleware guards ``/__mock/`` with the optional control token, reads the scenario header,
journals every ``POST /v1`` with its reply and carries out the connection-level faults the
dispatcher wrapper chose (reset, malformed body, truncated body). ``journal_frame`` does the
journalling for one inbound WebSocket frame.
"""

from __future__ import annotations

import hmac
import json
import socket
import struct
import time
from collections.abc import Awaitable
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from mockserver.control.exchange import CURRENT, SOCKET, Exchange, SocketInfo
from mockserver.control.faults import Fault
from mockserver.control.journal import JournalEntry, redact_headers, scrub
from mockserver.control.plane import ControlPlane
from mockserver.control.scenarios import HEADER, QUERY, split_names
from mockserver.dispatcher import RequestContext
from mockserver.errors import RunwareError
from mockserver.protocol import Reply, decode_tasks
from mockserver.state import CONTROL
from mockserver.transport_rest import EnvelopeResponse, bearer_key

CONTROL_PREFIX = "/__mock/"
TOKEN_HEADER = "X-Vidmock-Control-Token"
OPEN_ROUTES = {("GET", "/__mock/health"), ("GET", "/__mock/")}  # health, and the static dashboard page
API_PATH = "/v1"
MALFORMED_BODY = b'{"data": [{"taskType": "videoInference", "taskUUID": '  # cut mid-object: not JSON
TRUNCATED_EXTRA_BYTES = 64  # how many bytes Content-Length promises beyond those sent


def error_response(error: RunwareError, headers: dict[str, str] | None = None) -> web.Response:
    """A Runware error envelope with the error's own status."""
    return web.json_response({"errors": [error.to_wire()]}, status=error.http_status, headers=headers)


def control_middleware(plane: ControlPlane):
    @web.middleware
    async def control(request: web.Request, handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            if not _token_ok(plane, request):
                return error_response(RunwareError(
                    "invalidControlToken", f"The control API needs the header {TOKEN_HEADER} with the token the "
                    "server was started with (--control-token / VIDMOCK_CONTROL_TOKEN)."))
            try:
                return await handler(request)
            except RunwareError as error:  # a control route refusing its input
                return error_response(error)
        if request.path != API_PATH:
            return await handler(request)
        names = split_names(request.headers.get(HEADER), request.query.get(QUERY) if request.method == "GET" else None)
        if request.method == "GET":
            return await _serve_socket(plane, request, handler, names)
        return await _journal_rest(plane, request, handler, names)

    return control


def _token_ok(plane: ControlPlane, request: web.Request) -> bool:
    if plane.control_token is None or (request.method, request.path) in OPEN_ROUTES:
        return True
    given = request.headers.get(TOKEN_HEADER, "")
    return hmac.compare_digest(given.encode(), plane.control_token.encode())


async def _serve_socket(plane: ControlPlane, request: web.Request, handler, names: tuple[str, ...]):
    """Check the connection's scenarios at the upgrade, then serve the socket with them in force."""
    try:
        plane.scenarios.check(names)
    except RunwareError as error:
        return error_response(error)
    token = SOCKET.set(SocketInfo(names, request.remote, request.path_qs))
    try:
        return await handler(request)
    finally:
        SOCKET.reset(token)


async def _journal_rest(plane: ControlPlane, request: web.Request, handler, names: tuple[str, ...]):
    started = time.perf_counter()
    entry = _new_entry(plane, "rest")
    entry.namespace = bearer_key(request.headers.get("Authorization")) or None
    entry.remote, entry.method, entry.path = request.remote, request.method, request.path_qs
    entry.body_bytes = request.content_length
    entry.headers = redact_headers(request.headers.items())
    entry.scenarios = list(names)
    try:
        plane.scenarios.check(names)
    except RunwareError as error:
        response = error_response(error)
        _record_response(entry, response)
    else:
        exchange = Exchange(entry, names)
        token = CURRENT.set(exchange)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        finally:
            CURRENT.reset(token)
        response.headers.update(exchange.extra_headers)
        if exchange.transport_fault is None:
            _record_response(entry, response)
        else:
            response = await _carry_out(exchange.transport_fault, request, response, entry)
    entry.duration_ms = (time.perf_counter() - started) * 1000
    plane.journal.add(entry)
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _record_response(entry: JournalEntry, response: web.StreamResponse) -> None:
    entry.response_status = response.status
    entry.response_headers = dict(response.headers)
    entry.response_body = _body_of(response)


async def _carry_out(fault: Fault, request: web.Request, response: web.Response, entry: JournalEntry):
    """Break the reply the way the fault says; the journal records what actually went out."""
    if fault.action == "malformed":
        malformed = web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
        _record_response(entry, malformed)
        return malformed
    if fault.action == "reset":
        _reset_connection(request)
        return response  # never written (the connection is gone); the journal shows no response
    body = response.body if isinstance(response.body, bytes) else b""
    sent = body[: len(body) // 2]
    truncated = web.StreamResponse(status=response.status, headers={
        "Content-Type": "application/json", "Content-Length": str(len(body) + TRUNCATED_EXTRA_BYTES)})
    await truncated.prepare(request)
    await truncated.write(sent)
    entry.response_status, entry.response_headers = truncated.status, dict(truncated.headers)
    entry.response_body = sent.decode("utf-8", "replace")
    if request.transport is not None:
        request.transport.close()  # after the bytes above are flushed
    return truncated


def _reset_connection(request: web.Request) -> None:
    """Abort with SO_LINGER 0: the peer gets a TCP RST, not an orderly close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _body_of(response: web.StreamResponse) -> Any:
    if isinstance(response, EnvelopeResponse):
        return response.envelope
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        return getattr(response, "text", None)
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


async def journal_frame(app: web.Application, ctx: RequestContext, message: WSMessage,
                        reply: Awaitable[Reply]) -> Reply:
    """Await the reply to one inbound WebSocket frame, journalling the frame and that reply."""
    plane = app[CONTROL]
    socket_info = SOCKET.get() or SocketInfo((), None, API_PATH)
    started = time.perf_counter()
    entry = _new_entry(plane, "ws")
    entry.namespace, entry.remote, entry.path = ctx.api_key, socket_info.remote, socket_info.path
    entry.body_bytes = len(message.data) if isinstance(message.data, (bytes, str)) else None
    entry.scenarios = list(socket_info.scenario_names)
    token = CURRENT.set(Exchange(entry, socket_info.scenario_names))
    try:
        result = await reply
    finally:
        CURRENT.reset(token)
    if not entry.has_tasks:
        _record_undispatched(entry, message)
    entry.response_body = result.envelope()
    entry.duration_ms = (time.perf_counter() - started) * 1000
    plane.journal.add(entry)
    return result


def _record_undispatched(entry: JournalEntry, message: WSMessage) -> None:
    """A frame the dispatcher never saw (malformed, binary, before authentication)."""
    if message.type is not WSMsgType.TEXT:
        entry.raw_body = f"<{message.type.name.lower()} frame of {len(message.data or b'')} bytes>"
        return
    try:
        entry.record_tasks(decode_tasks(message.data))
    except RunwareError:
        text = message.data.decode("utf-8", "replace") if isinstance(message.data, bytes) else str(message.data)
        entry.raw_body = scrub(text)


def _new_entry(plane: ControlPlane, transport: str) -> JournalEntry:
    return JournalEntry(transport=transport, received_at=plane.clock.now(), received_wall=time.time())
