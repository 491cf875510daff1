"""The render cache that outlives a run: one folder per toolchain, shared by processes, posters."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from benchmarks.serverproc import descendants
from conformance.client import MockClient
from conftest import new_uuid, video_task
from mockserver.media.synth import Synthesizer, VideoSpec, seed_colour
from mockserver.media.synth_build import synthesis_code_digest
from mockserver.state import JOBS, SYNTHESIZER

SPEC = VideoSpec(1280, 720, 2, "MP4", 95, True, seed=41)


def only_build(cache: Path) -> Path:
    builds = [folder for folder in cache.iterdir() if folder.is_dir()]
    assert len(builds) == 1, builds
    return builds[0]


async def test_files_live_under_a_folder_named_by_ffmpeg_build_and_fonts(tmp_path):
    synth = Synthesizer(tmp_path)
    rendered = await synth.render_file(SPEC)
    build = only_build(tmp_path)
    facts = json.loads((build / "build.json").read_text())
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    assert facts["ffmpeg"]["version"] == imageio_ffmpeg.get_ffmpeg_version()
    assert facts["ffmpeg"]["size"] == os.path.getsize(exe) and len(facts["ffmpeg"]["sha256Ends"]) == 64
    assert facts["synthesisCode"] == synthesis_code_digest() and facts["text"] is True and len(facts["fontProbe"]) == 64
    assert build.name == synth.stats()["build"] == f"{facts['ffmpeg']['version']}-text-{build.name[-12:]}"
    assert rendered.path == build / "videos" / "1280x720-30fps-2s-mp4-q95-audio-seed41.mp4"


async def test_another_ffmpeg_binary_gets_its_own_folder_and_renders_again(tmp_path, monkeypatch):
    await Synthesizer(tmp_path / "cache").render(SPEC)
    wrapper = tmp_path / "ffmpeg-wrapper"  # the same ffmpeg behind another binary: another identity
    wrapper.write_text(f'#!/bin/sh\nexec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(wrapper))
    other = Synthesizer(tmp_path / "cache")
    await other.render(SPEC)
    assert other.stats()["renders"] == 1 and other.stats()["probes"] == 1
    assert len([folder for folder in (tmp_path / "cache").iterdir()]) == 2


async def test_without_fonts_the_same_cache_folder_gives_plain_videos_not_the_texted_ones(tmp_path, monkeypatch):
    texted = await Synthesizer(tmp_path).render(SPEC)
    no_fonts = tmp_path / "no-fonts.conf"
    no_fonts.write_text('<?xml version="1.0"?><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(no_fonts))
    plain_synth = Synthesizer(tmp_path)
    plain = await plain_synth.render(SPEC)
    assert plain != texted and plain_synth.stats()["renders"] == 1
    assert plain.parent.parent.name.split("-")[-2] == "plain" and texted.parent.parent.name.split("-")[-2] == "text"
    assert plain.read_bytes() != texted.read_bytes()


async def test_a_second_synthesizer_on_the_cache_runs_no_ffmpeg_at_all(tmp_path):
    await Synthesizer(tmp_path).render(SPEC)
    again = Synthesizer(tmp_path)
    rendered = await again.render_file(SPEC)
    assert rendered.poster is not None and rendered.poster.exists()
    stats = again.stats()
    assert (stats["ffmpeg_runs"], stats["probes"], stats["renders"], stats["layers"]["video"]["hits"]) == (0, 0, 0, 1)


async def test_videos_of_drawn_seeds_go_to_the_scratch_folder_and_audio_to_the_cache(tmp_path):
    synth = Synthesizer(tmp_path / "cache", scratch_dir=tmp_path / "scratch")
    drawn = await synth.render(VideoSpec(1280, 720, 2, "MP4", 95, True, seed=977, keep=False))
    build = synth.stats()["build"]
    assert drawn.is_relative_to(tmp_path / "scratch" / build / "videos")
    assert [p.name for p in (tmp_path / "scratch" / build / "gops").glob("*.mp4")] == ["1280x720-30fps-mp4-q95-seed977-text.mp4"]
    assert not (tmp_path / "cache" / build / "videos").exists() and not (tmp_path / "cache" / build / "gops").exists()
    assert len(list((tmp_path / "cache" / build / "audio").iterdir())) == 1


async def test_an_unusable_cache_folder_gives_way_to_the_scratch_folder(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    synth = Synthesizer(blocked, scratch_dir=tmp_path / "scratch")
    rendered = await synth.render(SPEC)
    assert rendered.is_relative_to(tmp_path / "scratch") and synth.stats()["failures"] == 0
    assert synth.stats()["cache_error"].startswith(f"{blocked}: ")
    assert "renders last for this run only" in caplog.text


async def test_the_poster_is_the_first_frame_scaled_into_a_320_box(tmp_path):
    synth = Synthesizer(tmp_path)
    for width, height, expected in [(1280, 720, (320, 180)), (720, 1280, (180, 320)), (960, 960, (320, 320))]:
        rendered = await synth.render_file(VideoSpec(width, height, 2, "WEBM", 95, False, seed=5))
        image = Image.open(io.BytesIO(rendered.poster.read_bytes()))
        assert (image.format, image.size) == ("JPEG", expected)
        corner = image.convert("RGB").getpixel((2, 2))  # the background: the seed's colour
        wanted = bytes.fromhex(seed_colour(5)[2:])
        assert all(abs(got - want) <= 6 for got, want in zip(corner, wanted)), (corner, wanted)
    assert synth.stats()["ffmpeg_runs"] == 3 * 2  # GOP (with its poster) and remux: no process of its own


RENDER_ONE = """
import asyncio, json, os, sys, time
from pathlib import Path
from mockserver.media.synth import Synthesizer, VideoSpec
cache, go = Path(sys.argv[1]), Path(sys.argv[2])
async def main():
    synth = Synthesizer(cache)
    await synth.build()  # probe first, so that both processes reach the cache at the same moment
    print("ready", flush=True)
    while not go.exists():
        await asyncio.sleep(0.005)
    await synth.render(VideoSpec(1920, 1080, 4, "WEBM", 95, True, seed=4242))
    print(json.dumps(synth.stats()))
asyncio.run(main())
"""


async def test_two_processes_sharing_the_cache_render_each_file_once(tmp_path):
    go = tmp_path / "go"
    workers = [await asyncio.create_subprocess_exec(sys.executable, "-c", RENDER_ONE, str(tmp_path / "cache"), str(go),
                                                    stdout=asyncio.subprocess.PIPE) for _ in range(2)]
    for worker in workers:  # each has probed ffmpeg and waits for the go: an event, not a guess of how long
        assert await worker.stdout.readline() == b"ready\n"
    go.touch()
    stats = [json.loads((await worker.communicate())[0]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert sum(s["ffmpeg_runs"] for s in stats) == 3  # one GOP, one audio track, one remux between them
    assert sum(s["renders"] for s in stats) == 1
    assert sum(s["layers"]["video"].get("elsewhere", 0) + s["layers"]["video"].get("hits", 0) for s in stats) == 1


async def test_a_server_serves_each_videos_poster_next_to_it(server, api):
    task = video_task(seed=77)
    await api.post([task])
    _, done = await api.wait_done(task["taskUUID"])
    video_url = done["data"][0]["videoURL"]
    poster_url = video_url.rsplit(".", 1)[0] + ".jpg"
    status, headers, body = await api.get(poster_url)
    assert (status, headers["Content-Type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(body)).size == (320, 180)
    synthesizer = server.app[SYNTHESIZER]
    assert body == (await synthesizer.render_file(VideoSpec(1280, 720, 2, "MP4", 95, False, seed=77))).poster.read_bytes()

    status, _, _ = await api.get(poster_url.replace(".jpg", ".png"))
    assert status == 404
    await api.reset()
    status, _, _ = await api.get(poster_url)
    assert status == 404  # gone with its video


async def test_a_second_server_on_the_same_cache_dir_renders_nothing_again(make_server, tmp_path):
    results = []
    for _ in range(2):
        server = await make_server(cache_dir=tmp_path / "renders")
        task = video_task(seed=4711, duration=3)
        client = MockClient(server.base_url, "k")
        await client.post([task])
        _, done = await client.wait_done(task["taskUUID"])
        assert done["data"][0]["status"] == "success"
        results.append(server.app[SYNTHESIZER].stats())
    assert results[0]["renders"] == 1 and results[0]["ffmpeg_runs"] >= 2
    assert (results[1]["renders"], results[1]["ffmpeg_runs"]) == (0, 0)


def ffmpeg_children() -> list[int]:
    """This process's descendants that run ffmpeg."""
    running = []
    for pid in descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:  # it ended between the listing and this read
            continue
        if "ffmpeg" in command:
            running.append(pid)
    return running


async def test_a_stopped_server_leaves_no_render_task_and_no_ffmpeg_behind(make_server, http, tmp_path):
    """A render still running at shutdown is cancelled with the server, not left to the event loop's
    end; the next server sharing the cache then renders that video itself, without waiting."""
    task = video_task(seed=7, width=1920, height=1080, duration=5)
    server = await make_server(cache_dir=tmp_path)  # an empty cache: the render below is really running
    assert (await MockClient(server.base_url, "k", session=http).post([task]))[0] == 200
    for _ in range(250):
        if ffmpeg_children():
            break
        await asyncio.sleep(0.02)
    assert ffmpeg_children(), "the render should be running when the server stops"
    await server.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert ffmpeg_children() == []
    again = await make_server(cache_dir=tmp_path)
    repeat = {**task, "taskUUID": new_uuid()}
    assert (await MockClient(again.base_url, "k", session=http).post([repeat]))[0] == 200
    jobs = again.app[JOBS]
    job = jobs.get("k", repeat["taskUUID"])
    await asyncio.wait_for(jobs.wait_rendered(job), 60)
    assert job.render_error is None and again.app[SYNTHESIZER].stats()["layers"]["video"].get("elsewhere", 0) == 0
