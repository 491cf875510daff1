"""Media inputs: inline references decoded to bytes, and bytes told apart by their header.

The one module that knows which formats vidmock takes and how to recognise them: the images of
``IMAGE_TYPES`` (read with Pillow, for size resolution, ``imageUpload`` and ``mediaStorage``
alike), and the videos and audio of ``VIDEO_TYPES`` / ``AUDIO_TYPES`` (the formats Runware lists
for video and audio inputs, recognised by their magic bytes). The type of a file always comes from
its bytes, never from the media type a data URI declares or the extension a URL ends with: a label
can be wrong, the bytes cannot. ``sniff`` answers with a ``MediaType`` whose ``kind`` is read from
its Content-Type.

Video and audio are sniffed by hand rather than by a general file-type library: six containers
are a few byte comparisons each, and the checks here are as strict as vidmock needs (an MP4 is a
video only when its ``ftyp`` brand says so; an M4A or a Matroska file is not one of the listed
formats), where a general library ranks guesses among hundreds of types.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import NamedTuple
from urllib.parse import urlsplit

from PIL import Image

from mockserver.contract import definition_regex
from mockserver.contract.vocabulary import MediaKind

# The other forms a media reference takes (schemas/definitions.json); neither is inline bytes.
UUID_PATTERN = definition_regex("uuid")  # an uploaded image or medium, or a generated video
URL_PATTERN = definition_regex("httpURL")  # never fetched


class MediaType(NamedTuple):
    """What a file is, as served: its extension and Content-Type (a pair, so ``dict()`` of a
    table of them maps extensions to Content-Types)."""

    extension: str
    content_type: str

    @property
    def kind(self) -> MediaKind:
        """``image``, ``video`` or ``audio``: the Content-Type's top-level type."""
        return MediaKind(self.content_type.partition("/")[0])


# The images vidmock takes, by Pillow's format name (Runware lists jpeg, jpg, png, webp, bmp, gif).
IMAGE_TYPES = {"PNG": MediaType("png", "image/png"), "JPEG": MediaType("jpg", "image/jpeg"),
               "WEBP": MediaType("webp", "image/webp"), "GIF": MediaType("gif", "image/gif"),
               "BMP": MediaType("bmp", "image/bmp")}
# Video and audio inputs as Runware lists them (MP4, MOV, WEBM; MP3, WAV, FLAC), by extension.
VIDEO_TYPES = {"mp4": MediaType("mp4", "video/mp4"), "mov": MediaType("mov", "video/quicktime"),
               "webm": MediaType("webm", "video/webm")}
AUDIO_TYPES = {"mp3": MediaType("mp3", "audio/mpeg"), "wav": MediaType("wav", "audio/wav"),
               "flac": MediaType("flac", "audio/flac")}
MEDIA_TYPES: dict[str, MediaType] = {media_type.extension: media_type for media_type in (
    *IMAGE_TYPES.values(), *VIDEO_TYPES.values(), *AUDIO_TYPES.values())}
"""Every type vidmock stores or serves, by extension (``jpeg`` is read as ``jpg`` in URLs)."""


def _listing(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


FORMAT_NAMES = {kind: _listing([name.upper() for name in types])
                for kind, types in ((MediaKind.IMAGE, IMAGE_TYPES), (MediaKind.VIDEO, VIDEO_TYPES),
                                    (MediaKind.AUDIO, AUDIO_TYPES))}
"""The listed formats of each kind, as error messages name them ("PNG, JPEG, WEBP, GIF or BMP")."""
KIND_NAMES = {MediaKind.IMAGE: "an image", MediaKind.VIDEO: "a video", MediaKind.AUDIO: "audio"}


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


def is_inline(ref: str) -> bool:
    """Whether a media reference carries its bytes (a data URI or base64) rather than naming them
    (a UUID or a URL). A URL is told by its scheme alone: ``:`` is no base64 character."""
    if ref.startswith("data:"):
        return True
    return not (ref.startswith(("http://", "https://")) or UUID_PATTERN.match(ref))


def sniff(data: bytes) -> MediaType | None:
    """The type of a file from its header (no pixel or sample decoded); None unless it is one of
    the listed images (whose header parses), videos or audio."""
    opened = _open_header(data)
    if opened is not None:
        name, image = opened
        image.close()
        return IMAGE_TYPES[name]
    for check in _MAGIC_CHECKS:
        found = check(data)
        if found is not None:
            return found
    return None


def type_of_url(url: str) -> MediaType | None:
    """The listed type a URL's path names by its extension, or None. Only a hint: URLs are never
    fetched, so this is all vidmock can know of what one points at."""
    try:
        path = urlsplit(url).path
    except ValueError:  # the URL pattern lets through hosts urllib refuses (a bad [IPv6] literal)
        return None
    extension = path.rpartition(".")[2].lower()
    return MEDIA_TYPES.get("jpg" if extension == "jpeg" else extension)


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
    """The type of an image whose every pixel decodes (what an upload stores); None for anything
    else, truncated files and decompression bombs (Pillow's pixel limit) included."""
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


# -- images: Pillow's own header parsers ------------------------------------------------------------

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


# -- video and audio: magic bytes ------------------------------------------------------------------

# ISO base media (ftyp) brands of MP4 video; "qt  " is QuickTime. Audio-only brands (M4A, M4B)
# and 3GPP are other formats, not listed.
_MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41",
                         b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV",
                         b"NDSC", b"NDSH", b"NDSM", b"NDSP", b"NDSS", b"NDXC", b"NDXH", b"NDXM", b"NDXP",
                         b"NDXS", b"F4V ", b"XAVC"})
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})  # a MOV that predates ftyp boxes


def _iso_media(data: bytes) -> MediaType | None:
    """MP4 or MOV: an ``ftyp`` box first, whose major brand (else a compatible one) says which."""
    size = int.from_bytes(data[:4], "big")
    box = data[4:8]
    if box == b"ftyp" and 16 <= size <= len(data):
        major, compatible = data[8:12], {data[i:i + 4] for i in range(16, size - 3, 4)}
        if major == b"qt  ":
            return VIDEO_TYPES["mov"]
        if major in _MP4_BRANDS or (not major.startswith((b"M4A", b"M4B", b"M4P", b"3g")) and compatible & _MP4_BRANDS):
            return VIDEO_TYPES["mp4"]
        return None
    if box in _QUICKTIME_ATOMS and size >= 8:
        return VIDEO_TYPES["mov"]
    return None


def _webm(data: bytes) -> MediaType | None:
    """An EBML header whose DocType is ``webm`` (a Matroska DocType is another format)."""
    head = data[:64]
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"\x42\x82" in head and b"webm" in head:
        return VIDEO_TYPES["webm"]
    return None


def _mp3(data: bytes) -> MediaType | None:
    """An ID3v2 tag, or an MPEG audio layer III frame header (sync, version, bitrate, rate)."""
    if data[:3] == b"ID3" and len(data) >= 10 and 2 <= data[3] <= 4 and data[4] != 0xFF:
        return AUDIO_TYPES["mp3"]
    if len(data) >= 4 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
        bitrate, rate = data[2] >> 4, (data[2] >> 2) & 3
        if version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3:
            return AUDIO_TYPES["mp3"]
    return None


def _wav(data: bytes) -> MediaType | None:
    return AUDIO_TYPES["wav"] if data[:4] == b"RIFF" and data[8:12] == b"WAVE" else None


def _flac(data: bytes) -> MediaType | None:
    """``fLaC`` followed by the STREAMINFO block every FLAC stream starts with."""
    return AUDIO_TYPES["flac"] if data[:4] == b"fLaC" and len(data) >= 8 and data[4] & 0x7F == 0 else None


_MAGIC_CHECKS: tuple[Callable[[bytes], MediaType | None], ...] = (_iso_media, _webm, _mp3, _wav, _flac)
