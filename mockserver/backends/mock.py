"""The mock: the backend that answers every task itself.

``MockBackend.handle`` authenticates the request, then runs each task on its own (validation, then
the task's handler), so one bad task never spoils the others. Journal and faults happen around
``handle`` (``mockserver.exchange``); the one hook inside is ``task_accepted``, called once a
videoInference task is valid and about to become a job, so per-task settings (a scenario's
policy, an injected outcome) are in place before its job can finish.

Every submitted task and the reply it got are kept for ``getTaskDetails`` (``task_details``). A
dry run (``ctx.dry_run``) validates a task that would start work exactly as a real run would, then
answers with its price and changes nothing: no job, no upload, no record, the taskUUID unused.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mockserver.assets.inputs import AssetResolver
from mockserver.assets.uploads import Upload, UploadStore
from mockserver.backends.policy import unauthenticated_frame
from mockserver.contract import definition_regex
from mockserver.contract.errors import RunwareError
from mockserver.contract.pricing import run_cost
from mockserver.contract.protocol import AUTH, SUBMITTED, Reply, error_items, is_authentication, wire_envelope
from mockserver.contract.vocabulary import MediaKind, TaskType
from mockserver.core.ids import IdSource
from mockserver.exchange import ClientSocket, Hooks, RequestContext
from mockserver.jobs.store import JobStore
from mockserver.jobs.task_details import TaskDetails
from mockserver.media.formats import MediaType
from mockserver.media.sizing import resolve_size
from mockserver.validation import validate_task, with_defaults

log = logging.getLogger(__name__)

INVALID_KEY_MESSAGE = "Invalid API key. Get one at https://my.runware.ai/signup"
TASK_UUID = definition_regex("taskUUID")


class MockBackend:
    def __init__(self, jobs: JobStore, uploads: UploadStore, assets: AssetResolver, details: TaskDetails,
                 ids: IdSource, api_keys: tuple[str, ...], hooks: Hooks) -> None:
        self.jobs = jobs
        self.uploads = uploads
        self.assets = assets
        self.details = details
        self.ids = ids
        self.api_keys = frozenset(api_keys)  # empty: any non-empty key is accepted
        self.hooks = hooks

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        """Run a request's tasks. A leading authentication task sets ``ctx.api_key`` (a WebSocket
        transport keeps it for the connection); an auth failure rejects the whole request."""
        refused = unauthenticated_frame(tasks, ctx)
        if refused is not None:
            return refused
        data: list[dict] = []
        if tasks and is_authentication(tasks[0]):
            try:
                ctx.api_key, reply = self._authenticate(tasks[0], ctx.connection)
            except RunwareError as error:
                return Reply.of([], [error])
            data.append(reply)
            tasks = tasks[1:]
        elif not self._accepts(ctx.api_key):
            return Reply.of([], [self.key_error(ctx.api_key)])

        errors: list[RunwareError] = []
        violations: dict[int, list[RunwareError]] = {}
        offset = 1 if data else 0
        for index, task in enumerate(tasks, start=offset):
            try:
                items = await self._run(task, ctx, violations, index)
            except RunwareError as error:
                errors.append(error.for_task(task))
                self._remember(task, ctx, wire_envelope([], error_items([error], ctx.transport), ctx.transport),
                               accepted=False, valid=index not in violations)
            except Exception as exc:  # a bug must cost one task, never the server
                log.exception("task %s failed unexpectedly", index)
                errors.append(RunwareError("internalServerError", f"Unexpected error: {exc!r}").for_task(task))
            else:  # a failed generation is an error item among the task's data items
                task_errors = [item for item in items if isinstance(item, RunwareError)]
                task_data = [item for item in items if not isinstance(item, RunwareError)]
                data.extend(task_data)
                errors.extend(task_errors)
                reply = wire_envelope(task_data, error_items(task_errors, ctx.transport), ctx.transport)
                self._remember(task, ctx, reply, accepted=True, valid=True)
        return Reply.of(data, errors, violations)

    async def socket_closed(self, connection: Any) -> None:
        """Nothing to release: the mock keeps no per-socket state (sessions are the socket hub's)."""

    # -- authentication -------------------------------------------------------------------------

    def _authenticate(self, task: dict, connection: ClientSocket | None = None) -> tuple[str, dict]:
        """(the key, the reply item) of an authentication task; the item never has a taskUUID. On a
        socket (``connection``) the session is the socket's: resumed when asked and possible, else
        new; over REST it is a resume's own, or a fresh UUID."""
        key = task.get("apiKey")
        if not isinstance(key, str) or not self._accepts(key):
            raise self.key_error(key if isinstance(key, str) else "")
        found = validate_task(task)
        if found:
            raise found[0]
        requested = task.get("connectionSessionUUID")
        session = connection.authenticated(key, requested) if connection is not None else requested or self.ids.uuid4()
        return key, {"taskType": AUTH, "connectionSessionUUID": session}

    def _accepts(self, key: str | None) -> bool:
        return bool(key) and (not self.api_keys or key in self.api_keys)

    @staticmethod
    def key_error(key: str | None) -> RunwareError:
        """A refused key as runware-cli's test data has it (``parameter`` and ``type``); its
        ``taskType`` shows only on a WebSocket (``protocol.error_items``)."""
        if key is None:
            return RunwareError("missingApiKey", "Missing API key. Send an Authorization: Bearer <key> header or "
                                "an authentication task first.", parameter="apiKey", type="string", task_type=AUTH)
        return RunwareError("invalidApiKey", INVALID_KEY_MESSAGE, parameter="apiKey", type="string", task_type=AUTH)

    # -- tasks ------------------------------------------------------------------------------------

    async def _run(self, task: Any, ctx: RequestContext, violations: dict, index: int) -> list[dict | RunwareError]:
        found = validate_task(task)
        if found:
            violations[index] = found
            raise found[0]
        task_type = task["taskType"]
        if task_type == TaskType.PING:
            return [{"taskType": TaskType.PING, "pong": True, **_echo_uuid(task)}]
        if task_type == AUTH:  # not the leading one: answered, but the request keeps its namespace
            return [self._authenticate(task)[1]]
        if task_type == TaskType.GET_RESPONSE:
            return self._get_response(task, ctx)
        if task_type == TaskType.GET_TASK_DETAILS:
            return [self._task_details(task, ctx)]
        if task_type == TaskType.IMAGE_UPLOAD:
            return [await self._image_upload(task, ctx)]
        if task_type == TaskType.MEDIA_STORAGE:
            return [await self._media_storage(task, ctx)]
        return [self._video_inference(task, ctx)]

    def _video_inference(self, task: dict, ctx: RequestContext) -> dict:
        namespace = ctx.namespace
        self.jobs.ensure_new_task_uuid(namespace, task["taskUUID"], task["taskType"])
        used = self.assets.resolve(namespace, task)
        task = with_defaults(task)
        width, height = resolve_size(task, lambda uuid: self.assets.image_bytes(namespace, uuid))
        if ctx.dry_run:
            return {"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": task["taskUUID"], "cost": run_cost(task, width, height)}
        for accepted in self.hooks.task_accepted:
            accepted(ctx, task)
        job = self.jobs.submit(namespace, task, width, height, ctx.base_url)
        self.assets.generated(namespace, job.task_uuid, [result.video_uuid for result in job.results])
        for upload in used:
            self.uploads.used(upload)
        return {"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": job.task_uuid}  # an ack: no status, no URL

    def _get_response(self, task: dict, ctx: RequestContext) -> list[dict | RunwareError]:
        """Every generation's status: processing and successful ones as data items, failed ones as
        errors (a task that failed as a whole: its one error)."""
        data, errors = self.jobs.reply(self.jobs.poll(ctx.namespace, task["taskUUID"]))
        return [*data, *errors]

    def _task_details(self, task: dict, ctx: RequestContext) -> dict:
        record = self.details.get(ctx.namespace, task["taskUUID"])
        if record is None:
            raise RunwareError("taskFailedOrNotFound", f"No task with taskUUID {task['taskUUID']} was found.",
                               parameter="taskUUID", type="string")
        return {"taskType": TaskType.GET_TASK_DETAILS, "taskUUID": task["taskUUID"], "request": [record.request],
                "response": record.response}

    async def _image_upload(self, task: dict, ctx: RequestContext) -> dict:
        namespace = ctx.namespace
        self.jobs.ensure_new_task_uuid(namespace, task["taskUUID"], task["taskType"])
        data, media_type = await self.uploads.read_image(task["image"])
        reply = {"taskType": TaskType.IMAGE_UPLOAD, "taskUUID": task["taskUUID"]}
        if ctx.dry_run:
            return {**reply, "cost": 0}
        upload = await self._store(namespace, task, data, media_type, task["image"], MediaKind.IMAGE)
        return {**reply, "imageUUID": upload.uuid, "imageURL": upload.url(ctx.base_url)}

    async def _media_storage(self, task: dict, ctx: RequestContext) -> dict:
        namespace = ctx.namespace
        self.jobs.ensure_new_task_uuid(namespace, task["taskUUID"], task["taskType"])
        reply = {"taskType": TaskType.MEDIA_STORAGE, "taskUUID": task["taskUUID"], "operation": task["operation"]}
        if task["operation"] == "delete":
            media_uuid = task["media"]
            if self.uploads.find(namespace, media_uuid) is None:
                raise RunwareError("mediaNotFound", f"No stored media {media_uuid} to delete: it "
                                   f"{self.assets.why_not_deletable(namespace, media_uuid)}.",
                                   parameter="media", type="string")
            if ctx.dry_run:
                return {**reply, "mediaUUID": media_uuid, "cost": 0}
            await self.uploads.delete(namespace, media_uuid)
            self.assets.deleted(media_uuid)
            self.jobs.claim_task_uuid(namespace, task["taskUUID"], task["taskType"])
            return {**reply, "mediaUUID": media_uuid}
        data, media_type = await self.uploads.read_media(task["media"])
        if ctx.dry_run:
            return {**reply, "cost": 0}
        upload = await self._store(namespace, task, data, media_type, task["media"])
        return {**reply, "mediaUUID": upload.uuid, "mediaURL": upload.url(ctx.base_url)}

    async def _store(self, namespace: str, task: dict, data: bytes | None, media_type: MediaType | None,
                     reference: str, kind: MediaKind | None = None) -> Upload:
        """Keep an accepted upload (its bytes, or the URL it was given as) and use up the taskUUID."""
        upload = await self.uploads.add(namespace, data, media_type, reference if data is None else None, kind)
        self.assets.uploaded(upload)
        self.jobs.claim_task_uuid(namespace, task["taskUUID"], task["taskType"])
        return upload

    # -- getTaskDetails' record ---------------------------------------------------------------------

    def _remember(self, task: Any, ctx: RequestContext, response: dict, *, accepted: bool, valid: bool) -> None:
        """Keep a submitted task with its reply, or a poll's reply for a submitted task."""
        if ctx.dry_run or not isinstance(task, dict) or not ctx.api_key:
            return
        task_uuid, task_type = task.get("taskUUID"), task.get("taskType")
        if not isinstance(task_uuid, str) or not isinstance(task_type, str) or not TASK_UUID.match(task_uuid):
            return
        if task_type in SUBMITTED:
            self.details.submitted(ctx.namespace, task, response, accepted=accepted, weight=_weight(task, ctx))
        elif task_type == TaskType.GET_RESPONSE and valid:
            self.details.answered(ctx.namespace, task_uuid, response)


def _weight(task: dict, ctx: RequestContext) -> int:
    """Roughly the bytes a task took on the wire: its share of the body (the body's size is known
    for free; serializing the task again is the fallback)."""
    if ctx.body_bytes and ctx.tasks:
        return ctx.body_bytes // len(ctx.tasks)
    return len(json.dumps(task))


def _echo_uuid(task: dict) -> dict:
    return {"taskUUID": task["taskUUID"]} if "taskUUID" in task else {}
