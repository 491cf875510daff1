"""The replayer: a backend that answers from a recording (``vidmock serve --replay FILE``).

A recording (``mockserver.traffic.recording``) is cut into *stories*, one per task a client submitted: the
reply that acknowledged it, then the replies to each poll of it, in the order they came. A task
that equals a recorded one except for its ``taskUUID`` is told its story: the ack, then one poll
reply per ``getResponse`` (the last one again once they run out), with the client's taskUUID
written in and every ``videoURL`` pointing at this server. The videos are the recorded files
(``--replay-media``, what ``vidmock proxy --record-media`` downloaded) or, without them,
placeholders of the recorded size made by the normal synthesizer, so a replay serves the same
videoUUIDs, seeds and costs the upstream gave.

Everything else (authentication, pings, tasks with no recording) goes to the mock; with
``--replay-strict`` an unrecorded videoInference or imageUpload is refused (``recordingNotFound``).
Identical tasks recorded several times are told in turn, per API key.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from mockserver.backends.mock import MockBackend
from mockserver.backends.policy import unauthenticated_frame
from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import (Reply, bearer_key, error_items, is_authentication, leading_api_key,
                                          wire_envelope)
from mockserver.contract.vocabulary import TaskType
from mockserver.core.namespaces import forget
from mockserver.exchange import RequestContext
from mockserver.jobs.store import JobStore
from mockserver.media.sizing import resolve_size
from mockserver.media.store import MediaStore, media_url
from mockserver.media.synth import CONTAINERS, Synthesizer, VideoSpec
from mockserver.state import CONFIG, HEALTH_SOURCES, JOBS, MEDIA, STORES, SYNTHESIZER
from mockserver.traffic.recording import Recording, read_recording
from mockserver.traffic.redaction import redact
from mockserver.validation import validate_task, with_defaults

log = logging.getLogger(__name__)

REPLAYED_TYPES = (TaskType.VIDEO_INFERENCE, TaskType.IMAGE_UPLOAD)  # submits with a story; getResponse follows one


@dataclass
class Part:
    """What one recorded reply said about one task."""

    data: list[dict]
    errors: list[dict]
    status: int | None


@dataclass
class Story:
    """A recorded task and the replies about it, in recorded order."""

    task: dict  # as recorded (keys redacted)
    ack: Part
    polls: list[Part] = field(default_factory=list)
    media: dict[str, dict] = field(default_factory=dict)  # videoUUID -> recorded facts and file


@dataclass
class Telling:
    """A story being told to one client task."""

    story: Story
    polls: int = 0


def replay_key(task: dict, secrets: tuple[str, ...] = ()) -> str:
    """What makes two tasks "the same request": everything but the taskUUID, keys redacted."""
    rest = {name: value for name, value in task.items() if name != "taskUUID"}
    return json.dumps(redact(rest, secrets), sort_keys=True, separators=(",", ":"))


def stories_of(recording: Recording) -> dict[str, list[Story]]:
    """The recording's stories by ``replay_key``, in recorded order."""
    stories: dict[str, list[Story]] = {}
    by_uuid: dict[str, Story] = {}
    for exchange in recording.exchanges:
        if exchange.body is None:
            continue  # a frame that got no answer
        if exchange.tasks is None:  # pushed by the upstream: a late or resumed reply
            for uuid, story in by_uuid.items():
                part = _part(exchange.body, uuid, exchange.status)
                if part.data or part.errors:
                    story.polls.append(part)
                    story.media.update(exchange.media)
            continue
        for task in exchange.tasks:
            if not isinstance(task, dict) or not isinstance(task.get("taskUUID"), str):
                continue
            uuid = task["taskUUID"]
            if task.get("taskType") in REPLAYED_TYPES:
                story = Story(task, _part(exchange.body, uuid, exchange.status), media=dict(exchange.media))
                by_uuid[uuid] = story
                stories.setdefault(replay_key(task), []).append(story)
            elif task.get("taskType") == TaskType.GET_RESPONSE and uuid in by_uuid:
                by_uuid[uuid].polls.append(_part(exchange.body, uuid, exchange.status))
                by_uuid[uuid].media.update(exchange.media)
    return stories


class ReplayBackend:
    def __init__(self, recording: Recording, mock: MockBackend, jobs: JobStore, media: MediaStore,
                 synthesizer: Synthesizer, *, media_dir: Path | None, strict: bool, default_ttl: int) -> None:
        self.stories = stories_of(recording)
        self.mock = mock
        self.jobs = jobs
        self.media = media
        self.synthesizer = synthesizer
        self.media_dir = media_dir
        self.strict = strict
        self.default_ttl = default_ttl
        self._tellings: dict[tuple[str, str], Telling] = {}  # (namespace, client taskUUID)
        self._turns: dict[tuple[str, str], int] = {}  # (namespace, key): stories of that key told so far
        self.counts = {"replayed": 0, "fellBack": 0, "refused": 0}

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        refused = unauthenticated_frame(tasks, ctx)
        if refused is not None:
            return refused
        namespace = leading_api_key(tasks) if tasks and is_authentication(tasks[0]) else ctx.api_key
        if not any(self._told(task, namespace, ctx) for task in tasks):
            if any(isinstance(task, dict) and task.get("taskType") in (*REPLAYED_TYPES, TaskType.GET_RESPONSE) for task in tasks):
                self.counts["fellBack"] += 1
            return await self.mock.handle(tasks, ctx)
        data: list[dict] = []
        if is_authentication(tasks[0]):  # the mock decides the key and the session
            answer = await self.mock.handle(tasks[:1], ctx)
            if answer.errors:
                return answer
            data, tasks = list(answer.data), tasks[1:]
        elif (answer := await self.mock.handle([], ctx)).errors:  # no key, or one it does not accept
            return answer
        errors: list[dict] = []
        statuses: list[int] = []
        violations: dict[int, list[RunwareError]] = {}
        offset = len(data)
        for index, task in enumerate(tasks, start=offset):
            part = await self._tell(task, ctx.api_key or "", ctx)
            if part is not None:
                data += part.data
                errors += part.errors
                statuses += [part.status or 400] if part.errors and not part.data else []
                continue
            answer = await self.mock.handle([task], ctx)
            data += answer.data
            errors += error_items(answer.errors, ctx.transport)
            statuses += [error.http_status for error in answer.errors]
            violations.update({index: found for found in answer.violations.values()})
        return Reply.relay(wire_envelope(data, errors, ctx.transport), 200 if data or not statuses else statuses[0],
                           violations)

    async def socket_closed(self, connection: Any) -> None:
        await self.mock.socket_closed(connection)

    def reset(self, namespace: str | None = None) -> int:
        forget(self._turns, namespace, lambda key, _: key[0])
        return len(forget(self._tellings, namespace, lambda key, _: key[0]))

    def stats(self) -> dict:
        return {"stories": sum(len(stories) for stories in self.stories.values()), "tellings": len(self._tellings),
                **self.counts}

    # -- telling --------------------------------------------------------------------------------------

    def _told(self, task: Any, namespace: str | None, ctx: RequestContext) -> bool:
        """Whether the task is answered from the recording (or, strict, refused for lack of one)."""
        if not isinstance(task, dict):
            return False
        if task.get("taskType") == TaskType.GET_RESPONSE:
            return (namespace or "", task.get("taskUUID")) in self._tellings
        if task.get("taskType") in REPLAYED_TYPES:
            return self.strict or replay_key(task, _client_keys(ctx)) in self.stories
        return False

    async def _tell(self, task: Any, namespace: str, ctx: RequestContext) -> Part | None:
        """The recorded answer to one task, rewritten for this client; None: the mock answers."""
        if not self._told(task, namespace, ctx):
            return None
        uuid = task.get("taskUUID")
        if task["taskType"] == TaskType.GET_RESPONSE:
            telling = self._tellings[(namespace, uuid)]
            polls = telling.story.polls
            if not polls:
                return None
            part = polls[min(telling.polls, len(polls) - 1)]
            telling.polls += 1
            return await self._rewritten(part, telling.story, uuid, ctx)
        key = replay_key(task, _client_keys(ctx))
        stories = self.stories.get(key)
        if not stories:  # strict: nothing recorded for this task
            self.counts["refused"] += 1
            return Part([], [RunwareError("recordingNotFound", "vidmock is replaying a recording (--replay-strict) "
                                          "that holds no request with this task, taskUUID aside.").for_task(task)
                             .to_wire()], 404)
        try:
            self.jobs.claim_task_uuid(namespace, uuid, task["taskType"])
        except RunwareError as error:
            return Part([], [error.to_wire()], error.http_status)
        turn = self._turns.get((namespace, key), 0)
        self._turns[(namespace, key)] = turn + 1
        story = stories[turn % len(stories)]
        self._tellings[(namespace, uuid)] = Telling(story)
        self.counts["replayed"] += 1
        return await self._rewritten(story.ack, story, uuid, ctx)

    async def _rewritten(self, part: Part, story: Story, uuid: str, ctx: RequestContext) -> Part:
        data = [await self._item(item, story, uuid, ctx) for item in copy.deepcopy(part.data)]
        errors = copy.deepcopy(part.errors)
        for error in errors:
            error["taskUUID"] = uuid
        return Part(data, errors, part.status)

    async def _item(self, item: dict, story: Story, uuid: str, ctx: RequestContext) -> dict:
        item["taskUUID"] = uuid
        if item.get("status") == "success" and isinstance(item.get("videoUUID"), str):
            extension = await self._serve_video(item, story, ctx.api_key or "")
            if extension is not None:
                item["videoURL"] = media_url(ctx.base_url, item["videoUUID"], extension)
        return item

    async def _serve_video(self, item: dict, story: Story, namespace: str) -> str | None:
        """Make the recorded video downloadable here: the recorded file, else a placeholder of the
        recorded size. Returns its extension (None: it cannot be made)."""
        video_uuid = item["videoUUID"]
        task = story.task
        ttl = task.get("ttl") if isinstance(task.get("ttl"), int) else self.default_ttl
        recorded = story.media.get(video_uuid, {})
        extension = _extension(item.get("videoURL"), task)
        existing = self.media.lookup(f"{video_uuid}.{extension}")
        if existing is not None:
            self.media.start_ttl(video_uuid, ttl)
            return extension
        file = self._recorded_file(video_uuid, recorded)
        if file is not None:
            extension = file.suffix.lstrip(".")
            self.media.add_file(namespace, video_uuid, extension, file)
        else:
            spec = _placeholder(task, recorded, item.get("seed"))
            if spec is None:
                return None
            rendered = await self.synthesizer.render_file(spec)
            extension = spec.extension()
            self.media.add_file(namespace, video_uuid, extension, rendered.path, rendered.size)
        self.media.start_ttl(video_uuid, ttl)
        return extension

    def _recorded_file(self, video_uuid: str, recorded: dict) -> Path | None:
        if self.media_dir is None:
            return None
        named = self.media_dir / str(recorded.get("file", ""))
        if recorded.get("file") and named.is_file():
            return named
        return next(iter(sorted(self.media_dir.glob(f"{video_uuid}.*"))), None)


def _part(body: Any, uuid: str, status: int | None) -> Part:
    data = body.get("data") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    return Part([item for item in data or [] if isinstance(item, dict) and item.get("taskUUID") == uuid],
                [item for item in errors or [] if isinstance(item, dict) and item.get("taskUUID") == uuid], status)


def _placeholder(task: dict, recorded: dict, seed: Any) -> VideoSpec | None:
    """The synthesizer's spec for a recorded result without its file: the recorded size (probed
    when the proxy downloaded it, else the size the task asks for)."""
    if validate_task(task):
        return None
    filled = with_defaults(task)
    width, height = resolve_size(filled, lambda _uuid: None)
    if isinstance(recorded.get("width"), int) and isinstance(recorded.get("height"), int):
        width, height = recorded["width"], recorded["height"]
    return VideoSpec(width=width, height=height, duration=filled["duration"], output_format=filled["outputFormat"],
                     quality=filled["outputQuality"], audio=filled["settings"]["audio"],
                     seed=seed if isinstance(seed, int) else 0)


def _extension(url: Any, task: dict) -> str:
    suffix = Path(urlsplit(url).path).suffix.lstrip(".").lower() if isinstance(url, str) else ""
    if suffix in {container.extension for container in CONTAINERS.values()}:
        return suffix
    output_format = task.get("outputFormat") if task.get("outputFormat") in CONTAINERS else "MP4"
    return CONTAINERS[output_format].extension


def _client_keys(ctx: RequestContext) -> tuple[str, ...]:
    """The client's key, redacted from its tasks as the recorder redacted the recorded ones."""
    keys = {ctx.api_key or "", bearer_key(ctx.headers.get("Authorization")) or "", leading_api_key(ctx.tasks) or ""}
    return tuple(key for key in keys if key)


def install_replay(app: web.Application, mock: MockBackend) -> ReplayBackend:
    """The replayer for ``app``'s config (``replay``, ``replay_media``, ``replay_strict``)."""
    config = app[CONFIG]
    replay = ReplayBackend(read_recording(config.replay), mock, app[JOBS], app[MEDIA], app[SYNTHESIZER],
                           media_dir=config.replay_media, strict=config.replay_strict, default_ttl=config.ttl)
    app[STORES]["replays"] = replay
    app[HEALTH_SOURCES]["replay"] = replay.stats
    return replay
