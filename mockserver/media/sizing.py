"""Output size of a videoInference task that may not state one.

A task gives ``width``/``height``, or leaves the size to its first frame image: the video then takes
that image's aspect ratio within the requested ``resolution`` class, snapped to the nearest size
the model supports. Images are only read locally (data URIs, base64, uploaded UUIDs); URLs are
never fetched, so their aspect is unknown and the profile's default aspect applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mockserver.contract import DEFAULT_MODEL, allowed_sizes, frame_positions, model_profile
from mockserver.media.formats import UUID_PATTERN, decode_inline, dimensions

ImageLookup = Callable[[str], "bytes | None"]


def resolve_size(task: dict, image_bytes: ImageLookup) -> tuple[int, int]:
    """(width, height) of the video a validated videoInference task asks for."""
    if task.get("width") is not None and task.get("height") is not None:
        return task["width"], task["height"]
    model = task.get("model", DEFAULT_MODEL)
    profile = model_profile(model)
    resolution = task.get("resolution") or profile["defaultResolution"]
    aspect = _frame_image_aspect(task, image_bytes) or _ratio(*profile["defaultAspect"])
    candidates = [(w, h) for w, h, cls in allowed_sizes(model) if cls == resolution]
    return min(candidates, key=lambda size: abs(math.log(_ratio(*size) / aspect)))


def _frame_image_aspect(task: dict, image_bytes: ImageLookup) -> float | None:
    """Aspect ratio of the first frame image, else of the last one, when readable locally."""
    frames = task.get("inputs", {}).get("frameImages") or []
    images: dict[str, object] = {}
    for item, position in zip(frames, frame_positions(frames)):
        images.setdefault(position, item.get("image") if isinstance(item, dict) else item)
    for position in ("first", "last"):
        ref = images.get(position)
        data = _image_reference_bytes(ref, image_bytes) if isinstance(ref, str) else None
        size = dimensions(data) if data else None
        if size:
            return _ratio(*size)
    return None


def _image_reference_bytes(ref: str, image_bytes: ImageLookup) -> bytes | None:
    if UUID_PATTERN.match(ref.strip()):
        return image_bytes(ref.strip())
    return decode_inline(ref)


def _ratio(width: float, height: float) -> float:
    return width / height
