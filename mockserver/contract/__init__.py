"""The contract, loaded once: the JSON Schemas and model profiles under ``schemas/``.

Everything that knows a field name, a bound or an allowed value reads it from here, so the
schemas stay the single source of truth for the server, ``vidmock validate`` and the
conformance strategies alike.

The room ``mockserver.contract`` holds what the API promises, each stated once: the words parts
share (``vocabulary``), the error catalogue (``errors``), the wire format (``protocol``), prices
(``pricing``), the evidence behind each decision (``evidence``) and the writer of files made from
them (``generated``). It imports no other part of vidmock.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
DEFAULT_MODEL = "alibaba:wan@2.7"


def schemas_root() -> Path:
    """Folder holding the schema files: the repository's ``schemas/``, installed as the package
    data ``mockserver.schemas``."""
    return Path(str(resources.files("mockserver.schemas")))


@cache
def load_json(relative: str) -> Any:
    """Read one file below ``schemas/``; cached, since files never change at run time."""
    return json.loads((schemas_root() / relative).read_text(encoding="utf-8"))


def _inline_refs(node: Any) -> Any:
    """Replace ``definitions.json#/definitions/X`` references by the definition itself.

    The result is self-contained, which both jsonschema and hypothesis-jsonschema (which
    resolves no external files) can use as is.
    """
    if isinstance(node, list):
        return [_inline_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFINITIONS_REF):
        target = load_json("definitions.json")["definitions"][ref[len(DEFINITIONS_REF):]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline_refs(merged)
    return {key: _inline_refs(value) for key, value in node.items()}


DEFINITIONS_REF = "definitions.json#/definitions/"


@cache
def schema(relative: str) -> dict:
    """A schema file with its shared definitions inlined."""
    return _inline_refs(load_json(relative))


@cache
def task_types() -> tuple[str, ...]:
    """The task types vidmock serves: one request schema each under ``schemas/tasks/``."""
    return tuple(sorted(path.stem for path in (schemas_root() / "tasks").glob("*.json")))


def task_schema(task_type: str) -> dict:
    """Request schema of one task type."""
    return schema(f"tasks/{task_type}.json")


def response_schema(name: str) -> dict:
    """Response-shape schema (ack, processing, success, error, webhook, ...)."""
    return schema(f"responses/{name}.json")


@cache
def ecma_regex(pattern: str) -> re.Pattern:
    """A JSON Schema pattern as Python must read it. Patterns are ECMA-262, where ``$`` ends the
    input; Python's ``$`` also matches before a final newline, which would let ``"<uuid>\\n"``
    pass as a taskUUID."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def definition_regex(name: str) -> re.Pattern:
    """The pattern of a shared definition (``uuid``, ``taskUUID``, ``httpURL``...), compiled."""
    return ecma_regex(load_json("definitions.json")["definitions"][name]["pattern"])


CONTROL_FOLDER = "control"  # vidmock's own control API (/__mock/): not part of the mocked contract
# What backs the contract, not the contract: the evidence file (data) and the schemas of it and of fixtures/real/
EVIDENCE_FILE = "evidence.json"
EVIDENCE_FOLDER = "evidence"


def api_contract_files() -> list[str]:
    """The files of the mocked API's contract (schemas and model profiles), relative to ``schemas/``:
    everything but the control plane's own schemas and the evidence behind the contract."""
    root = schemas_root()
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.json")
                  if path.relative_to(root).parts[0] not in (CONTROL_FOLDER, EVIDENCE_FILE, EVIDENCE_FOLDER))


def schema_files() -> list[str]:
    """Every schema file, relative to ``schemas/`` (model profiles and evidence.json are data, not schemas)."""
    root = schemas_root()
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*.json")
        if path.parent.name != "models" and path.relative_to(root) != Path(EVIDENCE_FILE)
    )


@cache
def model_profiles() -> dict[str, dict]:
    """Every model profile under ``schemas/models/``, keyed by AIR."""
    profiles = {}
    for path in sorted((schemas_root() / "models").glob("*.json")):
        profile = json.loads(path.read_text(encoding="utf-8"))
        profiles[profile["model"]] = profile
    return profiles


def model_profile(model: str = DEFAULT_MODEL) -> dict:
    """The profile of one model (sizes, fps, durations, rules, pricing)."""
    return model_profiles()[model]


def allowed_sizes(model: str = DEFAULT_MODEL) -> list[tuple[int, int, str]]:
    """(width, height, resolution class) for every size the model supports."""
    profile = model_profile(model)
    return [(w, h, cls) for cls, sizes in profile["resolutions"].items() for w, h in sizes]


def frame_positions(frames: list) -> list[str]:
    """``first``/``last`` for each ``inputs.frameImages`` item, as the spec distributes them.

    An explicit ``frame`` wins (``first``/``0``, ``last``/``-1``); without one, one image is the
    first frame and two images are the first and last frames.
    """
    positions = []
    for index, item in enumerate(frames):
        frame = item.get("frame") if isinstance(item, dict) else None
        if frame is None:
            frame = "first" if index == 0 else "last"
        positions.append("first" if frame in ("first", 0) else "last")
    return positions
