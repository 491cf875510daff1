"""The mock: the backend that answers every task itself.

``MockBackend.handle`` authenticates the request, then runs each task on its own (validation, then
the task's handler), so one bad task never spoils the others. Journal and faults happen around
``handle`` (``mockserver.exchange``); the one hook inside is ``task_accepted``, called once a
videoInference task is valid and about to become a job, so per-task settings (a scenario's
policy, an injected outcome) are in place before its job can finish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from mockserver.errors import RunwareError
from mockserver.exchange import Hooks, RequestContext
from mockserver.ids import IdSource
from mockserver.jobs import JobStore
from mockserver.protocol import AUTH, Reply, is_authentication
from mockserver.images import UUID_PATTERN
from mockserver.sizing import resolve_size
from mockserver.uploads import UploadStore
from mockserver.validation import validate_task, with_defaults

log = logging.getLogger(__name__)

INVALID_KEY_MESSAGE = "Invalid API key. Get one at https://my.runware.ai/signup"


class MockBackend:
    def __init__(self, jobs: JobStore, uploads: UploadStore, ids: IdSource, api_keys: tuple[str, ...],
                 hooks: Hooks) -> None:
        self.jobs = jobs
        self.uploads = uploads
        self.ids = ids
        self.api_keys = frozenset(api_keys)  # empty: any non-empty key is accepted
        self.hooks = hooks

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        """Run a request's tasks. A leading authentication task sets ``ctx.api_key`` (a WebSocket
        transport keeps it for the connection); an auth failure rejects the whole request."""
        data: list[dict] = []
        if tasks and is_authentication(tasks[0]):
            try:
                ctx.api_key, reply = self._authenticate(tasks[0])
            except RunwareError as error:
                return Reply.of([], [error])
            data.append(reply)
            tasks = tasks[1:]
        elif not self._accepts(ctx.api_key):
            return Reply.of([], [self._key_error(ctx.api_key)])

        errors: list[RunwareError] = []
        violations: dict[int, list[RunwareError]] = {}
        offset = 1 if data else 0
        for index, task in enumerate(tasks, start=offset):
            try:
                for item in await self._run(task, ctx, violations, index):  # a failed generation is an error item
                    (errors if isinstance(item, RunwareError) else data).append(item)
            except RunwareError as error:
                errors.append(error.for_task(task))
            except Exception as exc:  # a bug must cost one task, never the server
                log.exception("task %s failed unexpectedly", index)
                errors.append(RunwareError("internalServerError", f"Unexpected error: {exc!r}").for_task(task))
        return Reply.of(data, errors, violations)

    async def socket_closed(self, connection: Any) -> None:
        """Nothing to release: the mock keeps no per-socket state (sessions are the transport's)."""

    # -- authentication -------------------------------------------------------------------------

    def _authenticate(self, task: dict) -> tuple[str, dict]:
        """(the key, the reply item) of an authentication task; the item never has a taskUUID."""
        key = task.get("apiKey")
        if not isinstance(key, str) or not self._accepts(key):
            raise self._key_error(key if isinstance(key, str) else "")
        found = validate_task(task)
        if found:
            raise found[0]
        session = task.get("connectionSessionUUID") or self.ids.uuid4()  # a resume keeps its session
        return key, {"taskType": AUTH, "connectionSessionUUID": session}

    def _accepts(self, key: str | None) -> bool:
        return bool(key) and (not self.api_keys or key in self.api_keys)

    @staticmethod
    def _key_error(key: str | None) -> RunwareError:
        if key is None:
            return RunwareError("missingApiKey", "Missing API key. Send an Authorization: Bearer <key> header or "
                                "an authentication task first.", parameter="apiKey", task_type=AUTH)
        return RunwareError("invalidApiKey", INVALID_KEY_MESSAGE, parameter="apiKey", task_type=AUTH)

    # -- tasks ------------------------------------------------------------------------------------

    async def _run(self, task: Any, ctx: RequestContext, violations: dict, index: int) -> list[dict | RunwareError]:
        found = validate_task(task)
        if found:
            violations[index] = found
            raise found[0]
        task_type = task["taskType"]
        if task_type == "ping":
            return [{"taskType": "ping", "pong": True, **_echo_uuid(task)}]
        if task_type == AUTH:  # not the leading one: answered, but the request keeps its namespace
            return [self._authenticate(task)[1]]
        if task_type == "getResponse":
            return self._get_response(task, ctx)
        if task_type == "imageUpload":
            return [await self._image_upload(task, ctx)]
        return [self._video_inference(task, ctx)]

    def _video_inference(self, task: dict, ctx: RequestContext) -> dict:
        namespace = ctx.namespace
        self.jobs.ensure_new_task_uuid(namespace, task["taskUUID"], task["taskType"])
        self._resolve_inputs(namespace, task)
        task = with_defaults(task)
        width, height = resolve_size(task, lambda uuid: self._uploaded_bytes(namespace, uuid))
        for accepted in self.hooks.task_accepted:
            accepted(ctx, task)
        job = self.jobs.submit(namespace, task, width, height, ctx.base_url)
        return {"taskType": "videoInference", "taskUUID": job.task_uuid}  # an ack: no status, no URL

    def _get_response(self, task: dict, ctx: RequestContext) -> list[dict | RunwareError]:
        """Every generation's status: processing and successful ones as data items, failed ones as
        errors (a task that failed as a whole: its one error)."""
        data, errors = self.jobs.reply(self.jobs.poll(ctx.namespace, task["taskUUID"]))
        return [*data, *errors]

    async def _image_upload(self, task: dict, ctx: RequestContext) -> dict:
        namespace = ctx.namespace
        self.jobs.ensure_new_task_uuid(namespace, task["taskUUID"], task["taskType"])
        upload = await self.uploads.add(namespace, task["image"])
        self.jobs.claim_task_uuid(namespace, task["taskUUID"], task["taskType"])
        return {"taskType": "imageUpload", "taskUUID": task["taskUUID"], "imageUUID": upload.image_uuid,
                "imageURL": upload.image_url(ctx.base_url)}

    # -- inputs -----------------------------------------------------------------------------------

    def _resolve_inputs(self, namespace: str, task: dict) -> None:
        """Every UUID input must name this key's upload (images) or generated video (videos);
        URLs and inline data are accepted as they are and never fetched."""
        for parameter, ref, kind in _input_references(task.get("inputs") or {}):
            if not UUID_PATTERN.match(ref):
                continue
            known = (self.uploads.find(namespace, ref) if kind == "image"
                     else self.jobs.find_video(namespace, ref) if kind == "video" else None)
            if known is None:
                what = {"image": "an uploaded image", "video": "a generated video"}.get(kind, "a known asset")
                raise RunwareError("unknownInputUUID", f"{parameter} is the UUID {ref}, which is not {what} "
                                   "of this API key (or it expired).", parameter=parameter, type="string")

    def _uploaded_bytes(self, namespace: str, image_uuid: str) -> bytes | None:
        upload = self.uploads.find(namespace, image_uuid)
        return upload.data if upload else None


def _input_references(inputs: dict) -> Iterator[tuple[str, str, str]]:
    """(parameter path, reference, kind) for every reference in ``inputs``."""
    for index, item in enumerate(inputs.get("frameImages", [])):
        if isinstance(item, dict):
            yield f"inputs.frameImages[{index}].image", item["image"], "image"
        else:
            yield f"inputs.frameImages[{index}]", item, "image"
    for index, ref in enumerate(inputs.get("referenceImages", [])):
        yield f"inputs.referenceImages[{index}]", ref, "image"
    for index, ref in enumerate(inputs.get("referenceVideos", [])):
        yield f"inputs.referenceVideos[{index}]", ref, "video"
    if "audio" in inputs:
        yield "inputs.audio", inputs["audio"], "audio"


def _echo_uuid(task: dict) -> dict:
    return {"taskUUID": task["taskUUID"]} if "taskUUID" in task else {}
