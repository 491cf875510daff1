"""imageUpload: images kept per API key, served as media and resolvable as task inputs.

Inline images (data URI or base64) are decoded, checked to decode fully (``images``) and stored.
URL images are accepted as references and never fetched (vidmock makes no outbound requests for
inputs); their ``imageURL`` is the URL itself, since there are no bytes to serve.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mockserver.errors import RunwareError
from mockserver.ids import IdSource
from mockserver.images import URL_PATTERN, decodable, decode_inline
from mockserver.media import MediaStore, media_url

UPLOAD_TTL = 30 * 24 * 3600  # Runware deletes uploads 30 days after last use


@dataclass(frozen=True)
class Upload:
    image_uuid: str
    data: bytes | None  # None for a URL reference
    extension: str | None
    source_url: str | None

    def image_url(self, base_url: str) -> str:
        if self.source_url is not None:
            return self.source_url
        return media_url(base_url, self.image_uuid, self.extension)


class UploadStore:
    def __init__(self, media: MediaStore, ids: IdSource) -> None:
        self.media = media
        self.ids = ids
        self._uploads: dict[tuple[str, str], Upload] = {}

    async def add(self, namespace: str, image: str) -> Upload:
        """Store one ``image`` parameter; raises ``invalidImage`` when it is not a readable image."""
        if URL_PATTERN.match(image):
            upload = Upload(self.ids.uuid4(), None, None, image)
        else:
            data = decode_inline(image)
            media_type = await asyncio.to_thread(decodable, data) if data else None
            if media_type is None:
                raise RunwareError("invalidImage", "The image could not be decoded. Send a PNG, JPEG, WEBP, "
                                   "GIF or BMP as a data URI, base64 or URL.", parameter="image", type="string")
            upload = Upload(self.ids.uuid4(), data, media_type.extension, None)
            await self.media.add_bytes(namespace, upload.image_uuid, media_type.extension, data, UPLOAD_TTL)
        self._uploads[(namespace, upload.image_uuid)] = upload
        return upload

    def find(self, namespace: str, image_uuid: str) -> Upload | None:
        return self._uploads.get((namespace, image_uuid))

    def reset(self, namespace: str | None = None) -> int:
        """Drop one namespace's uploads (all when None); returns how many. Their files go with
        the media store's own reset."""
        doomed = [key for key in self._uploads if namespace is None or key[0] == namespace]
        for key in doomed:
            del self._uploads[key]
        return len(doomed)
