"""GET /media/<uuid>.<ext>: ranges, validators, HEAD, 404s, traversal and the disk cap."""

from __future__ import annotations

import pytest
import yarl

from conformance.client import MockClient
from conftest import KEY, data_uri, new_uuid, png_bytes, video_task
from mockserver.core.clock import ManualClock
from mockserver.media.store import MediaStore

NS = "test-key"  # the namespace the stored media belong to


@pytest.fixture
async def video(api) -> tuple[str, bytes]:
    task = video_task()
    await api.post([task])
    _, body = await api.wait_done(task["taskUUID"])
    url = body["data"][0]["videoURL"]
    status, _, data = await api.get(url)
    assert status == 200 and len(data) > 1000
    return url, data


@pytest.mark.parametrize("header, piece", [
    ("bytes=0-99", slice(0, 100)),
    ("bytes=100-", slice(100, None)),
    ("bytes=-50", slice(-50, None)),
    ("bytes=10-10", slice(10, 11)),
])
async def test_range_request_returns_206_with_the_exact_slice(api, video, header, piece):
    url, data = video
    status, headers, body = await api.get(url, {"Range": header})
    assert status == 206 and body == data[piece]
    assert headers["Content-Length"] == str(len(body)) and headers["Content-Type"] == "video/mp4"
    assert headers["Content-Range"].endswith(f"/{len(data)}")


async def test_unsatisfiable_range_is_416(api, video):
    url, data = video
    status, headers, _ = await api.get(url, {"Range": f"bytes={len(data) + 10}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"


async def test_etag_and_if_none_match_give_304(api, video):
    url, _ = video
    _, headers, _ = await api.get(url)
    status, _, body = await api.get(url, {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""


async def test_head_has_length_and_no_body(api, video):
    url, data = video
    status, headers, body = await api.get(url, method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(data))
    assert headers["Accept-Ranges"] == "bytes"


async def test_unknown_uuid_and_wrong_extension_are_404(api, video):
    url, _ = video
    assert (await api.get(url.replace(".mp4", ".webm")))[0] == 404
    assert (await api.get(f"{api.base_url}/media/{new_uuid()}.mp4"))[0] == 404


async def test_a_name_with_a_trailing_newline_is_404(api, video):
    """The name pattern's ``$`` is the end of the name (as GET /openapi.json documents it, in
    ECMA-262), not also the place before a final newline, as Python's ``$`` would have it."""
    url, _ = video
    async with api.session.get(yarl.URL(url + "%0A", encoded=True)) as response:
        assert response.status == 404
    assert (await api.get(url))[0] == 200


@pytest.mark.parametrize("path", [
    "/media/..%2F..%2Fetc%2Fpasswd",
    "/media/%2e%2e%2fpyproject.toml",
    "/media/../../etc/passwd",
    "/media/cache",
    "/media/.mp4",
    "/media/0d84f171-2e54-4c07-836e-05788795736d.mp4.part",
    "/media/0D84F171-2E54-4C07-836E-05788795736D.MP4",
])
async def test_traversal_and_malformed_names_are_404(api, video, path):
    async with api.session.get(yarl.URL(api.base_url + path, encoded=True)) as response:
        assert response.status == 404
        assert b"root:" not in await response.read()


async def test_uploaded_image_ranges_work_too(api):
    image = png_bytes(32, 32)
    _, body = await api.post([{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(image)}])
    status, _, part = await api.get(body["data"][0]["imageURL"], {"Range": "bytes=0-7"})
    assert status == 206 and part == image[:8] == b"\x89PNG\r\n\x1a\n"


async def test_cap_evicts_expired_first_then_oldest(tmp_path):
    clock = ManualClock()
    store = MediaStore(tmp_path, clock, cap_bytes=250)
    old = await store.add_bytes(NS, new_uuid(), "png", b"a" * 100, ttl=1000)
    clock.advance(1)
    short = await store.add_bytes(NS, new_uuid(), "png", b"b" * 100, ttl=5)
    clock.advance(10)  # `short` has expired
    newer = await store.add_bytes(NS, new_uuid(), "png", b"c" * 100, ttl=1000)
    assert store.lookup(f"{old.media_uuid}.png") and store.lookup(f"{newer.media_uuid}.png")
    assert not short.path.exists()
    newest = await store.add_bytes(NS, new_uuid(), "png", b"d" * 100, ttl=1000)
    assert store.lookup(f"{old.media_uuid}.png") is None and not old.path.exists()
    assert store.lookup(f"{newest.media_uuid}.png") and store.stats()["bytes"] == 200


async def test_pending_videos_are_never_evicted_by_the_cap(tmp_path):
    source = tmp_path / "rendered.mp4"
    source.write_bytes(b"v" * 300)
    store = MediaStore(tmp_path / "media", ManualClock(), cap_bytes=100)
    pending = store.add_file(NS, new_uuid(), "mp4", source)
    assert store.lookup(f"{pending.media_uuid}.mp4") is not None and source.exists()


async def test_server_keeps_serving_media_within_a_small_cap(make_server, http):
    server = await make_server(media_cap_mb=0.2)  # one 2 s 720p video (~130 kB) fits, two do not
    api = MockClient(server.base_url, KEY, session=http)
    urls = []
    for _ in range(2):
        task = video_task()
        await api.post([task])
        _, body = await api.wait_done(task["taskUUID"])
        urls.append(body["data"][0]["videoURL"])
    assert (await api.get(urls[1]))[0] == 200
    assert (await api.get(urls[0]))[0] == 404


async def test_an_expired_video_url_leaves_the_synthesizer_cache_intact(tmp_path):
    rendered = tmp_path / "cache" / "videos" / "clip.mp4"
    rendered.parent.mkdir(parents=True)
    rendered.write_bytes(b"v" * 50)
    clock = ManualClock()
    store = MediaStore(tmp_path / "media", clock, cap_bytes=10)
    entry = store.add_file(NS, new_uuid(), "mp4", rendered)
    store.start_ttl(entry.media_uuid, 5)
    clock.advance(6)
    await store.sweep()
    assert store.lookup(f"{entry.media_uuid}.mp4") is None and store.stats()["bytes"] == 0
    assert rendered.read_bytes() == b"v" * 50  # served in place, never owned by the media store


async def test_results_sharing_one_cached_video_count_its_bytes_once(tmp_path):
    rendered = tmp_path / "clip.mp4"
    rendered.write_bytes(b"v" * 100)
    clock = ManualClock()
    store = MediaStore(tmp_path / "media", clock, cap_bytes=150)
    entries = [store.add_file(NS, new_uuid(), "mp4", rendered) for _ in range(5)]
    for entry in entries:
        store.start_ttl(entry.media_uuid, 1000)
    await store.sweep()
    assert store.stats()["bytes"] == 100  # five URLs, one file on disk: within the cap, nothing evicted
    assert all(store.lookup(f"{e.media_uuid}.mp4") for e in entries)
    clock.advance(1000)
    await store.sweep()
    assert store.stats() == {"files": 0, "distinct_files": 0, "bytes": 0, "cap_bytes": 150}


async def test_uploads_evicted_by_a_published_video_are_deleted_at_the_next_sweep(tmp_path):
    rendered = tmp_path / "clip.mp4"
    rendered.write_bytes(b"v" * 100)
    store = MediaStore(tmp_path / "media", ManualClock(), cap_bytes=150)
    upload = await store.add_bytes(NS, new_uuid(), "png", b"i" * 100, ttl=1000)
    video = store.add_file(NS, new_uuid(), "mp4", rendered)  # synchronous: evicts the upload, deletes nothing yet
    assert store.lookup(f"{upload.media_uuid}.png") is None and upload.path.exists()
    assert store.lookup(f"{video.media_uuid}.mp4") is not None and store.stats()["bytes"] == 100
    await store.sweep()
    assert not upload.path.exists() and rendered.exists()



async def test_the_sweep_follows_the_latest_ttl_of_an_entry(tmp_path):
    rendered = tmp_path / "clip.mp4"
    rendered.write_bytes(b"v" * 10)
    clock = ManualClock()
    store = MediaStore(tmp_path / "media", clock, cap_bytes=1000)
    entry = store.add_file(NS, new_uuid(), "mp4", rendered)
    store.start_ttl(entry.media_uuid, 5)
    store.start_ttl(entry.media_uuid, 100)  # a later expiry replaces the first
    clock.advance(10)
    await store.sweep()
    assert store.lookup(f"{entry.media_uuid}.mp4") is entry
    store.start_ttl(entry.media_uuid, 0)  # an earlier one too
    await store.sweep()
    assert store.lookup(f"{entry.media_uuid}.mp4") is None and store.stats()["files"] == 0
