"""Videos as inexact as the live service's: a few pixels and a few frames off the request.

A live videoInference result (another model, 2026) was 1284x716 for 1280x720 and 5.125 s for 5 s,
while its reply said nothing of either. vidmock's videos are exact by default; a task the
``inexactMedia`` fault (or the ``inexact-media`` scenario) reaches gets videos off by what this
module decides, so a client that assumes the exact size or length is caught offline. Each offset
the fault does not fix is drawn from the result's seed: the same request and seed give the same
file. Sizes stay even (H.264 and VP9 in 4:2:0 need even sizes), lengths whole frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.media.synth import seed_digest

PIXEL_OFFSETS = (-4, -2, 2, 4)  # drawn per axis: the live result was 4 pixels off on each
EXTRA_FRAMES = (1, 2, 3, 4)  # drawn: longer, as live (0.125 s); 4 frames at 30 fps is 0.133 s


@dataclass(frozen=True)
class Inexactness:
    """How far a task's videos are off; None: drawn from each result's seed."""

    width_offset: int | None = None
    height_offset: int | None = None
    extra_frames: int | None = None

    def shape(self, width: int, height: int, seed: int) -> tuple[int, int, int]:
        """(width, height, frames added to duration x fps) of the video of ``seed``."""
        digest = seed_digest(seed)  # bytes 0..3 pick the colour and the tone; these, the offsets
        dw = self.width_offset if self.width_offset is not None else PIXEL_OFFSETS[digest[4] % len(PIXEL_OFFSETS)]
        dh = self.height_offset if self.height_offset is not None else PIXEL_OFFSETS[digest[5] % len(PIXEL_OFFSETS)]
        extra = self.extra_frames if self.extra_frames is not None else EXTRA_FRAMES[digest[6] % len(EXTRA_FRAMES)]
        return width + dw, height + dh, extra

    @classmethod
    def of(cls, params: dict) -> "Inexactness":
        """From an ``inexactMedia`` fault's parameters."""
        return cls(params.get("widthOffset"), params.get("heightOffset"), params.get("extraFrames"))
