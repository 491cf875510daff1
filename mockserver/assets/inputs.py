"""A videoInference task's UUID inputs, resolved against the caller's assets by kind.

The spec takes a UUID wherever it takes media: ``inputs.frameImages`` and
``inputs.referenceImages`` an image (from imageUpload or mediaStorage), ``inputs.referenceVideos``
a video (from mediaStorage, or a generated ``videoUUID``), ``inputs.audio`` audio (from
mediaStorage). A UUID that is not a live asset of this key is ``unknownInputUUID``, and the message
says why (another key's, deleted, expired, a task not finished); an asset of the wrong kind is
``invalidInputUUID``. URLs and inline data are not resolved here: URLs are never fetched, inline
data is read by validation (``mockserver.validation.inline_inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.assets.ledger import AssetLedger, AssetRecord
from mockserver.assets.uploads import Upload, UploadStore
from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import JobStatus, MediaKind
from mockserver.jobs.store import JobStore
from mockserver.media.formats import FORMAT_NAMES, KIND_NAMES, UUID_PATTERN
from mockserver.validation.inline_inputs import input_references


@dataclass(frozen=True)
class Asset:
    """A live asset of the caller: an upload, or a generated video (``upload`` None)."""

    kind: MediaKind | None  # None: a URL upload whose extension names no listed type (any kind goes)
    upload: Upload | None
    what: str  # for messages: "a video (video/mp4)", "a generated video"


class AssetResolver:
    def __init__(self, uploads: UploadStore, jobs: JobStore, ledger: AssetLedger) -> None:
        self.uploads = uploads
        self.jobs = jobs
        self.ledger = ledger

    # -- the ledger: what was minted, and what became of it ----------------------------------------

    def uploaded(self, upload: Upload) -> None:
        self.ledger.minted(upload.uuid, AssetRecord(upload.namespace, upload.kind))

    def generated(self, namespace: str, task_uuid: str, video_uuids: list[str]) -> None:
        for video_uuid in video_uuids:
            self.ledger.minted(video_uuid, AssetRecord(namespace, MediaKind.VIDEO, task_uuid))

    def deleted(self, uuid: str) -> None:
        self.ledger.deleted(uuid)

    # -- resolution --------------------------------------------------------------------------------

    def resolve(self, namespace: str, task: dict) -> list[Upload]:
        """Check every UUID input of a validated task; the uploads it uses (their retention starts
        again once the task is accepted: ``uploads.used``)."""
        used = []
        for parameter, ref, accepted in input_references(task.get("inputs") or {}):
            if not UUID_PATTERN.match(ref):
                continue
            asset = self.find(namespace, ref)
            if asset is None:
                raise RunwareError("unknownInputUUID", f"{parameter} is the UUID {ref}, which {self.why_not(namespace, ref)}.",
                                   parameter=parameter, type="string")
            if asset.kind is not None and asset.kind != accepted:
                raise RunwareError("invalidInputUUID", f"{parameter} takes {KIND_NAMES[accepted]} ({FORMAT_NAMES[accepted]}): "
                                   f"the UUID {ref} is {asset.what}.", parameter=parameter, type="string")
            if asset.upload is not None:
                used.append(asset.upload)
        return used

    def find(self, namespace: str, uuid: str) -> Asset | None:
        upload = self.uploads.find(namespace, uuid)
        if upload is not None:
            if upload.media_type is not None:
                what = f"{KIND_NAMES[upload.kind]} ({upload.media_type.content_type})"
            else:  # a URL: an imageUpload's is an image, a mediaStorage one may be anything
                what = f"{KIND_NAMES[upload.kind]} (a URL)" if upload.kind is not None else "a URL of unknown type"
            return Asset(upload.kind, upload, what)
        if self.jobs.find_video(namespace, uuid) is not None:
            return Asset(MediaKind.VIDEO, None, "a generated video")
        return None

    def image_bytes(self, namespace: str, uuid: str) -> bytes | None:
        """The bytes of this key's uploaded image (for the output size), None for anything else."""
        upload = self.uploads.find(namespace, uuid)
        return upload.data if upload is not None else None

    def why_not(self, namespace: str, uuid: str) -> str:
        """Why a UUID is no live asset of this key, as the end of "the UUID X, which ...". """
        record = self.ledger.get(uuid)
        if record is None:
            return "is not known: no upload (imageUpload, mediaStorage) or generated video has that UUID"
        if record.namespace != namespace:
            return "belongs to another API key (assets are private to the key that made them)"
        if record.deleted:
            return "was deleted with mediaStorage"
        if record.task_uuid is None:
            return "was an upload that expired (uploads live 30 days after their last use)"
        job = self.jobs.get(namespace, record.task_uuid)
        if job is not None and job.status == JobStatus.PROCESSING:
            return f"is a video of task {record.task_uuid}, which has not finished"
        if job is not None and job.status == JobStatus.ERROR:
            return f"was to be a video of task {record.task_uuid}, which failed"
        return f"was a video of task {record.task_uuid}, whose results expired (the task's ttl)"

    def why_not_deletable(self, namespace: str, uuid: str) -> str:
        """Why ``mediaStorage`` cannot delete a UUID of this key, as the end of "it ..."."""
        record = self.ledger.get(uuid)
        if record is not None and record.namespace == namespace and record.task_uuid is not None:
            return "is a generated video, not stored media (generated videos go when their ttl ends)"
        return self.why_not(namespace, uuid)
