"""Real video and audio files, made once per test session by the ffmpeg vidmock ships with
(imageio-ffmpeg), for the tests of media sniffing and mediaStorage.

``SAMPLES`` are the listed formats (what mediaStorage stores), ``UNLISTED`` real files of other
formats (refused). Imported by module name (``from media_samples import sample``).
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path

import imageio_ffmpeg

VIDEO_IN = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.3", "-pix_fmt", "yuv420p"]
AUDIO_IN = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2"]

# name -> (ffmpeg arguments, extension, Content-Type vidmock must serve it with)
SAMPLES = {
    "mp4": ([*VIDEO_IN, "-c:v", "libx264", "-f", "mp4"], "mp4", "video/mp4"),
    "mov": ([*VIDEO_IN, "-c:v", "libx264", "-f", "mov"], "mov", "video/quicktime"),
    "webm": ([*VIDEO_IN, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-f", "webm"], "webm", "video/webm"),
    "mp3": ([*AUDIO_IN, "-c:a", "libmp3lame", "-f", "mp3"], "mp3", "audio/mpeg"),
    "mp3-no-id3": ([*AUDIO_IN, "-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0", "-f", "mp3"],
                   "mp3", "audio/mpeg"),
    "wav": ([*AUDIO_IN, "-c:a", "pcm_s16le", "-f", "wav"], "wav", "audio/wav"),
    "flac": ([*AUDIO_IN, "-c:a", "flac", "-f", "flac"], "flac", "audio/flac"),
}
UNLISTED = {
    "mkv": [*VIDEO_IN, "-c:v", "libx264", "-f", "matroska"],
    "ogg": [*AUDIO_IN, "-c:a", "libvorbis", "-f", "ogg"],
    "m4a": [*AUDIO_IN, "-c:a", "aac", "-f", "ipod"],
}


@cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="vidmock-media-samples-"))


@cache
def sample(name: str) -> bytes:
    """The bytes of one sample file (listed or unlisted), made on first use."""
    arguments = SAMPLES[name][0] if name in SAMPLES else UNLISTED[name]
    target = _folder() / f"{name}.out"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *arguments, str(target)],
                   check=True, capture_output=True, timeout=60)
    return target.read_bytes()
