"""The async job store: each videoInference task as a small state machine.

A job is ``processing`` until its outcome is both *known* (the videos are rendered, or ffmpeg
failed) and *due* under its progression policy; it then becomes ``success`` or ``error`` exactly
once, and ``on_job_finished`` callbacks run (webhooks and uploadEndpoint subscribe there).
Each of its ``numberResults`` generations ends on its own: a success, or an error when the outcome
names it (the task-polling docs: "the current status of each generation"); the task fails as a
whole only when every generation failed or the outcome is the task's own error.
In the ``staggered`` and ``generations`` result-release modes a job with several results reaches
its end later: once due, each getResponse settles one more generation, and the poll that settles
the last one finishes it. Rendering starts at submit, in the background, so the ack never waits
for ffmpeg; a job whose videos are all in the synthesizer's cache already is rendered at submit,
without a background task.

State is namespaced by API key: jobs, seen taskUUIDs and policies of one key are invisible to
another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import JobStatus, Progression, ProgressionKind, ResultRelease, TaskType
from mockserver.core.clock import Clock
from mockserver.core.expiry import ExpiryHeap
from mockserver.core.ids import UINT32_MAX, IdSource
from mockserver.core.layered import LayeredSetting
from mockserver.core.namespaces import forget
from mockserver.media.inexact import Inexactness
from mockserver.media.store import MediaStore, media_url
from mockserver.media.synth import CONTAINERS, Rendered, SynthesisError, Synthesizer, VideoSpec

log = logging.getLogger(__name__)

PROCESSING, SUCCESS, ERROR = JobStatus.PROCESSING, JobStatus.SUCCESS, JobStatus.ERROR
TASK_ERROR_MESSAGES = {
    "timeoutProvider": "The provider did not answer in time.",
    "providerError": "The provider failed to generate the video.",
}


@dataclass
class VideoResult:
    """One generation of a task: its video, or the error it ended in (decided when the job is due)."""

    video_uuid: str
    seed: int
    error: RunwareError | None = None


@dataclass
class Job:
    namespace: str
    task_uuid: str
    task: dict  # the submitted task with schema defaults filled in
    width: int
    height: int
    base_url: str  # where the client reached the server: the origin of videoURL
    submitted_at: float
    ttl: int
    results: list[VideoResult]
    cost: float | None  # per video, only when includeCost
    status: str = PROCESSING
    error: RunwareError | None = None  # the task's own error (render failure, task outcome, /fail); not a generation's
    synthesis_stderr: str | None = None  # ffmpeg's words when rendering failed (for the journal)
    polls: int = 0
    rendered: bool = False
    render_error: RunwareError | None = None
    nsfw: bool = False  # what its results' NSFWContent says, decided with its outcome
    completed_manually: bool = False
    staggered: bool = False  # done, but its generations settle one more per poll (staggered, generations)
    released: int = 0  # generations a staggered job has settled so far
    release: ResultRelease | None = None  # its result release, read when it became due
    inexact: Inexactness | None = None  # its videos a few pixels and frames off (None: exact)
    finished_at: float | None = None
    render: asyncio.Task | None = field(default=None, repr=False)

    @property
    def expires_at(self) -> float | None:
        """When the finished job and its URLs are forgotten (None while processing)."""
        return None if self.finished_at is None else self.finished_at + self.ttl

    @property
    def webhook_url(self) -> str | None:
        return self.task.get("webhookURL")

    @property
    def upload_endpoint(self) -> str | None:
        return self.task.get("uploadEndpoint")

    @cached_property
    def extension(self) -> str:
        return CONTAINERS[self.task["outputFormat"]].extension

    def video_spec(self, seed: int) -> VideoSpec:
        width, height, extra_frames = (self.width, self.height, 0) if self.inexact is None else \
            self.inexact.shape(self.width, self.height, seed)
        return VideoSpec(
            width=width, height=height, duration=self.task["duration"],
            output_format=self.task["outputFormat"], quality=self.task["outputQuality"],
            audio=self.task["settings"]["audio"], seed=seed, extra_frames=extra_frames,
            keep="seed" in self.task,  # a drawn seed is never asked for again: not worth keeping
        )

    def video_url(self, result: VideoResult) -> str:
        return media_url(self.base_url, result.video_uuid, self.extension)

    def processing_item(self) -> dict:
        return processing_item(self.task_uuid)

    def settled(self) -> list[VideoResult]:
        """The generations whose end is known to the client: all once finished, else those a
        staggered job has settled so far."""
        return self.results if self.status != PROCESSING else self.results[:self.released]

    def released_items(self) -> list[dict]:
        """The success items a still-processing job already shows (staggered release only)."""
        return [self.success_item(r) for r in self.settled() if r.error is None] if self.status == PROCESSING else []

    def success_items(self) -> list[dict]:
        """Every successful generation's item, in one list: the SDKs want all numberResults items in one reply."""
        return [self.success_item(result) for result in self.results if result.error is None]

    def success_item(self, result: VideoResult) -> dict:
        item = {"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": self.task_uuid, "status": SUCCESS,
                "videoUUID": result.video_uuid, "videoURL": self.video_url(result),
                "seed": result.seed, "NSFWContent": self.nsfw}
        if self.cost is not None:
            item["cost"] = self.cost
        return item

    def generations(self) -> list[dict]:
        """Each generation as the control plane shows it: its index (what a ``taskError`` fault's
        ``generations`` names), status, video, error and its file's shape (off the request under
        ``inexactMedia``)."""
        settled = len(self.settled())
        shown = []
        for index, result in enumerate(self.results):
            done = index < settled
            error = (self.error or result.error) if done else None
            status = PROCESSING if not done else ERROR if error else SUCCESS
            spec = self.video_spec(result.seed)
            shown.append({"generation": index, "status": status, "videoUUID": result.video_uuid,
                          "seed": result.seed, "error": error.to_wire(task_type=True) if error else None,
                          "video": {"width": spec.width, "height": spec.height, "frames": spec.frames}})
        return shown

    def reply(self, release: ResultRelease) -> tuple[list[dict], list[RunwareError]]:
        """What getResponse answers now, as (data items, errors): settled generations in
        generation order, a success in ``data`` and a failure in ``errors`` ("failed generations
        are moved to the errors array", the task-polling docs), then what is still running: one
        ``processing`` item for the task, or one per generation in the ``generations`` release.
        A failure of the whole task is its one error."""
        if self.error is not None:
            return [], [self.error]
        data: list[dict] = []
        errors: list[RunwareError] = []
        settled = self.settled()
        for result in settled:
            if result.error is None:
                data.append(self.success_item(result))
            else:
                errors.append(result.error)
        running = len(self.results) - len(settled)
        if running:
            data.extend(self.processing_item() for _ in range(running if release == ResultRelease.GENERATIONS else 1))
        return data, errors


def processing_item(task_uuid: str) -> dict:
    """What getResponse answers for a task still running."""
    return {"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": task_uuid, "status": PROCESSING}


JobCallback = Callable[[Job], Awaitable[None] | None]  # an awaitable result runs in the background


@dataclass(frozen=True)
class Outcome:
    """How a job ends once its videos exist, unless rendering failed: an error (``error_code``) of
    the whole task, or of only some ``generations`` (0-based indices; those past numberResults
    never apply) while the others succeed, or success; its results flagged NSFW or not. The control
    plane picks it per task (a ``taskError`` or ``nsfw`` fault, a scenario); the default is a plain
    success."""

    error_code: str | None = None
    error_message: str | None = None
    nsfw: bool = False
    generations: tuple[int, ...] | None = None  # None: the error is the whole task's

    def error(self, task_uuid: str) -> RunwareError | None:
        """The task's own error (None when it succeeds or only some generations fail)."""
        return self._error(task_uuid) if self.generations is None else None

    def generation_error(self, index: int, task_uuid: str) -> RunwareError | None:
        """The error generation ``index`` ends in, if the outcome names it."""
        return self._error(task_uuid) if self.generations is not None and index in self.generations else None

    def _error(self, task_uuid: str) -> RunwareError | None:
        if self.error_code is None:
            return None
        message = self.error_message or TASK_ERROR_MESSAGES.get(self.error_code, "The task failed.")
        return _failed(RunwareError(self.error_code, message, task_type=TaskType.VIDEO_INFERENCE, task_uuid=task_uuid))


SUCCEEDS = Outcome()


class JobStore:
    def __init__(self, synthesizer: Synthesizer, media: MediaStore, ids: IdSource, clock: Clock,
                 default_policy: Progression, default_ttl: int,
                 price: Callable[[dict, int, int], float],
                 default_results: ResultRelease = ResultRelease.TOGETHER) -> None:
        self.synthesizer = synthesizer
        self.media = media
        self.ids = ids
        self.clock = clock
        self.policies = LayeredSetting(default_policy)  # when a finished render is reported
        self.results = LayeredSetting(default_results)  # together | staggered | generations
        self.outcomes = LayeredSetting(SUCCEEDS)  # how a rendered job ends
        self.inexact: LayeredSetting[Inexactness | None] = LayeredSetting(None)  # videos off the request
        self.default_ttl = default_ttl
        self.price = price
        self.on_job_finished: list[JobCallback] = []  # called once per job as it finishes
        self.on_job_submitted: list[Callable[[Job], None]] = []  # called at once, before rendering starts
        self._jobs: dict[tuple[str, str], Job] = {}
        self._videos: dict[tuple[str, str], Job] = {}  # (namespace, videoUUID) -> its job
        self._claimed: dict[str, set[str]] = {}  # taskUUIDs ever accepted, per namespace
        # what ``tick`` looks at, so its cost follows the jobs due rather than all jobs kept:
        self._waiting: dict[tuple[str, str], Job] = {}  # rendered, still processing: their policy decides
        self._expiries: ExpiryHeap[Job] = ExpiryHeap()  # finished jobs by the time they expire
        self._background: set[asyncio.Task] = set()

    # -- submit and poll ----------------------------------------------------------------------

    def ensure_new_task_uuid(self, namespace: str, task_uuid: str, task_type: str) -> None:
        """Raise ``conflictTaskUUID`` if an accepted task of this namespace already used the UUID."""
        if task_uuid in self._claimed.get(namespace, ()):
            raise RunwareError("conflictTaskUUID", f"The taskUUID {task_uuid} has already been used.",
                               parameter="taskUUID", task_type=task_type, task_uuid=task_uuid, type="string")

    def claim_task_uuid(self, namespace: str, task_uuid: str, task_type: str) -> None:
        """Record the UUID of an accepted task (only accepted ones: a rejected task may be resent)."""
        self.ensure_new_task_uuid(namespace, task_uuid, task_type)
        self._claimed.setdefault(namespace, set()).add(task_uuid)

    def submit(self, namespace: str, task: dict, width: int, height: int, base_url: str) -> Job:
        """Create the job for an accepted, defaults-filled task and start rendering it."""
        self.claim_task_uuid(namespace, task["taskUUID"], TaskType.VIDEO_INFERENCE)
        first_seed = task["seed"] if "seed" in task else self.ids.seed32()
        results = [VideoResult(self.ids.uuid4(), (first_seed + i) % (UINT32_MAX + 1))
                   for i in range(task["numberResults"])]
        job = Job(
            namespace=namespace, task_uuid=task["taskUUID"], task=task, width=width, height=height,
            base_url=base_url, submitted_at=self.clock.now(), ttl=task.get("ttl", self.default_ttl),
            results=results, cost=self.price(task, width, height) if task["includeCost"] else None,
            inexact=self.inexact.get(namespace, task["taskUUID"]),
        )
        self._jobs[(namespace, job.task_uuid)] = job
        for result in results:
            self._videos[(namespace, result.video_uuid)] = job
        for callback in self.on_job_submitted:
            callback(job)
        cached = [self.synthesizer.finished(job.video_spec(result.seed)) for result in job.results]
        if all(cached):
            self._publish(job, cached)
            self._settle(job)
        else:
            job.render = self._spawn(self._render(job))
        return job

    def poll(self, namespace: str, task_uuid: str) -> Job:
        """The job a getResponse names, after counting the poll and applying its policy."""
        job = self._jobs.get((namespace, task_uuid))
        if job is None or self._expired(job):
            # taskType is "the task type of the request that failed" (the errors doc): this getResponse
            raise RunwareError("taskFailedOrNotFound",
                               f"No task with taskUUID {task_uuid} was found, or its results expired.",
                               parameter="taskUUID", task_type=TaskType.GET_RESPONSE, task_uuid=task_uuid, type="string")
        if job.status == PROCESSING:
            job.polls += 1
            self._settle(job)
        if job.status == PROCESSING and job.staggered:
            self._release(job)
        return job

    def reply(self, job: Job) -> tuple[list[dict], list[RunwareError]]:
        """What getResponse answers for a job now (``Job.reply`` under the job's result release)."""
        return job.reply(job.release or self.results.get(job.namespace, job.task_uuid))

    def find_video(self, namespace: str, video_uuid: str) -> Job | None:
        """The finished, unexpired job that produced a videoUUID (so it can be used as an input);
        a generation that failed produced nothing."""
        job = self._videos.get((namespace, video_uuid))
        if job is None or job.status != SUCCESS or self._expired(job):
            return None
        return job if any(r.video_uuid == video_uuid and r.error is None for r in job.results) else None

    # -- control plane --------------------------------------------------------------------------

    def get(self, namespace: str, task_uuid: str) -> Job | None:
        return self._jobs.get((namespace, task_uuid))

    async def complete(self, namespace: str, task_uuid: str) -> Job:
        """Finish a job now, whatever its policy, once its videos exist."""
        job = self._require(namespace, task_uuid)
        job.completed_manually = True
        await self.wait_rendered(job)
        self._settle(job)
        return job

    @staticmethod
    async def wait_rendered(job: Job) -> None:
        """Until the job's render has ended (at once for a job rendered at submit from the cache)."""
        if job.render is not None:
            await asyncio.shield(job.render)

    def fail(self, namespace: str, task_uuid: str, code: str, message: str) -> Job:
        """End a processing job in error now; a render still running finishes unseen."""
        job = self._require(namespace, task_uuid)
        if job.status == PROCESSING:
            self._finish(job, RunwareError(code, message, task_type=TaskType.VIDEO_INFERENCE, task_uuid=task_uuid))
        return job

    def tick(self) -> None:
        """Re-evaluate the policies of rendered jobs and forget expired ones; called periodically
        and whenever a virtual clock moves."""
        for job in list(self._waiting.values()):
            self._settle(job)
        for job in self._expiries.due(self.clock.now()):
            if self._is_stored(job):
                del self._jobs[(job.namespace, job.task_uuid)]
                for result in job.results:
                    self._videos.pop((job.namespace, result.video_uuid), None)

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's jobs, taskUUIDs and per-task settings (everything when None);
        returns how many jobs. Unfinished jobs are silenced (no outcome, no callbacks); their media
        go with the media store's own reset."""
        doomed = forget(self._jobs, namespace, lambda _, job: job.namespace)
        for job in doomed:
            self._waiting.pop((job.namespace, job.task_uuid), None)
            if job.status == PROCESSING:
                job.status = ERROR  # silenced: never settles; a render still running unpublishes its files
            for result in job.results:
                self._videos.pop((job.namespace, result.video_uuid), None)
        forget(self._claimed, namespace, lambda key, _: key)
        for setting in (self.policies, self.results, self.outcomes, self.inexact):
            setting.reset(namespace)
        self._expiries.compact(self._is_stored, len(self._jobs))
        return len(doomed)

    def stats(self) -> dict:
        statuses = [job.status for job in self._jobs.values()]
        return {status: statuses.count(status) for status in (PROCESSING, SUCCESS, ERROR)}

    async def close(self) -> None:
        """Cancel renders and pending callbacks (server shutdown)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- the state machine ----------------------------------------------------------------------

    async def _render(self, job: Job) -> None:
        try:
            renders = [self.synthesizer.render_file(job.video_spec(r.seed)) for r in job.results]
            # one result (the usual case) is awaited directly: gather would wrap it in a task
            self._publish(job, [await renders[0]] if len(renders) == 1 else await asyncio.gather(*renders))
        except SynthesisError as exc:
            job.synthesis_stderr = exc.stderr
            job.render_error = self._synthesis_failed(job)
        except (OSError, ValueError) as exc:  # e.g. a full disk while publishing the file
            job.synthesis_stderr = repr(exc)
            job.render_error = self._synthesis_failed(job)
        self._settle(job)

    def _publish(self, job: Job, videos: list[Rendered]) -> None:
        """Serve the rendered videos (pending until the job finishes) and mark the job rendered."""
        for result, video in zip(job.results, videos):
            self.media.add_file(job.namespace, result.video_uuid, job.extension, video.path, video.size,
                                poster=video.poster)
            if job.status == ERROR:  # failed by the control plane meanwhile: never served
                self.media.start_ttl(result.video_uuid, 0)
        job.rendered = True

    def _settle(self, job: Job) -> None:
        """Move a processing job to its outcome if the outcome is known and due. A job with several
        results in the ``staggered`` or ``generations`` mode is then only marked: polls settle its
        generations, one each."""
        if job.status != PROCESSING or not (job.rendered or job.render_error):
            return
        if job.completed_manually or (not job.staggered and self._due(job)):
            outcome = self.outcomes.get(job.namespace, job.task_uuid)
            job.nsfw = outcome.nsfw
            job.release = self.results.get(job.namespace, job.task_uuid)
            error = job.render_error or outcome.error(job.task_uuid)
            for index, result in enumerate(job.results):
                result.error = None if error else outcome.generation_error(index, job.task_uuid)
            if (not job.completed_manually and error is None and len(job.results) > 1
                    and job.release != ResultRelease.TOGETHER):
                job.staggered = True  # the poll answering now (if any) settles the first generation
            else:
                self._finish(job, error)
        key = (job.namespace, job.task_uuid)
        if job.status == PROCESSING and not job.staggered:
            self._waiting[key] = job  # not due yet: time (or a new policy) may make it so
        else:
            self._waiting.pop(key, None)

    def _release(self, job: Job) -> None:
        """One more generation of a staggered job settles; settling the last one finishes it."""
        job.released += 1
        if job.released >= len(job.results):
            self._finish(job, None)

    def _due(self, job: Job) -> bool:
        policy = self.policies.get(job.namespace, job.task_uuid)
        if policy.kind is ProgressionKind.IMMEDIATE:
            return True
        if policy.kind is ProgressionKind.POLLS:
            return job.polls > policy.amount  # the poll being answered is already counted
        if policy.kind is ProgressionKind.SECONDS:
            return self.clock.now() - job.submitted_at >= policy.amount
        return False  # manual

    def _finish(self, job: Job, error: RunwareError | None) -> None:
        """End the job: in ``error`` (the whole task's), else ``success`` unless every generation failed."""
        job.status = ERROR if error or all(r.error for r in job.results) else SUCCESS
        job.error = _failed(error) if error is not None else None
        job.finished_at = self.clock.now()
        self._waiting.pop((job.namespace, job.task_uuid), None)
        self._expiries.push(job.expires_at, job)
        for result in job.results:
            self.media.start_ttl(result.video_uuid, 0 if error or result.error else job.ttl)
        for callback in self.on_job_finished:
            pending = callback(job)
            if pending is not None:
                self._spawn(pending)

    def _is_stored(self, job: Job) -> bool:
        return self._jobs.get((job.namespace, job.task_uuid)) is job

    def _expired(self, job: Job) -> bool:
        return job.expires_at is not None and self.clock.now() >= job.expires_at

    def _synthesis_failed(self, job: Job) -> RunwareError:
        return RunwareError("synthesisFailed", "The video could not be generated.",
                            task_type=TaskType.VIDEO_INFERENCE, task_uuid=job.task_uuid)

    def _require(self, namespace: str, task_uuid: str) -> Job:
        job = self._jobs.get((namespace, task_uuid))
        if job is None:
            raise KeyError(f"no job {task_uuid} in namespace {namespace!r}")
        return job

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job task failed", exc_info=task.exception())


def _failed(error: RunwareError) -> RunwareError:
    """The docs' form of a failed task or generation in errors[]: with ``status: "error"``."""
    error.extra.setdefault("status", ERROR)
    return error
