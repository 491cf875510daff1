"""Media inputs: inline references decoded, types sniffed from the bytes (images, videos, audio),
image sizes read from headers."""

from __future__ import annotations

import base64
import random
import tracemalloc
import uuid
from io import BytesIO

import pytest
from image_samples import bmp_header, data_uri, image, png_header, raw_base64
from media_samples import SAMPLES, UNLISTED, sample
from PIL import Image

from mockserver.media.formats import (
    AUDIO_TYPES, IMAGE_TYPES, MEDIA_TYPES, VIDEO_TYPES, MediaType, decodable, decode_inline, dimensions, sniff, type_of_url,
)
from mockserver.media.synth import CONTAINERS

UPLOADED_UUID = "aac49721-1964-481a-ae78-8a4e29b91402"
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp"),
           "GIF": ("gif", "image/gif"), "BMP": ("bmp", "image/bmp")}


def test_image_types_are_the_five_formats_runware_takes():
    assert {name: tuple(media_type) for name, media_type in IMAGE_TYPES.items()} == FORMATS
    assert {media_type.kind for media_type in IMAGE_TYPES.values()} == {"image"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_is_sniffed_from_its_bytes(fmt):
    data = image(123, 77, fmt)
    extension, content_type = FORMATS[fmt]
    assert sniff(data) == MediaType(extension, content_type)
    assert sniff(data).kind == "image"
    assert decodable(data) == MediaType(extension, content_type)
    assert dimensions(data) == (123, 77)


@pytest.mark.parametrize("garbage", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n truncated", b"GIF89a", b"BM",
                                     b"RIFF\x00\x00\x00\x00WEBPVP8 ", image(40, 30, "TIFF"), image(40, 30, "PPM")],
                         ids=["empty", "text", "png-signature-only", "gif-signature-only", "bmp-signature-only",
                              "webp-riff-only", "tiff", "ppm"])
def test_garbage_and_other_formats_are_refused(garbage):
    assert sniff(garbage) is None
    assert decodable(garbage) is None
    assert dimensions(garbage) is None


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_truncated_image_does_not_decode(fmt):
    """Its header may still name its type, except WEBP's: libwebp parses the whole file."""
    buffer = BytesIO()
    Image.frombytes("RGB", (256, 256), random.Random(7).randbytes(256 * 256 * 3)).save(buffer, format=fmt)
    cut = buffer.getvalue()[:len(buffer.getvalue()) * 2 // 3]
    assert sniff(cut) == (None if fmt == "WEBP" else MediaType(*FORMATS[fmt]))
    assert decodable(cut) is None


@pytest.mark.parametrize("declared", ["image/jpeg", "image/gif", "text/plain", "application/octet-stream"])
def test_the_bytes_decide_the_type_not_the_data_uri(declared):
    data = image(32, 16, "PNG")
    decoded = decode_inline(data_uri(data, declared))
    assert decoded == data
    assert sniff(decoded) == MediaType("png", "image/png")


@pytest.mark.parametrize("ref", ["data:image/png,plain", "data:image/png;base64", "data:image/png;charset=utf-8,QUJD",
                                 "%%%", "", "   ", "aac49721-1964-481a-ae78-8a4e29b91402",
                                 "https://example.com/a.png", "http://127.0.0.1/x.png"])
def test_what_is_not_inline_base64_decodes_to_nothing(ref):
    assert decode_inline(ref) is None


def test_decode_inline_handles_data_uri_and_base64_only():
    data = image(10, 20)
    assert decode_inline(data_uri(data)) == data
    assert decode_inline(raw_base64(data)) == data
    assert decode_inline(UPLOADED_UUID) is None
    assert decode_inline("https://example.com/a.png") is None
    assert decode_inline("%%%") is None


@pytest.mark.parametrize("wrap", [
    lambda text: base64.encodebytes(base64.b64decode(text)).decode(),  # MIME: 76 columns, "\n"
    lambda text: "\r\n".join(text[i:i + 64] for i in range(0, len(text), 64)),  # PEM-like, CRLF
    lambda text: "  " + " ".join(text[i:i + 10] for i in range(0, len(text), 10)) + "\t\n",
    lambda text: text.rstrip("="),  # padding left off
], ids=["mime-76", "crlf-64", "spaces-and-tabs", "unpadded"])
def test_wrapped_or_unpadded_base64_decodes_to_the_same_bytes(wrap):
    data = image(33, 17, "JPEG")
    text = raw_base64(data)
    assert text.endswith("=") and len(text) > 200  # padding to drop, and lines to wrap
    assert decode_inline(wrap(text)) == data
    assert decode_inline("data:image/jpeg;base64," + wrap(text)) == data


@pytest.mark.parametrize("header", [png_header, bmp_header], ids=["png", "bmp"])
def test_a_huge_declared_size_is_read_without_decoding_pixels(header):
    """100,000 x 100,000 is 10^10 pixels, far past Pillow's decompression-bomb limit (Image.open
    refuses it): the size is still just a number in a header here."""
    data = header(100_000, 100_000)
    tracemalloc.start()
    try:
        assert dimensions(data) == (100_000, 100_000)
        assert sniff(data) is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # 30 GB of RGB pixels if they were decoded
    assert decodable(data) is None  # storing it would decode every pixel: refused


def test_dimensions_need_only_the_header():
    assert dimensions(image(640, 480)[:64]) == (640, 480)


def test_dimensions_never_raise():
    assert dimensions(b"") is None
    assert dimensions(b"\x89PNG\r\n\x1a\n truncated") is None
    assert dimensions(png_header(0, 10)) is None


# -- video and audio: the formats Runware lists, by their magic bytes -------------------------------

def test_video_and_audio_types_are_the_formats_runware_lists():
    assert {name: tuple(media_type) for name, media_type in {**VIDEO_TYPES, **AUDIO_TYPES}.items()} == {
        "mp4": ("mp4", "video/mp4"), "mov": ("mov", "video/quicktime"), "webm": ("webm", "video/webm"),
        "mp3": ("mp3", "audio/mpeg"), "wav": ("wav", "audio/wav"), "flac": ("flac", "audio/flac")}
    assert {t.kind for t in VIDEO_TYPES.values()} == {"video"} and {t.kind for t in AUDIO_TYPES.values()} == {"audio"}


def test_generated_videos_are_served_as_the_types_the_table_knows():
    for container in CONTAINERS.values():
        assert MEDIA_TYPES[container.extension] == MediaType(container.extension, container.content_type)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_listed_video_and_audio_format_is_sniffed_from_a_real_file(name):
    _, extension, content_type = SAMPLES[name]
    assert sniff(sample(name)) == MediaType(extension, content_type)
    assert decodable(sample(name)) is None  # not an image: an image upload refuses it


@pytest.mark.parametrize("name", list(UNLISTED))
def test_real_files_of_unlisted_formats_are_refused(name):
    """Matroska (only its WebM profile is listed), Ogg Vorbis, M4A (an ISO file whose brand is
    audio-only)."""
    assert sniff(sample(name)) is None


@pytest.mark.parametrize("garbage", [b"ID3", b"\xff\xfb", b"\xff\xff\xff\xff", b"fLaC", b"RIFF\x00\x00\x00\x00AVI ",
                                     b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00isom3gp4", b"\x1a\x45\xdf\xa3",
                                     b"\x00\x00\x00\x08ftyp"],
                         ids=["id3-only", "mp3-sync-only", "ff-bytes", "flac-magic-only", "avi", "3gp", "ebml-only",
                              "short-ftyp"])
def test_magic_bytes_alone_do_not_make_a_listed_file(garbage):
    assert sniff(garbage) is None


def test_a_cut_file_keeps_its_type_when_its_header_is_whole():
    """Only headers are read, as for images: a truncated MP4 still says it is one."""
    assert sniff(sample("mp4")[:64]) == VIDEO_TYPES["mp4"]


@pytest.mark.parametrize("url, expected", [
    ("https://cdn.example/a/b/clip.MP4?sig=1", "mp4"), ("http://x.example/voice.mp3", "mp3"),
    ("https://x.example/photo.jpeg", "jpg"), ("https://x.example/photo", None), ("https://x.example/f.ogg", None),
    ("http://[::1/a.mp4", None),  # the URL pattern takes it, urllib refuses the host: no type, no crash
])
def test_a_url_names_a_type_only_by_its_extension(url, expected):
    assert type_of_url(url) == (MEDIA_TYPES[expected] if expected else None)


# -- over the wire: imageUpload keeps what the bytes are -----------------------------------------

async def test_an_upload_declared_as_jpeg_is_stored_and_served_as_the_png_it_is(api):
    data = image(48, 32, "PNG")
    status, body = await api.post([{"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()),
                                    "image": data_uri(data, "image/jpeg")}])
    assert status == 200, body
    url = body["data"][0]["imageURL"]
    assert url.endswith(".png")
    status, headers, served = await api.get(url)
    assert status == 200 and headers["Content-Type"] == "image/png" and served == data


async def test_an_upload_declaring_a_huge_size_is_invalid_image_and_the_server_lives_on(api):
    task_uuid = str(uuid.uuid4())
    status, error = await api.one_error([{"taskType": "imageUpload", "taskUUID": task_uuid,
                                          "image": data_uri(png_header(100_000, 100_000))}])
    assert status == 400 and error["code"] == "invalidImage" and error["taskUUID"] == task_uuid
    status, body = await api.post([{"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()),
                                    "image": data_uri(image(8, 8))}])
    assert status == 200, body
