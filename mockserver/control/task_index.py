"""The recent videoInference tasks of each namespace, for ``GET /__mock/tasks`` and the dashboard.

The job store answers "what is task X"; this index answers "what did key K submit lately", in
order, bounded per namespace. Jobs the store has forgotten (expired) stay listed as expired.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from mockserver.contract.vocabulary import JobStatus
from mockserver.control.journal import scrub
from mockserver.core.namespaces import forget
from mockserver.jobs.store import Job, JobStore
from mockserver.media.store import POSTER_EXTENSION, MediaStore, media_url

PER_NAMESPACE = 1000


class TaskIndex:
    def __init__(self, jobs: JobStore, media: MediaStore, per_namespace: int = PER_NAMESPACE) -> None:
        self.jobs = jobs
        self.media = media
        self.per_namespace = per_namespace
        self._recent: dict[str, OrderedDict[str, tuple[int, Job]]] = {}
        self._arrivals = itertools.count()  # submission order across namespaces (clock times can tie)

    def add(self, job: Job) -> None:
        recent = self._recent.setdefault(job.namespace, OrderedDict())
        recent[job.task_uuid] = (next(self._arrivals), job)
        while len(recent) > self.per_namespace:
            recent.popitem(last=False)

    def listing(self, namespace: str | None = None, limit: int | None = None) -> list[dict]:
        """Newest first; every namespace when None."""
        jobs = sorted((entry for ns, recent in self._recent.items() if namespace is None or ns == namespace
                       for entry in recent.values()), key=lambda entry: entry[0], reverse=True)
        return [self.describe(job) for _, job in jobs[:limit]]

    def describe(self, job: Job) -> dict:
        """The task as the control plane shows it: its state, what it asked for (the size the
        server settled on, which the task may not name), its price and its poster frames."""
        live = self.jobs.get(job.namespace, job.task_uuid) is job
        return {
            "namespace": job.namespace, "taskUUID": job.task_uuid, "status": job.status if live else "expired",
            "prompt": job.task.get("positivePrompt"), "width": job.width, "height": job.height,
            "duration": job.task["duration"], "cost": self.jobs.price(job.task, job.width, job.height),
            "posters": self._posters(job) if live else [],
            "policy": str(self.jobs.policies.get(job.namespace, job.task_uuid)), "polls": job.polls,
            "submittedAt": job.submitted_at, "finishedAt": job.finished_at,
            "resultRelease": self.jobs.results.get(job.namespace, job.task_uuid),
            "results": (job.success_items() if job.status == JobStatus.SUCCESS else job.released_items()) if live else [],
            "error": job.error.to_wire(task_type=True) if job.error is not None else None,
            "generations": job.generations() if live else [],
            "synthesisStderr": job.synthesis_stderr,
            "webhookURL": job.webhook_url, "uploadEndpoint": job.upload_endpoint,
            "task": scrub(job.task),
        }

    def _posters(self, job: Job) -> list[dict]:
        """A poster per rendered result while its video is served (not for a failed job)."""
        return [{"videoUUID": result.video_uuid, "posterURL": media_url(job.base_url, result.video_uuid, POSTER_EXTENSION)}
                for result in job.results if self.media.file_for(f"{result.video_uuid}.{POSTER_EXTENSION}")]

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's listing (all when None); returns how many tasks."""
        return sum(len(recent) for recent in forget(self._recent, namespace, lambda ns, _: ns))

    def namespaces(self) -> set[str]:
        return set(self._recent)
