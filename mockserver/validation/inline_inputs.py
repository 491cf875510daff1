"""Inline image inputs read for real: a data URI or base64 in ``inputs.frameImages`` or
``inputs.referenceImages`` must decode to one of the listed images.

A schema can only say that such a string *looks* like base64; the API decodes it, so vidmock does
too: ``data:image/png;base64,AAAA`` (three zero bytes) or the base64 of a text file is
``invalidImage``, naming the parameter. Only the header is read (``media.formats.sniff``): what an
image declares is enough to tell its type, and its size feeds the output size later. This is
stateless, so it belongs to validation: ``vidmock validate`` reports it, and the journal lists it
with every other violation. A task without inline data pays one lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import MediaKind
from mockserver.media.formats import FORMAT_NAMES, KIND_NAMES, decode_inline, is_inline, sniff

IMAGE_FORMATS = FORMAT_NAMES[MediaKind.IMAGE]

INPUT_KINDS = {"frameImages": MediaKind.IMAGE, "referenceImages": MediaKind.IMAGE,
               "referenceVideos": MediaKind.VIDEO, "audio": MediaKind.AUDIO}
"""The kind of media each of ``inputs``' parameters takes (the spec's input table); the one place
validation, UUID resolution and error messages read it from."""


def input_references(inputs: Any) -> Iterator[tuple[str, str, MediaKind]]:
    """(parameter path, reference, the kind the parameter takes) for every string reference in
    ``inputs`` (anything else is the schema's to report): list items, a frame image's object form
    (``{image, frame}``), a single reference (``audio``)."""
    if not isinstance(inputs, dict):
        return
    for name, kind in INPUT_KINDS.items():
        value = inputs.get(name)
        if isinstance(value, str):
            yield f"inputs.{name}", value, kind
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if name == "frameImages" and isinstance(item, dict) and isinstance(item.get("image"), str):
                    yield f"inputs.{name}[{index}].image", item["image"], kind
                elif isinstance(item, str):
                    yield f"inputs.{name}[{index}]", item, kind


def inline_errors(task: dict) -> list[RunwareError]:
    """``invalidImage`` for every inline image input whose bytes are not a listed image (URLs and
    UUIDs are told by a prefix and skipped: they are resolved, not decoded)."""
    return [error for parameter, ref, kind in input_references(task.get("inputs"))
            if kind is MediaKind.IMAGE and is_inline(ref) for error in _not_an_image(parameter, ref)]


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
