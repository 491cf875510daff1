"""Input images: inline references decoded to bytes, and bytes told apart by their header.

The one module that opens Pillow, so that what vidmock takes as an image (the formats of
``IMAGE_TYPES``) is decided in one place for size resolution and ``imageUpload`` alike. The type
of a file always comes from its bytes, never from the media type a data URI declares: a label can
be wrong, the bytes cannot. ``sniff`` answers with a ``MediaType`` whose ``kind`` is read from its
Content-Type, so video and audio can be sniffed by the same call when a task needs them.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import NamedTuple

from PIL import Image

from mockserver.contract import definition_regex

# The other forms an image reference takes (schemas/definitions.json); neither is inline bytes.
UUID_PATTERN = definition_regex("uuid")  # an uploaded image or a generated video
URL_PATTERN = definition_regex("httpURL")  # never fetched


class MediaType(NamedTuple):
    """What a file is, as served: its extension and Content-Type (a pair, so ``dict()`` of a
    table of them maps extensions to Content-Types)."""

    extension: str
    content_type: str

    @property
    def kind(self) -> str:
        """``image``, ``video`` or ``audio``: the Content-Type's top-level type."""
        return self.content_type.partition("/")[0]


# The images vidmock takes, by Pillow's format name (Runware lists jpeg, jpg, png, webp, bmp, gif).
IMAGE_TYPES = {"PNG": MediaType("png", "image/png"), "JPEG": MediaType("jpg", "image/jpeg"),
               "WEBP": MediaType("webp", "image/webp"), "GIF": MediaType("gif", "image/gif"),
               "BMP": MediaType("bmp", "image/bmp")}


def decode_inline(ref: str) -> bytes | None:
    """The bytes of an inline reference (data URI or raw base64), whatever media type a data URI
    declares; None for UUIDs, URLs and garbage. Whitespace (line-wrapped base64) and missing
    padding are forgiven."""
    ref = ref.strip()
    if UUID_PATTERN.match(ref) or URL_PATTERN.match(ref):
        return None
    if ref.startswith("data:"):
        header, separator, payload = ref.partition(",")
        if not separator or not header.endswith(";base64"):
            return None
        ref = payload
    compact = "".join(ref.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def sniff(data: bytes) -> MediaType | None:
    """The type of a file from its header (no pixel decoded); None unless it is an image of
    ``IMAGE_TYPES`` whose header parses."""
    opened = _open_header(data)
    if opened is None:
        return None
    name, image = opened
    image.close()
    return IMAGE_TYPES[name]


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by an image's header, however large, without decoding pixels;
    None when unreadable."""
    opened = _open_header(data)
    if opened is None:
        return None
    with opened[1] as image:
        width, height = image.size
    return (width, height) if width > 0 and height > 0 else None


def decodable(data: bytes) -> MediaType | None:
    """The type of an image whose every pixel decodes (what ``imageUpload`` stores); None for
    anything else, truncated files and decompression bombs (Pillow's pixel limit) included."""
    opened = _open_header(data)
    if opened is None:
        return None
    name, header = opened
    header.close()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # below twice Pillow's limit a large image only warns
            with Image.open(BytesIO(data), formats=(name,)) as image:
                image.load()
    except Exception:  # noqa: BLE001 - Pillow raises many types for unreadable input
        return None
    return IMAGE_TYPES[name]


@cache
def _openers() -> tuple[tuple[str, Callable, Callable | None], ...]:
    """(format, Pillow's header parser, Pillow's magic-bytes check) per format of ``IMAGE_TYPES``."""
    Image.init()  # registers every plugin; WEBP is not among the few Pillow loads up front
    return tuple((name, *Image.OPEN[name]) for name in IMAGE_TYPES)


def _open_header(data: bytes) -> tuple[str, Image.Image] | None:
    """(format, image with only its header read) by the plugin whose magic bytes match.

    ``Image.open`` would do the same, then refuse a header declaring more than twice Pillow's pixel
    limit; reading a size decodes nothing, so the plugin is called directly.
    """
    prefix = data[:16]
    for name, factory, accept in _openers():
        verdict = accept(prefix) if accept is not None else True
        if verdict is not True:  # False, or a str: "looks like it, but this Pillow cannot read it"
            continue
        try:
            return name, factory(BytesIO(data), None)
        except Exception:  # noqa: BLE001 - a malformed header raises any type; try the next format
            continue
    return None
