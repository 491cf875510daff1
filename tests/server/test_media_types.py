"""Input images: inline references decoded, types sniffed from the bytes, sizes read from headers."""

from __future__ import annotations

import base64
import random
import tracemalloc
import uuid
from io import BytesIO

import pytest
from image_samples import bmp_header, data_uri, image, png_header, raw_base64
from PIL import Image

from mockserver.media_types import IMAGE_TYPES, MediaType, decodable, decode_inline, dimensions, sniff

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
