"""Inline image inputs read for real: a data URI or base64 in ``inputs.frameImages`` or
``inputs.referenceImages`` must decode to one of the listed images.

A schema can only say that such a string *looks* like base64; the API decodes it, so vidmock does
too: ``data:image/png;base64,AAAA`` (three zero bytes) or the base64 of a text file is
``invalidImage``, naming the parameter. Only the header is read (``media_types.sniff``): what an
image declares is enough to tell its type, and its size feeds the output size later. This is
stateless, so it belongs to validation: ``vidmock validate`` reports it, and the journal lists it
with every other violation. A task without inline data pays one lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mockserver.errors import RunwareError
from mockserver.media_types import FORMAT_NAMES, KIND_NAMES, decode_inline, is_inline, sniff
from mockserver.vocabulary import MediaKind

IMAGE_FORMATS = FORMAT_NAMES[MediaKind.IMAGE]


def input_references(inputs: Any) -> Iterator[tuple[str, str, MediaKind]]:
    """(parameter path, reference, the kind the parameter takes) for every string reference in
    ``inputs`` (anything else is the schema's to report)."""
    if not isinstance(inputs, dict):
        return
    for index, item in enumerate(_items(inputs, "frameImages")):
        if isinstance(item, dict):
            if isinstance(item.get("image"), str):
                yield f"inputs.frameImages[{index}].image", item["image"], MediaKind.IMAGE
        elif isinstance(item, str):
            yield f"inputs.frameImages[{index}]", item, MediaKind.IMAGE
    for name, kind in (("referenceImages", MediaKind.IMAGE), ("referenceVideos", MediaKind.VIDEO)):
        for index, ref in enumerate(_items(inputs, name)):
            if isinstance(ref, str):
                yield f"inputs.{name}[{index}]", ref, kind
    if isinstance(inputs.get("audio"), str):
        yield "inputs.audio", inputs["audio"], MediaKind.AUDIO


def _items(inputs: dict, name: str) -> list:
    items = inputs.get(name)
    return items if isinstance(items, list) else []


def inline_errors(task: dict) -> list[RunwareError]:
    """``invalidImage`` for every inline image input whose bytes are not a listed image. A plain
    loop over the two image parameters: a task whose inputs are URLs or UUIDs pays a few prefix
    checks (``input_references`` is the general walk, for the slower paths)."""
    inputs = task.get("inputs")
    if not isinstance(inputs, dict):
        return []
    found: list[RunwareError] = []
    frames = inputs.get("frameImages")
    if isinstance(frames, list):
        for index, item in enumerate(frames):
            ref = item.get("image") if isinstance(item, dict) else item
            if isinstance(ref, str) and is_inline(ref):
                found += _not_an_image(f"inputs.frameImages[{index}]{'.image' if isinstance(item, dict) else ''}", ref)
    references = inputs.get("referenceImages")
    if isinstance(references, list):
        for index, ref in enumerate(references):
            if isinstance(ref, str) and is_inline(ref):
                found += _not_an_image(f"inputs.referenceImages[{index}]", ref)
    return found


def _not_an_image(parameter: str, ref: str) -> list[RunwareError]:
    data = decode_inline(ref)
    found = sniff(data) if data else None
    if found is not None and found.kind is MediaKind.IMAGE:
        return []
    why = ("it carries no bytes" if not data else
           f"its bytes are {KIND_NAMES[found.kind]} ({found.content_type})" if found is not None else
           "its bytes are none of the listed formats")
    return [RunwareError("invalidImage", f"{parameter} is not an image: {why}. Send a {IMAGE_FORMATS} as a UUID, "
                         "URL, data URI or base64.", parameter=parameter, type="string")]
