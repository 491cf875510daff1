"""The synthesizer's cached LOOP renders against a plain single-pass ffmpeg encode. For each case:
- ``baseline_s``: one ffmpeg process encoding every frame of the same look (colour, seed text,
  frame counter, tone) with the same encoders and container flags;
- ``cold_s``: a fresh cache directory per run, so GOP, audio and file caches are all empty;
- ``warm_parts_cold_file_s``: GOP and audio cached, the finished file not (a remux only);
- ``repeat_s``: the same spec again, served from the file cache.
Every figure is a median over ``--runs`` runs after one untimed warm-up of each kind.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import ffmpeg
import imageio_ffmpeg

from benchmarks.serverproc import arguments, machine, print_report
from mockserver.media.synth import (AUDIO_SAMPLE_RATE, QUIET_ARGS, Synthesizer, VideoSpec, draw_seed_overlay, seed_colour,
                              seed_tone_hz)

CASES = {
    "1080p-15s-mp4-audio": VideoSpec(1920, 1080, 15, "MP4", 95, True, seed=92921),
    "720p-5s-mp4": VideoSpec(1280, 720, 5, "MP4", 95, False, seed=73685),
    "1080p-15s-webm-audio": VideoSpec(1920, 1080, 15, "WEBM", 95, True, seed=92921),
}


def single_pass_command(spec: VideoSpec, out: Path) -> list[str]:
    """What a straightforward mock would run: encode all ``duration * fps`` frames in one go."""
    container = spec.container
    frames = ffmpeg.input(f"color=c={seed_colour(spec.seed)}:s={spec.width}x{spec.height}:r={spec.fps}"
                          f":d={spec.duration}", f="lavfi")
    streams = [draw_seed_overlay(frames, spec)]
    audio_options = {}
    if spec.audio:
        tone = seed_tone_hz(spec.seed)
        streams.append(ffmpeg.input(f"sine=f={tone}:r={AUDIO_SAMPLE_RATE}:d={spec.duration}", f="lavfi"))
        audio_options = container.audio.options(spec.quality)
    return ffmpeg.output(
        *streams, str(out), f=container.muxer, pix_fmt="yuv420p", g=spec.fps,
        **{"frames:v": spec.duration * spec.fps}, **container.video.options(spec.quality),
        **audio_options, **container.mux_options,
    ).global_args(*QUIET_ARGS).overwrite_output().compile(cmd=imageio_ffmpeg.get_ffmpeg_exe())


async def time_baseline(spec: VideoSpec, workdir: Path) -> float:
    argv = single_pass_command(spec, workdir / f"baseline.{spec.extension()}")
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(stderr.decode())
    return elapsed


async def time_render(synth: Synthesizer, spec: VideoSpec) -> float:
    started = time.perf_counter()
    await synth.render(spec)
    return time.perf_counter() - started


async def measure_case(spec: VideoSpec, runs: int, workdir: Path) -> dict:
    def fresh_dir() -> Path:
        return Path(tempfile.mkdtemp(dir=workdir))

    timings: dict[str, list[float]] = {"baseline_s": [], "cold_s": [], "warm_parts_cold_file_s": [], "repeat_s": []}
    for run in range(runs + 1):  # run 0 is the untimed warm-up
        results = {"baseline_s": await time_baseline(spec, fresh_dir())}

        cache = fresh_dir()
        synth = Synthesizer(cache)
        results["cold_s"] = await time_render(synth, spec)
        results["repeat_s"] = await time_render(synth, spec)

        for videos in cache.glob("*/videos"):  # keep the GOP and audio layers only (of the build's folder)
            shutil.rmtree(videos)
        results["warm_parts_cold_file_s"] = await time_render(Synthesizer(cache), spec)
        if run:
            for name, value in results.items():
                timings[name].append(value)

    medians = {name: round(statistics.median(values), 6) for name, values in timings.items()}
    return medians | {
        "ratio_cold_vs_baseline": round(medians["cold_s"] / medians["baseline_s"], 3),
        "ratio_warm_parts_vs_baseline": round(medians["warm_parts_cold_file_s"] / medians["baseline_s"], 3),
        "runs": runs,
    }


async def run(runs: int) -> dict:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    version = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    with tempfile.TemporaryDirectory(prefix="vidmock-bench-") as workdir:
        cases = {name: await measure_case(spec, runs, Path(workdir)) for name, spec in CASES.items()}
    return {"machine": machine() | {"ffmpeg": version, "ffmpeg_exe": exe},
            "targets": {"1080p-15s-mp4-audio ratio_cold_vs_baseline": "<= 0.25", "repeat_s": "<= 0.05"},
            "cases": cases}


def main(argv=None) -> None:
    args = arguments(__doc__, argv, quick={"runs": 1}, runs=(7, "timed runs per figure (median reported)"))
    print_report("render_speed", lambda: run(args.runs))


if __name__ == "__main__":
    main()
