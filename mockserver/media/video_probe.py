"""What a video file is: size, frame rate and length, read from its header by the ffmpeg binary
vidmock already ships (``imageio-ffmpeg``); nothing is decoded, so a probe costs one short process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg


@dataclass(frozen=True)
class VideoFacts:
    """What probing a video found (the proxy's drift judge compares it with the task)."""

    width: int
    height: int
    fps: float
    duration: float


def probe_video(path: Path) -> VideoFacts | None:
    """The facts of a video file; None when ffmpeg cannot read it."""
    frames = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(frames)
    except (OSError, RuntimeError, StopIteration):
        return None
    finally:
        frames.close()
    width, height = meta.get("size") or (0, 0)
    return VideoFacts(int(width), int(height), float(meta.get("fps") or 0), float(meta.get("duration") or 0))
