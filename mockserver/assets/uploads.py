"""Uploaded media (``imageUpload``, ``mediaStorage``): kept per API key, served as media and
resolvable as task inputs.

Inline media (data URI or base64) is decoded and its type read from its bytes (``media.formats``):
``imageUpload`` takes images that decode fully, ``mediaStorage`` any listed image, video or
audio. URL media is recorded as a reference and never fetched (vidmock makes no outbound requests
for inputs); its URL is returned as its own, and its kind is what its extension says, if anything.
An upload lives 30 days after its last use (Runware's retention): each use as a task input starts
the 30 days again. ``mediaStorage`` deletes by UUID, imageUpload's images included (Runware
documents both on its media-storage page).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import MediaKind
from mockserver.core.clock import Clock
from mockserver.core.expiry import ExpiryHeap
from mockserver.core.ids import IdSource
from mockserver.core.namespaces import forget
from mockserver.media.formats import FORMAT_NAMES, URL_PATTERN, MediaType, decodable, decode_inline, sniff, type_of_url
from mockserver.media.store import MediaStore, media_url

UPLOAD_TTL = 30 * 24 * 3600  # Runware deletes uploads 30 days after last use
LISTED_FORMATS = (f"an image ({FORMAT_NAMES[MediaKind.IMAGE]}), a video ({FORMAT_NAMES[MediaKind.VIDEO]}) or audio "
                  f"({FORMAT_NAMES[MediaKind.AUDIO]})")


@dataclass
class Upload:
    namespace: str
    uuid: str  # the imageUUID or mediaUUID
    media_type: MediaType | None  # what its bytes are; for a URL, what its extension says (or None)
    data: bytes | None  # an image's bytes (sizes are read from them); None for other media and URLs
    source_url: str | None  # a URL reference: never fetched
    expires_at: float
    kind: MediaKind | None  # image, video or audio; None for a mediaStorage URL of no listed extension

    def url(self, base_url: str) -> str:
        if self.source_url is not None:
            return self.source_url
        return media_url(base_url, self.uuid, self.media_type.extension)


class UploadStore:
    def __init__(self, media: MediaStore, ids: IdSource, clock: Clock) -> None:
        self.media = media
        self.ids = ids
        self.clock = clock
        self._uploads: dict[str, Upload] = {}  # by UUID (minted here, unique across keys)
        # (upload, the expiry pushed): an item is stale once its upload is gone or was used again
        self._expiries: ExpiryHeap[tuple[Upload, float]] = ExpiryHeap()

    # -- checking what is sent (no state changes: a dry run calls these alone) --------------------

    @staticmethod
    async def read_image(image: str) -> tuple[bytes | None, MediaType | None]:
        """(bytes, type) of an ``imageUpload`` image: (None, None) for a URL; raises ``invalidImage``
        unless it is a listed image whose every pixel decodes."""
        if URL_PATTERN.match(image):
            return None, None
        data = decode_inline(image)
        media_type = await asyncio.to_thread(decodable, data) if data else None
        if media_type is None:
            raise RunwareError("invalidImage", f"The image could not be decoded. Send a {FORMAT_NAMES[MediaKind.IMAGE]} "
                               "as a data URI, base64 or URL.", parameter="image", type="string")
        return data, media_type

    @staticmethod
    async def read_media(media: str) -> tuple[bytes | None, MediaType | None]:
        """(bytes, type) of a ``mediaStorage`` upload: for a URL (None, what its extension says);
        raises ``invalidMedia`` unless the bytes are a listed image (decoding fully), video or audio."""
        if URL_PATTERN.match(media):
            return None, type_of_url(media)
        data = decode_inline(media)
        if not data:
            raise _invalid_media("it is not valid base64 (nor a data URI with base64 content).")
        media_type = sniff(data)
        if media_type is not None and media_type.kind == MediaKind.IMAGE:
            media_type = await asyncio.to_thread(decodable, data)
            if media_type is None:
                raise _invalid_media("its image does not decode (truncated, corrupt, or too many pixels).")
        if media_type is None:
            raise _invalid_media("its bytes are none of the listed formats.")
        return data, media_type

    # -- state ----------------------------------------------------------------------------------------

    async def add(self, namespace: str, data: bytes | None, media_type: MediaType | None, source_url: str | None,
                  kind: MediaKind | None = None) -> Upload:
        """Store what ``read_image``/``read_media`` accepted, under a new UUID; its kind is what its
        bytes (or URL extension) say, unless the task says (an ``imageUpload`` is an image)."""
        kind = kind or (media_type.kind if media_type is not None else None)
        upload = Upload(namespace, self.ids.uuid4(), media_type, None, source_url, self.clock.now() + UPLOAD_TTL, kind)
        if data is not None and media_type is not None:
            if media_type.kind == MediaKind.IMAGE:
                upload.data = data
            await self.media.add_bytes(namespace, upload.uuid, media_type.extension, data, UPLOAD_TTL)
        self._uploads[upload.uuid] = upload
        self._schedule(upload)
        return upload

    def find(self, namespace: str, uuid: str) -> Upload | None:
        """This key's live (unexpired, undeleted) upload of that UUID."""
        upload = self._uploads.get(uuid)
        if upload is None or upload.namespace != namespace or self.clock.now() >= upload.expires_at:
            return None
        return upload

    def used(self, upload: Upload) -> None:
        """An upload was used as an input: its 30 days start again."""
        upload.expires_at = self.clock.now() + UPLOAD_TTL
        self._schedule(upload)
        if upload.source_url is None:
            self.media.start_ttl(upload.uuid, UPLOAD_TTL)

    async def delete(self, namespace: str, uuid: str) -> Upload | None:
        """Forget this key's live upload of that UUID and delete its file; None when there is none."""
        upload = self.find(namespace, uuid)
        if upload is None:
            return None
        del self._uploads[uuid]
        self._expiries.compact(self._is_current, len(self._uploads))
        await self.media.discard(uuid)
        return upload

    def forget_expired(self) -> None:
        """Drop the uploads whose time is up (a housekeeping chore; their files go with the media
        store's sweep)."""
        now = self.clock.now()
        for item in self._expiries.due(now):
            if self._is_current(item):
                del self._uploads[item[0].uuid]

    def reset(self, namespace: str | None = None) -> int:
        """Drop one namespace's uploads (all when None); returns how many. Their files go with
        the media store's own reset."""
        doomed = forget(self._uploads, namespace, lambda _, upload: upload.namespace)
        self._expiries.compact(self._is_current, len(self._uploads))
        return len(doomed)

    def _schedule(self, upload: Upload) -> None:
        self._expiries.push(upload.expires_at, (upload, upload.expires_at))
        self._expiries.compact(self._is_current, len(self._uploads))

    def _is_current(self, item: tuple[Upload, float]) -> bool:
        upload, expires_at = item
        return self._uploads.get(upload.uuid) is upload and upload.expires_at == expires_at


def _invalid_media(why: str) -> RunwareError:
    return RunwareError("invalidMedia", f"The media could not be stored: {why} Send {LISTED_FORMATS}, as a data URI, "
                        "base64 or URL.", parameter="media", type="string")
