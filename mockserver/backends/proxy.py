"""The proxy: a backend that forwards every request to a real upstream and judges the traffic.

``vidmock proxy`` puts it behind the same transports, hooks, journal and faults as the mock, so a
client sees what it would see from the upstream, unchanged (status, body, ``Retry-After``), and
the control plane sees every exchange plus the drift found in it (``mockserver.traffic.drift``).

    REST       one POST upstream per client POST, with the client's own Authorization header.
    WebSocket  one upstream socket per client socket, opened at the client's first frame that
               reaches the backend (its authentication). A client frame is sent upstream and its
               answer awaited: the upstream frame that names one of its taskUUIDs (or answers its
               authentication or ping). Every other upstream frame (a resumed session's buffered
               replies, a late answer) is pushed to the client as it comes (``Connection.push``),
               never ahead of the answer being awaited. The client keeps the upstream's
               ``connectionSessionUUID`` (``ClientSocket.authenticated`` with its name); when the upstream closes its
               socket, the client's socket is closed with the same code, so the client resumes
               through the proxy and the upstream delivers what it kept.

Keys: the client's key is forwarded and used for nothing else. The namespace its traffic is
filed under is a fingerprint (``key-...``), recordings and the journal get redacted copies, and
nothing here logs a header or a body.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import WSMsgType, web

from mockserver.backends.policy import unauthenticated_frame
from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import AUTH, SCENARIO_QUERY, Reply, bearer_key, is_authentication, leading_api_key
from mockserver.contract.vocabulary import DropKind, TaskType, Transport
from mockserver.exchange import HOOKS, RequestContext
from mockserver.media.video_probe import probe_video
from mockserver.state import CONFIG, HEALTH_SOURCES
from mockserver.traffic.drift import MEDIA_TOLERANCES, DriftJudge, Finding, DriftCode, REPLY, verdicts_of
from mockserver.traffic.reach import OFFLINE_VARIABLE, is_loopback_url, offline
from mockserver.traffic.recording import Recorder
from mockserver.traffic.redaction import key_fingerprint, redact_headers, redact_url

log = logging.getLogger(__name__)

RUNWARE_REST = "https://api.runware.ai/v1"  # Runware's production endpoints: the documented default
RUNWARE_WS = "wss://ws-api.runware.ai/v1"
FORWARDED_HEADERS = frozenset({"authorization", "user-agent", "accept", "x-sdk-name", "x-sdk-version"})
PASSED_BACK_HEADERS = ("Retry-After",)  # upstream reply headers a client acts on
RECORDED_HEADERS = frozenset({"user-agent", "x-sdk-name", "x-sdk-version", "authorization"})
DRY_RUN_HEADER = "X-Runware-Dry-Run"
ABNORMAL_CLOSE = 1006  # no close frame: the upstream's connection broke


class UpstreamRefused(ValueError):
    """The proxy may not use this upstream (``VIDMOCK_OFFLINE=1`` and not a loopback address)."""


def socket_url(upstream: str) -> str:
    """The upstream's WebSocket URL: Runware's own for its REST endpoint, else the same URL with
    ws(s) for http(s)."""
    if upstream.rstrip("/") == RUNWARE_REST:
        return RUNWARE_WS
    parts = urlsplit(upstream)
    return urlunsplit((("wss" if parts.scheme == "https" else "ws"), *parts[1:]))


def check_upstreams(urls: list[str], environ: Mapping[str, str]) -> None:
    """Under ``VIDMOCK_OFFLINE=1`` (vidmock's own tests) only loopback upstreams are allowed, so
    nothing can reach Runware's real hosts by mistake."""
    if offline(environ):
        for url in urls:
            if not is_loopback_url(url):
                raise UpstreamRefused(f"{OFFLINE_VARIABLE} is set: the proxy only talks to 127.0.0.1/localhost, "
                                      f"not {redact_url(url)}")


@dataclass
class ProxyStats:
    requests: int = 0  # requests and frames forwarded
    upstreamSockets: int = 0  # noqa: N815 - opened so far; named as /__mock/health shows it
    failures: int = 0  # answered with the proxy's own error
    recorded: int = 0  # lines written to --record
    media: int = 0  # videos downloaded into --record-media


@dataclass(eq=False)
class UpstreamLink:
    """One client socket's socket to the upstream, and the client frame awaiting its answer."""

    number: int
    ws: aiohttp.ClientWebSocketResponse
    connection: Any  # the client's (``ClientSocket``)
    secrets: set[str] = field(default_factory=set)  # keys seen on this socket: redacted in recordings
    waiting: tuple[list, asyncio.Future] | None = None
    reader: asyncio.Task | None = None
    closing: bool = False  # we closed it (the client left): nothing to mirror


class ProxyBackend:
    def __init__(self, upstream: str, upstream_ws: str, *, timeout: float, judge: DriftJudge | None = None,
                 recorder: Recorder | None = None, media_dir: Path | None = None, offline: bool = False) -> None:
        self.upstream = upstream
        self.upstream_ws = upstream_ws
        self.timeout = timeout
        self.judge = judge or DriftJudge()
        self.recorder = recorder
        self.media_dir = media_dir
        self.offline = offline
        self.stats = ProxyStats()
        self.session: aiohttp.ClientSession | None = None
        self._links: dict[Any, UpstreamLink] = {}
        self._link_numbers = itertools.count(1)
        self._media: dict[str, dict] = {}  # videoUUID -> what --record-media found

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(auto_decompress=True)

    async def close(self) -> None:
        for link in list(self._links.values()):
            await self._close_link(link)
        if self.session is not None:
            await self.session.close()
        if self.recorder is not None:
            self.recorder.close()

    def health(self) -> dict:
        return {"upstream": redact_url(self.upstream), "upstreamWs": redact_url(self.upstream_ws),
                "openUpstreamSockets": len(self._links), **self.stats.__dict__}

    # -- the namespace, before anything else sees the request --------------------------------------

    async def name_namespace(self, ctx: RequestContext) -> None:
        """A ``before_backend`` hook installed first: the request's namespace becomes its key's
        fingerprint, and the key a secret the journal redacts, so faults, the journal and the
        drift log never hold a real key."""
        link = self._links.get(ctx.connection) if ctx.connection is not None else None
        ctx.secrets = tuple(_request_keys(ctx, ctx.tasks or []) | (link.secrets if link else set()))
        key = leading_api_key(ctx.tasks) if ctx.tasks and is_authentication(ctx.tasks[0]) else None
        if key is None and ctx.tasks and is_authentication(ctx.tasks[0]):
            key = ""
        if key is not None:
            ctx.api_key = key_fingerprint(key)
        elif ctx.api_key is not None and ctx.transport is Transport.REST:
            ctx.api_key = key_fingerprint(ctx.api_key)
        return None

    # -- Backend ------------------------------------------------------------------------------------

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        refused = unauthenticated_frame(tasks, ctx)
        if refused is not None:
            return refused
        self.stats.requests += 1
        verdicts = verdicts_of(tasks)
        if ctx.transport is Transport.REST:
            return await self._rest(tasks, ctx, verdicts)
        return await self._frame(tasks, ctx, verdicts)

    async def socket_closed(self, connection: Any) -> None:
        link = self._links.pop(connection, None)
        if link is not None:
            await self._close_link(link)

    # -- REST ---------------------------------------------------------------------------------------

    async def _rest(self, tasks: list, ctx: RequestContext, verdicts: dict) -> Reply:
        secrets = _request_keys(ctx, tasks)
        headers = {name: value for name, value in ctx.headers.items() if _forwarded(name)}
        headers["Content-Type"] = "application/json"
        sent = time.time()
        try:
            assert self.session is not None, "the proxy was not started"
            async with self.session.post(self.upstream, data=json.dumps(tasks).encode(), headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=self.timeout),
                                         allow_redirects=False) as response:
                text = (await response.read()).decode("utf-8", "replace")
                status = response.status
                passed = {name: response.headers[name] for name in PASSED_BACK_HEADERS if name in response.headers}
        except asyncio.TimeoutError:
            return self._own_error(tasks, "upstreamTimeout",
                                   f"The upstream did not answer within {self.timeout:g} s (--upstream-timeout).")
        except aiohttp.ClientError as exc:
            return self._own_error(tasks, "upstreamUnreachable", f"The upstream could not be reached: "
                                   f"{type(exc).__name__}.")
        received = time.time()
        ctx.response_headers.update(passed)
        request = {"method": "POST", "path": ctx.path, "headers": _recorded_headers(headers), "tasks": tasks}
        body, findings = _decode(text)
        if body is None:
            self._record(Transport.REST, None, request, {"status": status, "headers": passed, "body": text},
                         sent, received, {}, secrets)
            ctx.findings = (*ctx.findings, *findings)
            return self._own_error(tasks, "upstreamInvalidReply", f"The upstream answered HTTP {status} with a "
                                   f"body that is not JSON: {text[:200]!r}.", findings)
        return await self._relay(ctx, tasks, verdicts, body, status, request=request, headers=passed,
                                 sent=sent, received=received, secrets=secrets, dry_run=ctx.dry_run, connection=None)

    # -- WebSocket ------------------------------------------------------------------------------------

    async def _frame(self, tasks: list, ctx: RequestContext, verdicts: dict) -> Reply:
        connection = ctx.connection
        link = self._links.get(connection)
        if link is None or link.ws.closed:
            try:
                link = await self._open(connection, ctx)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                return self._own_error(tasks, "upstreamUnreachable", "The upstream's WebSocket could not be "
                                       f"opened: {type(exc).__name__}.")
        link.secrets |= _request_keys(ctx, tasks)
        ctx.secrets = tuple(link.secrets)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        link.waiting = (tasks, future)
        sent = time.time()
        try:
            await link.ws.send_str(json.dumps(tasks))
            body = await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except (ConnectionError, aiohttp.ClientError):
            body = None
        except asyncio.TimeoutError:
            return self._own_error(tasks, "upstreamTimeout", f"The upstream sent no frame answering this one within "
                                   f"{self.timeout:g} s (--upstream-timeout); a late answer is passed on as it comes.")
        finally:
            link.waiting = None
        request = {"method": None, "path": ctx.path, "headers": {}, "tasks": tasks}
        if body is None:  # the upstream closed first: nothing to relay (its close is mirrored)
            return Reply.relay(None, 200, verdicts)
        body, findings = _decode(body) if isinstance(body, str) else (body, [])
        if body is None:
            ctx.findings = (*ctx.findings, *findings)
            return self._own_error(tasks, "upstreamInvalidReply", "The upstream answered with a frame that is not "
                                   "JSON.", findings)
        reply = await self._relay(ctx, tasks, verdicts, body, 200, request=request, headers={}, sent=sent,
                                  received=time.time(), secrets=link.secrets, dry_run=ctx.dry_run, connection=link)
        if is_authentication(tasks[0]) and reply.data and reply.data[0].get("taskType") == AUTH and ctx.api_key:
            granted = reply.data[0].get("connectionSessionUUID")  # the client keeps the upstream's session
            connection.authenticated(ctx.api_key, granted, name=granted if isinstance(granted, str) else None)
        return reply

    async def _open(self, connection: Any, ctx: RequestContext) -> UpstreamLink:
        assert self.session is not None, "the proxy was not started"
        headers = {name: value for name, value in ctx.headers.items() if _forwarded(name)}
        ws = await self.session.ws_connect(_with_client_query(self.upstream_ws, ctx.path), headers=headers,
                                           timeout=aiohttp.ClientWSTimeout(ws_close=5.0), autoping=True,
                                           max_msg_size=0, heartbeat=None)
        link = UpstreamLink(next(self._link_numbers), ws, connection)
        link.reader = asyncio.create_task(self._read(link))
        self._links[connection] = link
        self.stats.upstreamSockets += 1
        return link

    async def _read(self, link: UpstreamLink) -> None:
        """Every upstream frame: the answer awaited, else pushed to the client as it comes."""
        try:
            async for message in link.ws:
                if message.type is WSMsgType.TEXT:
                    text = message.data
                elif message.type is WSMsgType.BINARY:
                    text = message.data.decode("utf-8", "replace")
                else:
                    break
                body, _ = _decode(text)
                waiting = link.waiting
                if waiting is not None and not waiting[1].done() and _answers(body, waiting[0]):
                    waiting[1].set_result(body if body is not None else text)
                else:
                    await self._unsolicited(link, body, text)
        except Exception:  # a bug must cost this socket, never the server
            log.exception("reading the upstream socket failed")
        finally:
            if link.waiting is not None and not link.waiting[1].done():
                link.waiting[1].set_result(None)
            if not link.closing:
                await self._mirror_close(link)

    async def _unsolicited(self, link: UpstreamLink, body: Any, text: str) -> None:
        namespace = link.connection.namespace
        if body is None:
            findings = [Finding(REPLY, None, DriftCode.NOT_JSON, None, f"An upstream frame is not JSON: {text[:120]!r}.")]
            reply = self._own_error([], "upstreamInvalidReply", "The upstream sent a frame that is not JSON.")
        else:
            findings = self.judge.exchange(namespace, None, body)
            reply = Reply.relay(body, 200)
        self._record(Transport.WS, link.number, None, {"status": None, "headers": {}, "body": body if body is not None
                                                       else text}, None, time.time(), {}, link.secrets)
        await link.connection.push(reply, tuple(findings), tuple(link.secrets))

    async def _mirror_close(self, link: UpstreamLink) -> None:
        """The upstream closed its socket: close the client's the same way, so it resumes."""
        if self._links.get(link.connection) is link:
            del self._links[link.connection]
        code = link.ws.close_code
        try:
            if code is None or code == ABNORMAL_CLOSE:
                await link.connection.drop(DropKind.ABORT)
            else:
                await link.connection.close(code, b"vidmock proxy: the upstream closed the socket")
        except (ConnectionError, RuntimeError):
            pass

    async def _close_link(self, link: UpstreamLink) -> None:
        link.closing = True
        await link.ws.close()
        if link.reader is not None:
            await asyncio.gather(link.reader, return_exceptions=True)

    # -- judging, recording, answering ------------------------------------------------------------------

    async def _relay(self, ctx: RequestContext, tasks: list, verdicts: dict, body: Any, status: int, *,
                     request: dict, headers: dict, sent: float, received: float, secrets: set[str], dry_run: bool,
                     connection: UpstreamLink | None) -> Reply:
        findings = self.judge.exchange(ctx.api_key, tasks, body, verdicts=verdicts, judge_reply=not dry_run)
        media: dict[str, dict] = {}
        if self.media_dir is not None and not dry_run:
            for item in _results(body):
                found, facts = await self._fetch_media(ctx.api_key, item)
                findings += found
                if facts is not None:
                    media[item["videoUUID"]] = facts
        ctx.findings = (*ctx.findings, *findings)
        self._record(ctx.transport, connection.number if connection else None, request,
                     {"status": status if ctx.transport is Transport.REST else None, "headers": headers, "body": body},
                     sent, received, media, secrets)
        return Reply.relay(body, status, verdicts)

    async def _fetch_media(self, namespace: str | None, item: dict) -> tuple[list[Finding], dict | None]:
        """Download one result's video into --record-media (once per videoUUID) and judge it."""
        video_uuid, url, task_uuid = item["videoUUID"], item["videoURL"], item.get("taskUUID")
        if video_uuid in self._media:
            return [], self._media[video_uuid]
        if self.offline and not is_loopback_url(url):
            log.warning("not downloading a video from %s: %s is set", redact_url(url), OFFLINE_VARIABLE)
            return [], None
        extension = Path(urlsplit(url).path).suffix.lstrip(".").lower() or "mp4"
        target = self.media_dir / f"{video_uuid}.{extension}"
        try:
            assert self.session is not None
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                if response.status != 200:
                    return [Finding(REPLY, task_uuid, DriftCode.INVALID_FIELD, "videoURL",
                                    f"Downloading videoURL answered HTTP {response.status}.")], None
                data = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return [Finding(REPLY, task_uuid, DriftCode.INVALID_FIELD, "videoURL",
                            f"videoURL could not be downloaded: {type(exc).__name__}.")], None
        self.media_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(target.write_bytes, data)
        probed = await asyncio.to_thread(probe_video, target)
        facts = {"file": target.name, "bytes": len(data)}
        findings = []
        if probed is None:
            findings.append(Finding(REPLY, task_uuid, DriftCode.INVALID_FIELD, "videoURL",
                                    "The downloaded video cannot be read by ffmpeg."))
        else:
            facts.update(width=probed.width, height=probed.height, fps=probed.fps, duration=probed.duration)
            findings += self.judge.video(namespace, task_uuid or "", probed)
        self._media[video_uuid] = facts
        self.stats.media += 1
        return findings, facts

    def _record(self, transport: Transport, connection: int | None, request: dict | None, reply: dict,
                sent: float | None, received: float | None, media: dict, secrets: set[str]) -> None:
        if self.recorder is None:
            return
        self.recorder.exchange(transport=str(transport), connection=connection, request=request, reply=reply,
                               sent=sent, received=received, media=media, secrets=secrets)
        self.stats.recorded += 1

    def _own_error(self, tasks: list, code: str, message: str, findings: list[Finding] = ()) -> Reply:
        """The proxy's own error (the upstream could not be asked, or its answer was not JSON)."""
        self.stats.failures += 1
        first = next((task for task in tasks if isinstance(task, dict) and not is_authentication(task)),
                     tasks[0] if tasks else None)
        error = RunwareError(code, message)
        if is_authentication(first):
            error.task_type = AUTH
        else:
            error.for_task(first)
        return Reply.of([], [error])


# -- composition ------------------------------------------------------------------------------------

def install_proxy(app: web.Application, environ: Mapping[str, str], version: str = "") -> ProxyBackend:
    """The proxy for ``app``'s config, with its hook, health section and lifetime registered."""
    config = app[CONFIG]
    upstream_ws = config.upstream_ws or socket_url(config.upstream)
    check_upstreams([config.upstream, upstream_ws], environ)
    recorder = (Recorder(config.record, upstream=config.upstream, upstream_ws=upstream_ws, vidmock_version=version)
                if config.record is not None else None)
    proxy = ProxyBackend(config.upstream, upstream_ws, timeout=config.upstream_timeout, recorder=recorder,
                         media_dir=config.record_media, offline=offline(environ),
                         judge=DriftJudge(tolerance=MEDIA_TOLERANCES[config.media_tolerance]))
    app[HOOKS].before_backend.insert(0, proxy.name_namespace)
    app[HEALTH_SOURCES]["proxy"] = proxy.health

    async def lifetime(app: web.Application):
        await proxy.start()
        yield
        await proxy.close()

    app.cleanup_ctx.append(lifetime)
    return proxy


# -- helpers ------------------------------------------------------------------------------------------

def _forwarded(name: str) -> bool:
    lower = name.lower()
    return lower in FORWARDED_HEADERS or lower.startswith("x-runware-")


def _recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return redact_headers((name, value) for name, value in headers.items()
                          if name.lower() in RECORDED_HEADERS or name.lower().startswith("x-runware-"))


def _request_keys(ctx: RequestContext, tasks: list) -> set[str]:
    """The keys a request carries (Bearer header, authentication tasks), to redact from recordings."""
    keys = {bearer_key(ctx.headers.get("Authorization")) or ""}
    keys |= {task["apiKey"] for task in tasks if is_authentication(task) and isinstance(task.get("apiKey"), str)}
    return {key for key in keys if key}


def _decode(text: str) -> tuple[Any, list[Finding]]:
    """(the JSON value, []) or (None, a finding) for a body that is not JSON."""
    try:
        return json.loads(text), []
    except ValueError:
        return None, [Finding(REPLY, None, DriftCode.NOT_JSON, None, f"The reply is not JSON: {text[:120]!r}.")]


def _answers(body: Any, tasks: list) -> bool:
    """Whether an upstream frame answers the client frame ``tasks``: it names one of its
    taskUUIDs, answers its authentication or ping, or is an error that names no task."""
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        return True  # something odd: it can only be about what is pending
    uuids = {task.get("taskUUID") for task in tasks if isinstance(task, dict)} - {None}
    types = {task.get("taskType") for task in tasks if isinstance(task, dict)}
    for key in ("data", "errors"):
        for item in body.get(key) or []:
            if not isinstance(item, dict):
                continue
            uuid = item.get("taskUUID")
            if uuid in uuids:
                return True
            if item.get("taskType") in (AUTH, TaskType.PING) and item.get("taskType") in types and uuid is None:
                return True
            if key == "errors" and uuid is None:
                return True
    return False


def _results(body: Any) -> list[dict]:
    data = body.get("data") if isinstance(body, dict) else None
    return [item for item in data or [] if isinstance(item, dict) and item.get("status") == "success"
            and isinstance(item.get("videoUUID"), str) and isinstance(item.get("videoURL"), str)
            and item["videoURL"].startswith(("http://", "https://"))]


def _with_client_query(url: str, client_path: str) -> str:
    """The upstream socket URL with the client's query string (``dryRun``, ``sdk``...), less
    vidmock's own ``scenario``."""
    client = [(name, value) for name, value in parse_qsl(urlsplit(client_path).query, keep_blank_values=True)
              if name != SCENARIO_QUERY]
    if not client:
        return url
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(client)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
