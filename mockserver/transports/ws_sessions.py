"""Every open WebSocket and every authentication session, so replies outlive a dropped socket.

Runware keeps a session for 120 s after its socket goes away: a client that authenticates again
with the session's ``connectionSessionUUID`` gets the replies that could not be delivered in the
meantime. The hub is that buffer, and it carries out drops (a key's sockets closed with 1011 or
aborted): the ones a fault asks for, and ``POST /__mock/ws/drop``'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mockserver.config import WS_IDLE_TIMEOUT, WS_RESUME_WINDOW
from mockserver.contract.vocabulary import DropKind
from mockserver.core.clock import Clock
from mockserver.core.namespaces import forget

log = logging.getLogger(__name__)

DROP_CLOSE_CODE = 1011  # any close but 1000: sdk-python never recovers from a clean close


Pusher = Callable[[Any, tuple, tuple], Awaitable[None]]  # (Reply, findings, secrets) -> journalled, delivered


@dataclass(eq=False)
class Connection:
    """One accepted socket (``exchange.ClientSocket``); ``session`` and ``namespace`` are set once
    the backend authenticated it (``authenticated``).

    A backend that talks to something with a life of its own (a proxy's upstream socket) reaches
    the client through it: ``push`` sends a frame nobody asked for, ``close`` ends the socket.
    """

    ws: web.WebSocketResponse
    request: web.Request
    hub: WebSocketHub  # where its session is kept
    session: Session | None = None
    namespace: str | None = None  # set by a successful authentication; lasts for the connection
    frames: int = 0  # frames received so far
    # the last frame exchanged, received or sent: Runware closes a socket "120 seconds from the last
    # message exchanged", so a client waiting on a slow reply is not idle
    last_frame_at: float = field(default_factory=time.monotonic)
    pusher: Pusher | None = None  # how the transport journals and delivers a pushed frame
    answering: bool = False  # a client frame is being answered: pushes wait for its reply
    pushed: int = 0  # frames pushed so far
    _held: list[tuple[Any, tuple, tuple]] = field(default_factory=list)
    _releasing: bool = False

    @property
    def open(self) -> bool:
        return not self.ws.closed

    def authenticated(self, namespace: str, requested: object, name: str | None = None) -> str:
        """The backend accepted this socket's key: it now acts as ``namespace``, in the session
        ``requested`` names when that one can be resumed, else a new one (``WebSocketHub.authenticate``)."""
        self.namespace = namespace
        return self.hub.authenticate(self, namespace, requested, name).uuid

    async def push(self, reply: Any, findings: tuple = (), secrets: tuple = ()) -> None:
        """Send a frame the client did not ask for (a ``Reply``), in the order pushed; ``findings``
        and ``secrets`` are what its journal entry gets (``RequestContext``). While a client frame
        is being answered it waits, so it never overtakes that answer (a resumed session's buffered
        replies must follow the authentication reply)."""
        self._held.append((reply, tuple(findings), tuple(secrets)))
        if not self.answering:
            await self.release_pushes()

    async def release_pushes(self) -> None:
        """Deliver the held pushes, oldest first (the transport calls it after each answer)."""
        if self._releasing or self.pusher is None:
            return
        self._releasing = True
        try:
            while self._held and not self.answering:
                await self.pusher(*self._held.pop(0))
        finally:
            self._releasing = False

    async def close(self, code: int, message: bytes = b"") -> None:
        """Close the client's socket with ``code`` (a proxy mirrors its upstream's close)."""
        await self.ws.close(code=code, message=message)

    async def send(self, frames: list[str]) -> list[str]:
        """Send the frames in order; return those that could not be sent."""
        for index, frame in enumerate(frames):
            if not self.open:
                return frames[index:]
            try:
                await self.ws.send_str(frame)
            except ConnectionError:  # the socket went away under the send
                return frames[index:]
            self.last_frame_at = time.monotonic()
        return []

    async def drop(self, how: DropKind) -> None:
        if how == DropKind.ABORT:
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            return
        await self.ws.close(code=DROP_CLOSE_CODE, message=b"vidmock: simulated drop")


@dataclass(eq=False)
class Session:
    uuid: str
    namespace: str
    connections: set[Connection] = field(default_factory=set)
    undelivered: list[str] = field(default_factory=list)  # frames waiting for the client to resume
    detached_at: float | None = None  # when its last socket went away


class WebSocketHub:
    """Sessions and sockets of one server. ``idle_timeout`` and ``resume_window`` are plain
    attributes so tests can shorten them on a running server."""

    def __init__(self, clock: Clock, new_uuid: Callable[[], str], *, resume_window: float = WS_RESUME_WINDOW,
                 idle_timeout: float = WS_IDLE_TIMEOUT) -> None:
        self.clock = clock
        self.new_uuid = new_uuid
        self.resume_window = resume_window
        self.idle_timeout = idle_timeout
        self._connections: set[Connection] = set()
        self._sessions: dict[str, Session] = {}
        self._counts = {"resumed_sessions": 0, "dropped_sockets": 0}

    # -- sockets and sessions ---------------------------------------------------------------------

    def register(self, connection: Connection) -> None:
        self._connections.add(connection)

    def unregister(self, connection: Connection) -> None:
        """The socket is closed: forget it; its session starts its resume window."""
        self._connections.discard(connection)
        self.detach(connection)

    def authenticate(self, connection: Connection, namespace: str, requested_uuid: object,
                     name: str | None = None) -> Session:
        """Attach the socket to the session it asks to resume, when that session is this key's and
        still alive; otherwise to a new session, named ``name`` when the backend names sessions (a
        proxy: the upstream's connectionSessionUUID), else a fresh UUID."""
        self._forget_expired()
        session = self._sessions.get(requested_uuid) if isinstance(requested_uuid, str) else None
        if session is None or session.namespace != namespace:
            session = Session(name or self.new_uuid(), namespace)
            self._sessions[session.uuid] = session
        else:
            self._counts["resumed_sessions"] += 1
        self.detach(connection)
        connection.session = session
        session.connections.add(connection)
        session.detached_at = None
        return session

    def detach(self, connection: Connection) -> None:
        """Take the socket out of its session (it closed, or authenticated again)."""
        session, connection.session = connection.session, None
        if session is None:
            return
        session.connections.discard(connection)
        if not session.connections:
            session.detached_at = self.clock.now()

    def _forget_expired(self) -> None:
        now = self.clock.now()
        expired = [uuid for uuid, session in self._sessions.items()
                   if session.detached_at is not None and now - session.detached_at > self.resume_window]
        for uuid in expired:
            del self._sessions[uuid]

    # -- delivery ---------------------------------------------------------------------------------

    async def deliver(self, connection: Connection, frames: list[str]) -> None:
        """Send on the socket the request came on, else on another socket of its session, else keep
        the frames for a resume. Replies of a socket that never authenticated have nowhere to go."""
        left = await connection.send(frames)
        session = connection.session
        for other in list(session.connections) if session else []:
            if not left:
                return
            if other is not connection:
                left = await other.send(left)
        if left and session is not None:
            session.undelivered.extend(left)
        elif left:
            log.info("dropped %d reply frame(s) of an unauthenticated socket that closed", len(left))

    async def flush(self, connection: Connection) -> None:
        """Hand a resumed session's undelivered frames to its new socket."""
        session = connection.session
        if session is not None and session.undelivered:
            frames, session.undelivered = session.undelivered, []
            session.undelivered.extend(await connection.send(frames))

    # -- drops ------------------------------------------------------------------------------------

    async def drop(self, namespace: str, how: DropKind) -> int:
        """Close (code 1011) or abort (TCP reset, no close frame) every socket of a key; returns
        how many. Their sessions stay resumable, as after a real network failure."""
        how = DropKind(how)
        targets = [connection for connection in self._connections
                   if connection.session is not None and connection.session.namespace == namespace]
        await asyncio.gather(*(connection.drop(how) for connection in targets), return_exceptions=True)
        self._counts["dropped_sockets"] += len(targets)
        return len(targets)

    def reset(self, namespace: str | None = None) -> int:
        """Forget a key's sessions (all when None) with their undelivered frames; returns how many.
        Open sockets stay open; a resume of a forgotten session starts a new one."""
        return len(forget(self._sessions, namespace, lambda _, session: session.namespace))

    # -- idle sockets -------------------------------------------------------------------------------

    async def close_idle_sockets(self) -> None:
        """Close (1000, "idle timeout") every socket with no frame either way for longer than
        ``idle_timeout``; a housekeeping chore, so a frame costs one clock read rather than a timer."""
        now = time.monotonic()
        idle = [c for c in self._connections if c.open and now - c.last_frame_at > self.idle_timeout]
        await asyncio.gather(*(c.ws.close(message=b"idle timeout") for c in idle), return_exceptions=True)

    async def close_all(self) -> None:
        """Server shutdown: close every socket with 1001 (going away) so clients reconnect later."""
        await asyncio.gather(*(connection.ws.close(code=1001, message=b"server shutdown")
                               for connection in list(self._connections)), return_exceptions=True)

    def stats(self) -> dict:
        return {"sessions": len(self._sessions),
                "sockets": len(self._connections),
                "undelivered_frames": sum(len(session.undelivered) for session in self._sessions.values()),
                **self._counts}
