"""Placeholder synthesis: what a client probing the file finds, determinism, caching, bounds, failures."""

import asyncio
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import av.logging
import imageio_ffmpeg
import pytest
from PIL import ImageStat

from mockserver.contract import allowed_sizes, model_profile
from mockserver.media.synth import SynthesisError, Synthesizer, VideoSpec, vp9_crf, x264_crf

FPS = model_profile()["fps"]
SIZES = [(width, height) for width, height, _ in allowed_sizes()]
FORMATS = ("MP4", "MOV", "WEBM")
CODECS = {"MP4": ("h264", "aac"), "MOV": ("h264", "aac"), "WEBM": ("vp9", "opus")}
MATRIX = [
    VideoSpec(width, height, 2, fmt, 95, audio, seed=7)
    for width, height in SIZES for fmt in FORMATS for audio in (True, False)
]


@dataclass(frozen=True)
class Probe:
    """What a client's probe of the file reports (PyAV stands in for ffprobe)."""

    width: int
    height: int
    r_frame_rate: Fraction
    avg_frame_rate: Fraction
    header_frames: int
    decoded_frames: int
    duration: float
    video_codec: str
    pix_fmt: str
    audio_codecs: tuple[str, ...]
    major_brand: str | None
    decode_errors: tuple
    first_frame_mean: tuple[float, ...]
    first_frame_is_flat: bool


@cache
def probe(path: Path) -> Probe:
    """Open and fully decode every stream, collecting libav error logs."""
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as container:
            video = container.streams.video[0]
            decoded, first = 0, None
            for frame in container.decode(*container.streams):
                if isinstance(frame, av.VideoFrame):
                    decoded += 1
                    first = first or frame.to_image()
            stats = ImageStat.Stat(first)
            return Probe(
                width=video.codec_context.width,
                height=video.codec_context.height,
                r_frame_rate=video.base_rate,
                avg_frame_rate=video.average_rate,
                header_frames=video.frames,
                decoded_frames=decoded,
                duration=container.duration / av.time_base,
                video_codec=video.codec_context.name,
                pix_fmt=video.codec_context.pix_fmt,
                audio_codecs=tuple(stream.codec_context.name for stream in container.streams.audio),
                major_brand=container.metadata.get("major_brand"),
                decode_errors=tuple(logs),
                first_frame_mean=tuple(stats.mean),
                first_frame_is_flat=all(low == high for low, high in first.getextrema()),
            )
    finally:
        av.logging.set_level(None)


def render_all(synth: Synthesizer, specs: list[VideoSpec]) -> list[Path]:
    async def gather():
        return await asyncio.gather(*(synth.render(spec) for spec in specs))

    return asyncio.run(gather())


@pytest.fixture(scope="module")
def matrix(run_dir) -> dict[VideoSpec, Path]:
    """Every profile size x format x audio on/off, rendered once and concurrently, into a fresh
    cache of this run that its xdist workers share (each file is rendered once, by one of them)."""
    synth = Synthesizer(run_dir / "synth-matrix")
    return dict(zip(MATRIX, render_all(synth, MATRIX)))


def spec_id(spec: VideoSpec) -> str:
    return f"{spec.width}x{spec.height}-{spec.output_format}-{'audio' if spec.audio else 'silent'}"


@pytest.mark.slow  # the size x format x audio sweep
@pytest.mark.parametrize("spec", MATRIX, ids=spec_id)
def test_exact_size_rate_and_frame_count(matrix, spec):
    found = probe(matrix[spec])
    assert (found.width, found.height) == (spec.width, spec.height)
    assert found.r_frame_rate == found.avg_frame_rate == Fraction(FPS, 1)
    assert found.decoded_frames == spec.duration * FPS
    if spec.output_format != "WEBM":  # WebM headers carry no frame count
        assert found.header_frames == spec.duration * FPS
    assert found.duration == pytest.approx(spec.duration, abs=0.05)  # Opus pre-skip adds ~8 ms


@pytest.mark.slow  # the size x format x audio sweep
@pytest.mark.parametrize("spec", MATRIX, ids=spec_id)
def test_codecs_pixel_format_and_audio_track(matrix, spec):
    found = probe(matrix[spec])
    video_codec, audio_codec = CODECS[spec.output_format]
    assert found.video_codec == video_codec
    assert found.pix_fmt == "yuv420p"
    assert found.audio_codecs == ((audio_codec,) if spec.audio else ())


@pytest.mark.slow  # the size x format x audio sweep
@pytest.mark.parametrize("spec", MATRIX, ids=spec_id)
def test_decodes_without_errors(matrix, spec):
    assert probe(matrix[spec]).decode_errors == ()


@pytest.mark.slow
@pytest.mark.parametrize("spec", [s for s in MATRIX if s.output_format == "MOV"], ids=spec_id)
def test_mov_is_quicktime(matrix, spec):
    assert probe(matrix[spec]).major_brand == "qt  "
    assert matrix[spec].suffix == ".mov"


@pytest.mark.parametrize("fmt", FORMATS)
def test_extension_and_content_type(fmt):
    spec = VideoSpec(1280, 720, 2, fmt, 95, False, seed=1)
    expected = {"MP4": ("mp4", "video/mp4"), "MOV": ("mov", "video/quicktime"), "WEBM": ("webm", "video/webm")}
    assert (spec.extension(), spec.content_type()) == expected[fmt]


@pytest.mark.slow
def test_fifteen_second_1080p_mp4_with_audio(tmp_path):
    spec = VideoSpec(1920, 1080, 15, "MP4", 95, True, seed=92921)
    found = probe(render_all(Synthesizer(tmp_path), [spec])[0])
    assert (found.width, found.height, found.decoded_frames, found.header_frames) == (1920, 1080, 450, 450)
    assert found.r_frame_rate == found.avg_frame_rate == Fraction(30, 1)
    assert found.duration == pytest.approx(15, abs=0.01)
    assert found.audio_codecs == ("aac",) and found.decode_errors == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_spec_gives_identical_bytes_from_fresh_caches(tmp_path, fmt):
    spec = VideoSpec(1280, 720, 3, fmt, 80, True, seed=1234)
    first = render_all(Synthesizer(tmp_path / "a"), [spec])[0]
    second = render_all(Synthesizer(tmp_path / "b"), [spec])[0]
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_different_seeds_look_different(tmp_path, fmt):
    specs = [VideoSpec(960, 960, 2, fmt, 80, True, seed=seed) for seed in (1, 2)]
    one, two = render_all(Synthesizer(tmp_path), specs)
    assert one.read_bytes() != two.read_bytes()
    assert probe(one).first_frame_mean != probe(two).first_frame_mean


@pytest.mark.parametrize("fmt", ["MP4", "WEBM"])
def test_higher_quality_gives_larger_files(tmp_path, fmt):
    low, high = render_all(
        Synthesizer(tmp_path), [VideoSpec(1280, 720, 2, fmt, quality, False, seed=5) for quality in (20, 99)]
    )
    assert high.stat().st_size > low.stat().st_size


def test_quality_maps_monotonically_to_crf():
    for crf in (x264_crf, vp9_crf):
        values = [crf(quality) for quality in range(20, 100)]
        assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert (x264_crf(20), x264_crf(99), vp9_crf(20), vp9_crf(99)) == (40, 16, 50, 15)


async def test_repeat_is_served_from_cache_without_ffmpeg(tmp_path):
    synth = Synthesizer(tmp_path)
    spec = VideoSpec(1280, 720, 2, "MP4", 95, True, seed=3)
    path = await synth.render(spec)
    runs = synth.stats()["ffmpeg_runs"]
    again = await synth.render(spec)
    assert again == path
    assert synth.stats()["ffmpeg_runs"] == runs  # served without starting ffmpeg: no clock needed to show it
    assert synth.stats()["hits"] == 1


async def test_cache_survives_a_new_synthesizer_on_the_same_directory(tmp_path):
    spec = VideoSpec(1280, 720, 2, "WEBM", 95, False, seed=3)
    path = await Synthesizer(tmp_path).render(spec)
    fresh = Synthesizer(tmp_path)
    assert await fresh.render(spec) == path
    assert fresh.stats()["ffmpeg_runs"] == 0


async def test_gop_and_audio_layers_are_reused_across_specs(tmp_path):
    synth = Synthesizer(tmp_path)
    base = VideoSpec(1280, 720, 2, "MP4", 95, True, seed=3)
    await synth.render(base)  # GOP + audio + remux
    await synth.render(replace(base, duration=4, audio=False))  # cached GOP: remux only
    await synth.render(replace(base, duration=4))  # cached GOP, new audio duration
    await synth.render(replace(base, quality=50))  # new GOP, cached audio
    layers = synth.stats()["layers"]
    assert (layers["gop"]["hits"], layers["gop"]["misses"]) == (2, 2)
    assert (layers["audio"]["hits"], layers["audio"]["misses"]) == (1, 2)
    assert synth.stats()["ffmpeg_runs"] == 3 + 1 + 2 + 2


async def test_concurrent_renders_of_one_spec_coalesce(tmp_path):
    synth = Synthesizer(tmp_path)
    spec = VideoSpec(1280, 720, 2, "MOV", 95, True, seed=11)
    paths = await asyncio.gather(*(synth.render(spec) for _ in range(5)))
    assert len(set(paths)) == 1
    stats = synth.stats()
    assert (stats["misses"], stats["coalesced"], stats["renders"]) == (1, 4, 1)
    assert stats["ffmpeg_runs"] == 3  # GOP, audio, remux


@pytest.mark.parametrize("limit", [1, 2])
async def test_concurrent_ffmpeg_processes_stay_within_the_bound(tmp_path, monkeypatch, limit):
    live = peak = 0
    spawn = asyncio.create_subprocess_exec

    async def counting_spawn(*args, **kwargs):
        process = await spawn(*args, **kwargs)
        communicate = process.communicate

        async def tracked_communicate(*a, **k):
            nonlocal live, peak
            live += 1
            peak = max(peak, live)
            try:
                return await communicate(*a, **k)
            finally:
                live -= 1

        process.communicate = tracked_communicate
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", counting_spawn)
    synth = Synthesizer(tmp_path, max_concurrency=limit)
    specs = [VideoSpec(720, 1280, 2, "MP4", 95, True, seed=seed) for seed in range(4)]
    await asyncio.gather(*(synth.render(spec) for spec in specs))
    assert peak == limit
    assert synth.stats()["peak_running"] == limit and synth.stats()["max_concurrency"] == limit


# Holds a render's ffmpeg (the call with -y; the build probe passes) until the file "release" appears.
GATED_FFMPEG = """#!/bin/sh
case " $* " in *" -y "*)
  : > "{gate}/started"
  turns=0
  while [ ! -e "{gate}/release" ]; do
    sleep 0.01; turns=$((turns + 1))
    if [ "$turns" -ge 3000 ]; then : > "{gate}/gave-up"; break; fi
  done;;
esac
exec "{ffmpeg}" "$@"
"""


async def test_rendering_never_blocks_the_event_loop(tmp_path, monkeypatch):
    """ffmpeg is held until the event loop itself releases it: a render that blocked the loop would
    hold it until the gate gives up (and says so), so the order of events proves it, not a clock."""
    gate = tmp_path / "gate"
    gate.mkdir()
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(GATED_FFMPEG.format(gate=gate, ffmpeg=imageio_ffmpeg.get_ffmpeg_exe()))
    wrapper.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(wrapper))
    render = asyncio.create_task(Synthesizer(tmp_path / "cache").render(VideoSpec(1280, 720, 2, "MP4", 95, True, seed=8)))
    while not (gate / "started").exists():
        if render.done():
            render.result()  # it failed before ffmpeg started: say why
        await asyncio.sleep(0.01)
    for _ in range(100):  # the loop keeps turning while ffmpeg runs
        await asyncio.sleep(0)
        assert not render.done()
    (gate / "release").touch()
    video = await render
    assert not (gate / "gave-up").exists()
    facts = probe(video)
    assert (facts.width, facts.height, facts.decoded_frames) == (1280, 720, 60)


async def test_ffmpeg_failure_raises_synthesis_error_with_stderr(tmp_path):
    synth = Synthesizer(tmp_path)
    with pytest.raises(SynthesisError) as failure:
        await synth.render(VideoSpec(1281, 720, 2, "MP4", 95, True, seed=1))  # x264 needs even sizes
    assert "divisible by 2" in failure.value.stderr
    stats = synth.stats()
    assert (stats["failures"], stats["renders"]) == (1, 0)
    assert "divisible by 2" in stats["last_stderr"]
    assert not list(tmp_path.rglob(".*.part*")) and not list(tmp_path.glob("*/videos/*"))  # nothing half-written
    assert (await synth.render(VideoSpec(1280, 720, 2, "MP4", 95, True, seed=1))).exists()


async def test_missing_ffmpeg_binary_is_a_synthesis_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(SynthesisError) as failure:
        await Synthesizer(tmp_path).render(VideoSpec(1280, 720, 2, "MP4", 95, False, seed=1))
    assert "no-such-ffmpeg" in failure.value.stderr


async def test_without_a_usable_font_the_video_is_drawn_without_text(tmp_path, monkeypatch):
    spec = VideoSpec(1280, 720, 2, "MP4", 95, True, seed=21)
    with_text = Synthesizer(tmp_path / "fonts")
    texted = probe(await with_text.render(spec))

    empty_config = tmp_path / "no-fonts.conf"
    empty_config.write_text('<?xml version="1.0"?><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty_config))  # fontconfig then finds no font at all
    without = Synthesizer(tmp_path / "no-fonts")
    plain = probe(await without.render(spec))

    assert with_text.stats()["text_overlay"] is True and not texted.first_frame_is_flat
    assert without.stats()["text_overlay"] is False and plain.first_frame_is_flat
    assert "font" in without.stats()["last_stderr"].lower()
    assert (plain.width, plain.height, plain.decoded_frames, plain.decode_errors) == (1280, 720, 60, ())
    assert without.stats()["failures"] == 0
    second = await without.render(replace(spec, seed=22))
    # the toolchain probe found out before any GOP was drawn: no failing attempt with text at all
    assert probe(second).first_frame_is_flat and without.stats()["layers"]["gop"]["misses"] == 2
    assert without.stats()["build"].split("-")[-2:-1] == ["plain"] and with_text.stats()["build"].split("-")[-2:-1] == ["text"]


async def test_a_waiter_giving_up_does_not_cancel_the_shared_render(tmp_path):
    synth = Synthesizer(tmp_path)
    spec = VideoSpec(1280, 720, 2, "MP4", 95, True, seed=12)
    impatient = asyncio.create_task(synth.render(spec))
    patient = asyncio.create_task(synth.render(spec))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert probe(await patient).decoded_frames == 60
    assert impatient.cancelled()
