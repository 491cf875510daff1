"""Size resolution: explicit dimensions, frame-image aspect snapped to the profile, defaults."""

import pytest
from image_samples import data_uri, image, png_header, raw_base64

from mockserver.contract import allowed_sizes
from mockserver.media.formats import dimensions
from mockserver.media.sizing import resolve_size

UPLOADED_UUID = "aac49721-1964-481a-ae78-8a4e29b91402"
UNKNOWN_UUID = "3ad204c3-a9de-4963-8a1a-c3911e3afafe"


def no_uploads(_uuid: str) -> None:
    return None


def task_with_frames(frame_images: list, resolution: str | None = None) -> dict:
    task = {"taskType": "videoInference", "model": "alibaba:wan@2.7", "inputs": {"frameImages": frame_images}}
    if resolution:
        task["resolution"] = resolution
    return task


def test_explicit_width_and_height_win_over_frame_images():
    task = task_with_frames([data_uri(image(300, 400))], "720p") | {"width": 1920, "height": 1080}
    assert resolve_size(task, no_uploads) == (1920, 1080)


@pytest.mark.parametrize(
    ("image_size", "resolution", "expected"),
    [
        ((400, 300), "720p", (1088, 832)),
        ((300, 400), "720p", (832, 1088)),
        ((500, 500), "720p", (960, 960)),
        ((500, 500), "1080p", (1440, 1440)),
        ((1600, 900), "720p", (1280, 720)),
        ((900, 1600), "1080p", (1080, 1920)),
        ((400, 300), "1080p", (1632, 1248)),
        ((300, 400), "1080p", (1248, 1632)),
    ],
)
def test_first_frame_aspect_snaps_to_nearest_profile_size(image_size, resolution, expected):
    task = task_with_frames([data_uri(image(*image_size))], resolution)
    assert resolve_size(task, no_uploads) == expected


def test_resolution_defaults_to_the_profile_default():
    assert resolve_size(task_with_frames([data_uri(image(300, 400))]), no_uploads) == (1248, 1632)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_jpeg_png_and_webp_dimensions_are_read(fmt):
    data = image(123, 77, fmt)
    assert dimensions(data) == (123, 77)
    mime = f"image/{fmt.lower()}"
    assert resolve_size(task_with_frames([data_uri(data, mime)], "720p"), no_uploads) == (1280, 720)


def test_raw_base64_is_decoded_locally():
    task = task_with_frames([raw_base64(image(300, 400, "JPEG"))], "720p")
    assert resolve_size(task, no_uploads) == (832, 1088)


def test_uploaded_uuid_is_looked_up_through_the_callable():
    asked = []

    def uploads(uuid: str) -> bytes | None:
        asked.append(uuid)
        return image(400, 300) if uuid == UPLOADED_UUID else None

    assert resolve_size(task_with_frames([UPLOADED_UUID], "720p"), uploads) == (1088, 832)
    assert asked == [UPLOADED_UUID]


def test_unknown_uuid_falls_back_to_the_default_aspect():
    assert resolve_size(task_with_frames([UNKNOWN_UUID], "720p"), no_uploads) == (1280, 720)


def test_a_frame_image_declaring_a_huge_size_still_gives_its_aspect():
    """40,000 x 30,000 is past Pillow's decompression-bomb limit; only the header is read."""
    assert resolve_size(task_with_frames([data_uri(png_header(40_000, 30_000))], "720p"), no_uploads) == (1088, 832)


def test_urls_are_not_fetched_and_mean_default_aspect():
    task = task_with_frames([{"image": "https://assets.runware.ai/assets/inputs/x.jpg", "frame": "first"}], "1080p")
    assert resolve_size(task, no_uploads) == (1920, 1080)


@pytest.mark.parametrize("garbage", ["!!!not base64!!!", raw_base64(b"not an image at all"), "data:image/png;base64,@@@", "data:image/png,plain"])
def test_unreadable_images_mean_default_aspect(garbage):
    assert resolve_size(task_with_frames([garbage], "720p"), no_uploads) == (1280, 720)


def test_nothing_to_go_on_gives_default_resolution_and_aspect():
    assert resolve_size({"taskType": "videoInference", "model": "alibaba:wan@2.7"}, no_uploads) == (1920, 1080)


@pytest.mark.parametrize("frame", ["first", 0])
def test_object_with_first_frame_position_is_the_first_frame(frame):
    frames = [{"image": data_uri(image(400, 300)), "frame": "last"}, {"image": data_uri(image(300, 400)), "frame": frame}]
    assert resolve_size(task_with_frames(frames, "720p"), no_uploads) == (832, 1088)


def test_plain_item_zero_is_the_first_frame_and_item_one_the_last():
    frames = [data_uri(image(300, 400)), data_uri(image(400, 300))]
    assert resolve_size(task_with_frames(frames, "720p"), no_uploads) == (832, 1088)


@pytest.mark.parametrize("frame", ["last", -1])
def test_only_a_last_frame_is_used_when_there_is_no_first(frame):
    frames = [{"image": data_uri(image(300, 400)), "frame": frame}]
    assert resolve_size(task_with_frames(frames, "720p"), no_uploads) == (832, 1088)


def test_last_frame_aspect_is_used_when_the_first_is_unreadable():
    frames = ["https://example.com/first.jpg", {"image": data_uri(image(300, 400)), "frame": "last"}]
    assert resolve_size(task_with_frames(frames, "720p"), no_uploads) == (832, 1088)


def test_every_resolved_size_is_an_allowed_size():
    allowed = {(w, h) for w, h, _ in allowed_sizes()}
    for ratio_w, ratio_h in [(1, 3), (3, 1), (5, 4), (4, 5), (21, 9), (9, 21), (1, 1)]:
        for resolution in ("720p", "1080p"):
            task = task_with_frames([data_uri(image(ratio_w * 40, ratio_h * 40))], resolution)
            assert resolve_size(task, no_uploads) in allowed

