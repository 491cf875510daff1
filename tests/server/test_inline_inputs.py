"""Inline image inputs are read for real, over REST and WebSocket alike: bytes that are no listed
image are ``invalidImage`` naming the parameter (and a journalled violation, and what ``vidmock
validate`` prints); a real image is accepted and its aspect still sets the output size."""

from __future__ import annotations

import base64
import io
import json

import pytest
from api_channels import TRANSPORTS, only_error, only_item, open_channel
from image_samples import image
from media_samples import sample

from conftest import data_uri, video_task
from mockserver.commands.validate import run
from test_server_examples import probe

TEXT = base64.b64encode(b"Dear Runware, this is a letter, not a picture.").decode()
NOT_IMAGES = [
    ({"frameImages": ["data:image/png;base64,AAAA"]}, "inputs.frameImages[0]", "its bytes are none of the listed formats"),
    ({"frameImages": [{"image": TEXT, "frame": "last"}]}, "inputs.frameImages[0].image", "its bytes are none of the listed formats"),
    ({"referenceImages": ["https://x.example/a.png", data_uri(sample("wav"), "image/png")]}, "inputs.referenceImages[1]",
     "its bytes are audio (audio/wav)"),
    ({"referenceImages": [base64.b64encode(sample("mp4")).decode()]}, "inputs.referenceImages[0]",
     "its bytes are a video (video/mp4)"),
]


def without_size(task: dict) -> dict:
    del task["width"], task["height"]
    return task


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("inputs, parameter, why", NOT_IMAGES, ids=["zero-bytes", "text", "wav", "mp4"])
async def test_inline_bytes_that_are_no_image_are_invalid_image(api, transport, inputs, parameter, why):
    task = video_task(inputs=inputs)
    async with open_channel(transport, api) as channel:
        error = only_error(await channel.send([task]))
    assert (error["code"], error["parameter"], error["taskUUID"]) == ("invalidImage", parameter, task["taskUUID"])
    assert error["message"].startswith(f"{parameter} is not an image: {why}.")
    assert channel.status in (None, 400)
    [entry] = [e for e in await api.journal(taskUUID=task["taskUUID"])]
    assert entry["violations"][0]["errors"][0]["code"] == "invalidImage"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "BMP", "WEBP"])
async def test_a_real_inline_image_is_accepted_and_its_aspect_sets_the_size(api, transport, fmt):
    task = without_size(video_task(resolution="720p", inputs={"frameImages": [data_uri(image(300, 400, fmt), "image/png")]}))
    async with open_channel(transport, api) as channel:
        assert only_item(await channel.send([task]))["taskUUID"] == task["taskUUID"]
    _, done = await api.wait_done(task["taskUUID"])
    _, _, video = await api.get(done["data"][0]["videoURL"])
    assert probe(video)[:2] == (832, 1088)  # 3:4 snaps to the 720p size nearest in aspect


def test_vidmock_validate_reports_an_image_that_is_not_one(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps([video_task(inputs={"frameImages": ["data:image/png;base64,AAAA"]})]))
    out, err = io.StringIO(), io.StringIO()
    assert run(str(path), as_json=True, out=out, err=err) == 1
    report = json.loads(out.getvalue())
    assert report["status"] == 400
    assert [(e["code"], e["parameter"]) for e in report["violations"][0]] == [("invalidImage", "inputs.frameImages[0]")]
