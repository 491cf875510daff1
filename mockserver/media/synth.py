"""Placeholder videos: exact, deterministic and fast ffmpeg synthesis.

Every successful task yields a real file with exactly the requested size, 30/1 fps and
``duration * 30`` frames (a few pixels and frames off only when asked: ``mockserver.media.inexact``).
Encoding 450 frames per request would make the mock the slow part of a test suite (about 1 s per
1080p 15 s clip), so a video is assembled from cached parts instead:

1. a one-second GOP (``fps`` frames, one keyframe) in the seed's colour, with the seed and a frame
   counter drawn on it, cached per (size, fps, format, quality, seed, overlay);
2. the seed's sine tone, encoded once per (duration, audio codec, tone);
3. a stream-copy remux that loops the GOP ``duration`` times (``-stream_loop``) and adds the tone.

Finished files are cached by every field of their ``VideoSpec``, on disk and (once seen) in
memory, so a cache hit costs neither a path nor a stat. On disk they live under the folder of the
toolchain that made them (``mockserver.media.synth_build``), so a cache can outlive the run and be
shared by several servers at once. Each GOP comes with a poster: its first frame as a small JPEG,
written by the same ffmpeg run. See docs/synthesis.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import ffmpeg
import imageio_ffmpeg
from filelock import FileLock, Timeout

from mockserver.media.formats import VIDEO_TYPES
from mockserver.media.synth_build import Build, BuildProbeError, known_build, probe_build, run_ffmpeg

log = logging.getLogger(__name__)

QUALITY_MIN, QUALITY_MAX = 20, 99
AUDIO_SAMPLE_RATE = 48000
QUIET_ARGS = ("-nostdin", "-hide_banner", "-v", "error")
POSTER_BOX = 320  # a poster fits in POSTER_BOX x POSTER_BOX, aspect kept
POSTER_QUALITY = 4  # mjpeg -q:v (2 best .. 31 worst)
LOCK_POLL = 0.05  # seconds between tries for a lock file another process (or server) holds


def x264_crf(quality: int) -> int:
    """outputQuality 20..99 -> x264 CRF 40..16 (linear, monotone; see docs/synthesis.md)."""
    return round(40 - (_clamp_quality(quality) - QUALITY_MIN) * 24 / 79)


def vp9_crf(quality: int) -> int:
    """outputQuality 20..99 -> VP9 CRF 50..15 in constant-quality mode (``-b:v 0``)."""
    return round(50 - (_clamp_quality(quality) - QUALITY_MIN) * 35 / 79)


def _clamp_quality(quality: int) -> int:
    return min(max(quality, QUALITY_MIN), QUALITY_MAX)


@dataclass(frozen=True)
class Codec:
    """An encoder and the options that make it fast, exact and reproducible."""

    name: str
    options: Callable[[int], dict]  # quality -> ffmpeg output options


@dataclass(frozen=True)
class Container:
    """How one ``outputFormat`` is encoded and muxed."""

    extension: str
    content_type: str
    muxer: str
    video: Codec
    audio: Codec
    audio_extension: str  # the cached audio track's file type
    audio_muxer: str
    mux_options: dict  # finishing flags of the container (faststart, bitexact)


H264 = Codec("h264", lambda q: {"c:v": "libx264", "preset": "ultrafast", "crf": x264_crf(q)})
VP9 = Codec(
    "vp9",
    lambda q: {"c:v": "libvpx-vp9", "deadline": "realtime", "cpu-used": 8, "row-mt": 1,
               "crf": vp9_crf(q), "b:v": 0},
)
AAC = Codec("aac", lambda _q: {"c:a": "aac", "b:a": "128k"})
OPUS = Codec("opus", lambda _q: {"c:a": "libopus", "b:a": "64k"})

FAST_START = {"movflags": "+faststart"}
BITEXACT = {"fflags": "+bitexact"}  # WebM otherwise writes a random segment UID

CONTAINERS = {
    "MP4": Container(*VIDEO_TYPES["mp4"], "mp4", H264, AAC, "m4a", "mp4", FAST_START),
    "MOV": Container(*VIDEO_TYPES["mov"], "mov", H264, AAC, "m4a", "mp4", FAST_START),
    "WEBM": Container(*VIDEO_TYPES["webm"], "webm", VP9, OPUS, "webm", "webm", BITEXACT),
}


@dataclass(frozen=True)
class VideoSpec:
    """Everything that determines the bytes of one placeholder video."""

    width: int
    height: int
    duration: int  # seconds
    output_format: str  # "MP4" | "WEBM" | "MOV"
    quality: int  # outputQuality 20..99
    audio: bool  # settings.audio
    seed: int
    fps: int = 30
    extra_frames: int = 0  # beyond duration x fps (negative: fewer), for inexact media (mockserver.media.inexact)
    # Worth keeping past the run: False for a seed the server drew, which no later request will
    # name again (the per-run scratch folder takes it). Not part of the identity: same bytes.
    keep: bool = field(default=True, compare=False)

    @property
    def container(self) -> Container:
        return CONTAINERS[self.output_format]

    def extension(self) -> str:
        return self.container.extension

    @property
    def frames(self) -> int:
        return self.duration * self.fps + self.extra_frames

    def content_type(self) -> str:
        return self.container.content_type


class Rendered(NamedTuple):
    """A finished video in the cache, its size in bytes, and its poster (first frame, JPEG)."""

    path: Path
    size: int
    poster: Path | None = None


class SynthesisError(Exception):
    """ffmpeg could not produce the video; ``stderr`` holds what it said."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


def seed_digest(seed: int) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest()


def seed_colour(seed: int) -> str:
    """Mid-tone background (each channel 32..159) so white text stays readable."""
    digest = seed_digest(seed)
    return "0x" + "".join(f"{byte // 2 + 32:02x}" for byte in digest[:3])


def seed_tone_hz(seed: int) -> int:
    """Sine frequency 220..730 Hz: seeds sound different as well as look different."""
    return 220 + 2 * seed_digest(seed)[3]


def draw_seed_overlay(stream, spec: VideoSpec):
    """Seed label above the centre, frame counter (0..fps-1, repeating) below it."""
    label = f"seed {spec.seed}"
    size = int(min(min(spec.width, spec.height) // 14, 1.5 * spec.width / len(label)))
    common = {"fontsize": size, "fontcolor": "white", "x": "(w-tw)/2"}
    stream = stream.drawtext(text=label, y=f"(h-th)/2-{size}", **common)
    return stream.drawtext(text="%{n}", y=f"(h-th)/2+{size}", escape_text=False, **common)


class Synthesizer:
    """Renders ``VideoSpec``s into cached files, at most ``max_concurrency`` ffmpeg processes at once.

    Belongs to one event loop. Concurrent requests for the same file (or the same GOP or audio
    track) share one render; so do other processes using the same ``cache_dir`` (a file lock per
    file being made). ``cache_dir`` keeps what later runs may ask again; ``scratch_dir`` (default:
    the same) takes the videos of ``keep=False`` specs, and is the server's to delete.
    """

    def __init__(self, cache_dir: Path, max_concurrency: int | None = None, scratch_dir: Path | None = None):
        self.cache_dir = Path(cache_dir)
        self.scratch_dir = Path(scratch_dir) if scratch_dir is not None else self.cache_dir
        self.max_concurrency = max_concurrency or os.cpu_count() or 1
        self._ffmpeg: str | None = None  # found at the first run, so a missing binary fails a render, not start-up
        self._build: Build | None = None  # the toolchain, probed before the first cache lookup on disk
        self._probing: asyncio.Future | None = None
        self._roots: dict[bool, Path] = {}  # keep -> the build's folder in cache_dir or scratch_dir
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._inflight: dict[Path, asyncio.Future] = {}
        self._finished: dict[VideoSpec, Rendered] = {}  # videos known to be in the cache directory
        self._layers = {layer: Counter() for layer in ("video", "gop", "audio")}
        self._text_overlay: bool | None = None  # unknown until the toolchain is probed
        self._running = self._peak_running = self._ffmpeg_runs = self._probes = 0
        self._renders = self._failures = 0
        self._last_stderr: str | None = None
        self._cache_error: str | None = None  # why cache_dir could not be used, if it could not

    def finished(self, spec: VideoSpec) -> Rendered | None:
        """The cached video for ``spec`` if this synthesizer has already rendered or found it, at
        once: the common submit (a repeated spec) then needs no task and no filesystem call.

        The cache directory belongs to vidmock while it runs; a file deleted from it under a
        running server is not noticed here.
        """
        rendered = self._finished.get(spec)
        if rendered is not None:
            self._layers["video"]["hits"] += 1
        return rendered

    async def render(self, spec: VideoSpec) -> Path:
        """Path of the finished video for ``spec``, rendering it unless cached."""
        return (await self.render_file(spec)).path

    async def render_file(self, spec: VideoSpec) -> Rendered:
        """The finished video for ``spec`` and its size, rendering it unless cached."""
        rendered = self.finished(spec)
        if rendered is not None:
            return rendered
        try:
            root = await self._root(spec.keep)
            path = root / "videos" / (
                f"{spec.width}x{spec.height}-{spec.fps}fps-{spec.duration}s{spec.extra_frames:+d}f-{spec.extension()}"
                if spec.extra_frames else
                f"{spec.width}x{spec.height}-{spec.fps}fps-{spec.duration}s-{spec.extension()}"
                f"-q{spec.quality}-{'audio' if spec.audio else 'silent'}-seed{spec.seed}.{spec.extension()}"
            )
            path = await self._cached("video", path, lambda tmp: self._assemble(spec, tmp))
        except SynthesisError:
            self._failures += 1
            raise
        poster = self._poster_path(self._gop_path(root, spec, self._build.text))
        rendered = self._finished[spec] = Rendered(path, path.stat().st_size, poster if poster.exists() else None)
        return rendered

    async def build(self) -> Build:
        """The toolchain (ffmpeg build, fonts) the files are made with: probed once per process."""
        if self._build is None:
            if self._probing is None:
                self._probing = asyncio.ensure_future(self._probe())
                self._probing.add_done_callback(self._probe_done)
            self._build = await asyncio.shield(self._probing)
        return self._build

    async def close(self) -> None:
        """Stop the renders still running (server shutdown): each waiter has already given up on
        them (renders are shielded), and an ffmpeg process must not outlive the server."""
        running = [*self._inflight.values(), *([self._probing] if self._probing is not None else [])]
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def stats(self) -> dict:
        """Counters for the control plane (``/__mock/``)."""
        return {
            "hits": self._layers["video"]["hits"],
            "misses": self._layers["video"]["misses"],
            "coalesced": self._layers["video"]["coalesced"],
            "renders": self._renders,
            "failures": self._failures,
            "layers": {name: dict(counts) for name, counts in self._layers.items()},
            "ffmpeg_runs": self._ffmpeg_runs,
            "running": self._running,
            "peak_running": self._peak_running,
            "max_concurrency": self.max_concurrency,
            "text_overlay": self._text_overlay,
            "last_stderr": self._last_stderr,
            "cache_dir": str(self.cache_dir),
            "scratch_dir": str(self.scratch_dir),
            "build": self._build.name if self._build is not None else None,
            "cache_error": self._cache_error,
            "probes": self._probes,
            "ffmpeg": self._ffmpeg,
        }

    # -- the toolchain and the folders --------------------------------------------------------

    async def _probe(self) -> Build:
        exe = self._ffmpeg_exe()
        build = known_build(exe)
        if build is None:
            async with self._slots:
                self._probes += 1
                try:
                    build = await probe_build(exe)
                except BuildProbeError as exc:
                    self._last_stderr = exc.stderr
                    raise SynthesisError(str(exc), exc.stderr) from exc
        self._text_overlay = build.text
        if not build.text:
            self._last_stderr = build.text_error
        return build

    def _probe_done(self, done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:
            self._probing = None  # a later render tries again (e.g. after the binary is fixed)

    async def _root(self, keep: bool) -> Path:
        """The build's folder in the cache (``keep``) or scratch directory, created once. A cache
        folder that cannot be written (a read-only home in CI) gives way to the scratch folder:
        renders then last for the run only, and ``stats()["cache_error"]`` says why."""
        root = self._roots.get(keep)
        if root is None:
            build = await self.build()
            folders = [self.cache_dir, self.scratch_dir] if keep else [self.scratch_dir]
            for folder in folders:
                try:
                    root = self._roots[keep] = await asyncio.to_thread(build.folder, folder)
                    break
                except OSError as exc:
                    if folder == folders[-1]:  # not even the scratch folder: the render fails, not the server
                        raise SynthesisError(f"cannot use the cache folder: {exc}", str(exc)) from exc
                    self._cache_error = f"{folder}: {exc}"
                    log.warning("render cache %s cannot be used (%s); renders last for this run only", folder, exc)
        return root

    # -- the three layers -------------------------------------------------------------------

    async def _assemble(self, spec: VideoSpec, out: Path) -> None:
        """Loop the GOP ``duration`` times (once more for extra frames) and add the tone, copying
        both streams; the video is cut at ``spec.frames``, the tone at the video's end when shorter."""
        parts = [self._gop(spec)] + ([self._audio_track(spec)] if spec.audio else [])
        # let every part settle before failing, so no render outlives the request that started it
        settled = await asyncio.gather(*parts, return_exceptions=True)
        for outcome in settled:
            if isinstance(outcome, BaseException):
                raise outcome
        gop, *audio = settled
        loops = spec.duration - 1 + (spec.extra_frames > 0)
        streams = [ffmpeg.input(str(gop), stream_loop=loops).video]
        streams += [ffmpeg.input(str(track)).audio for track in audio]
        cut = {"t": spec.frames / spec.fps} if spec.extra_frames < 0 and audio else {}
        await self._run(ffmpeg.output(
            *streams, str(out), f=spec.container.muxer, c="copy",
            **{"frames:v": spec.frames}, **cut, **spec.container.mux_options,
        ))
        self._renders += 1

    async def _gop(self, spec: VideoSpec) -> Path:
        """The seed's one-second GOP, with text when the toolchain has a font, and its poster."""
        text = self._build.text
        container = spec.container
        path = self._gop_path(await self._root(spec.keep), spec, text)

        async def encode(out: Path) -> None:
            frames = ffmpeg.input(
                f"color=c={seed_colour(spec.seed)}:s={spec.width}x{spec.height}:r={spec.fps}:d=1",
                f="lavfi",
            )
            if text:
                frames = draw_seed_overlay(frames, spec)
            frames = frames.split()
            gop = ffmpeg.output(
                frames[0], str(out), f=container.muxer, pix_fmt="yuv420p", g=spec.fps,
                **{"frames:v": spec.fps}, **container.video.options(spec.quality),
                **container.mux_options,
            )
            # the poster comes out of the same run (a process of its own would cost more than
            # the frame); it is in place before the GOP is, so a cached GOP has its poster
            poster, poster_part = self._poster_path(path), _part_name(self._poster_path(path))
            thumbnail = frames[1].filter("scale", w=POSTER_BOX, h=POSTER_BOX, force_original_aspect_ratio="decrease",
                                         force_divisible_by=2)
            still = ffmpeg.output(thumbnail, str(poster_part), f="mjpeg", pix_fmt="yuvj420p",
                                  **{"frames:v": 1, "q:v": POSTER_QUALITY}, **BITEXACT)
            try:
                await self._run(ffmpeg.merge_outputs(gop, still))
                os.replace(poster_part, poster)
            finally:
                poster_part.unlink(missing_ok=True)

        return await self._cached("gop", path, encode)

    @staticmethod
    def _gop_path(root: Path, spec: VideoSpec, text: bool) -> Path:
        extension = spec.container.extension
        return root / "gops" / (
            f"{spec.width}x{spec.height}-{spec.fps}fps-{extension}-q{spec.quality}"
            f"-seed{spec.seed}-{'text' if text else 'plain'}.{extension}"
        )

    @staticmethod
    def _poster_path(gop: Path) -> Path:
        return gop.with_suffix(".jpg")

    async def _audio_track(self, spec: VideoSpec) -> Path:
        """The seed's tone for the whole duration, encoded once and stream-copied afterwards.

        Cached per tone rather than shared by all seeds, so different seeds sound different; AAC and
        Opus frames do not divide one second, so a one-second track cannot be looped exactly. Always
        kept (at most 256 tones x 15 durations x 2 codecs exist, drawn seeds included).
        """
        container, tone = spec.container, seed_tone_hz(spec.seed)
        path = await self._root(True) / "audio" / (
            f"{container.audio.name}-{spec.duration}s-{tone}hz.{container.audio_extension}"
        )

        async def encode(out: Path) -> None:
            sine = ffmpeg.input(f"sine=f={tone}:r={AUDIO_SAMPLE_RATE}:d={spec.duration}", f="lavfi")
            await self._run(ffmpeg.output(
                sine, str(out), f=container.audio_muxer, fflags="+bitexact",
                **container.audio.options(spec.quality),
            ))

        return await self._cached("audio", path, encode)

    # -- caching, coalescing, processes -----------------------------------------------------

    async def _cached(self, layer: str, path: Path, build: Callable[[Path], Awaitable[None]]) -> Path:
        """``path`` if it exists; otherwise build it once, however many callers are waiting."""
        counts = self._layers[layer]
        if path.exists():
            counts["hits"] += 1
            return path
        shared = self._inflight.get(path)
        if shared is None:
            counts["misses"] += 1
            shared = asyncio.ensure_future(self._build_atomically(counts, path, build))
            self._inflight[path] = shared
            shared.add_done_callback(lambda done: self._finish(path, done))
        else:
            counts["coalesced"] += 1
        # shield: one waiter giving up must not cancel the render the others are waiting for
        return await asyncio.shield(shared)

    def _finish(self, path: Path, done: asyncio.Future) -> None:
        self._inflight.pop(path, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so a failure nobody awaited any more is not logged

    async def _build_atomically(self, counts: Counter, path: Path, build: Callable[[Path], Awaitable[None]]) -> Path:
        """Write to a temp file next to ``path`` and rename: readers never see half a file. A file
        lock next to it makes another process sharing the folder (a second server, a pytest-xdist
        worker) wait for this render instead of doing it again, and the reverse."""
        locks = path.parent.parent / ".locks"  # one empty file per file ever made, out of the layers' way
        for folder in (path.parent, locks):
            folder.mkdir(parents=True, exist_ok=True)
        async with _file_lock(locks / f"{path.parent.name}-{path.name}.lock"):
            if path.exists():
                counts["elsewhere"] += 1  # made by another process while this one waited
                return path
            tmp = _part_name(path)
            try:
                await build(tmp)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        return path

    async def _run(self, stream) -> None:
        """Run one ffmpeg command in a subprocess, within the concurrency bound."""
        argv = stream.global_args(*QUIET_ARGS).overwrite_output().compile(cmd=self._ffmpeg_exe())
        async with self._slots:
            self._running += 1
            self._peak_running = max(self._peak_running, self._running)
            self._ffmpeg_runs += 1
            try:
                returncode, stderr = await self._spawn(argv)
            finally:
                self._running -= 1
        if returncode != 0:
            self._last_stderr = stderr
            raise SynthesisError(f"ffmpeg exited with {returncode}: {stderr.strip()[-500:]}", stderr)

    def _ffmpeg_exe(self) -> str:
        """imageio-ffmpeg's bundled binary, or ``IMAGEIO_FFMPEG_EXE`` when set."""
        if self._ffmpeg is None:
            try:
                self._ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
            except RuntimeError as exc:
                self._last_stderr = str(exc)
                raise SynthesisError(str(exc), str(exc)) from exc
        return self._ffmpeg

    async def _spawn(self, argv: list[str]) -> tuple[int, str]:
        try:
            returncode, _, stderr = await run_ffmpeg(argv)
        except OSError as exc:
            self._last_stderr = str(exc)
            raise SynthesisError(f"cannot run ffmpeg: {exc}", str(exc)) from exc
        return returncode, stderr


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """Hold the lock file ``path`` (an flock: other processes, and other servers in this one, wait).
    Tried without blocking and polled from the loop: no worker thread takes part, so a cancelled
    waiter or holder lets go at once, at server shutdown and at the end of an event loop alike."""
    lock = FileLock(path, thread_local=False)
    while True:
        try:
            lock.acquire(blocking=False)
            break
        except Timeout:
            await asyncio.sleep(LOCK_POLL)
    try:
        yield
    finally:
        lock.release()


def _part_name(path: Path) -> Path:
    """A hidden, unique temp name next to ``path``, with its extension (ffmpeg picks muxers by it)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex}.part{path.suffix}")
