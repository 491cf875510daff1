"""The vendor's machine-readable contract beside vidmock's: runware-sdk 1.8.0 ships types generated
from Runware's schema bundle (``AlibabaWan27Params``, ``AlibabaWan27Result`` in
``runware/types/task_map.py``). Their top-level fields (name, required or not, type or allowed
values) are compared with ``schemas/``; every difference is pinned here with its reason, and
recorded in docs/model-profile.md. A new bundle, or a schema change, fails this test until the
difference is judged: accepted into ``schemas/`` (unless the spec contradicts it) or pinned."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO
from mockserver.contract import response_schema, task_schema
from test_sdks import SDK_HOME, sdks_installed  # noqa: F401

pytestmark = pytest.mark.sdk

BUNDLE_VERSION = "20261012233936"  # SCHEMAS_VERSION of runware-sdk 1.8.0's generated types
PYTHON_TYPES = {"int": "integer", "str": "string", "bool": "boolean", "float": "number", "dict": "object",
                "list": "array"}

# field -> why vidmock differs from the bundle (docs/model-profile.md, "The vendor's contract")
PARAMS_DIFFERENCES = {
    ("routing", "only in the bundle"): "the bundle declares routing for every model; the spec's list of API "
    "options for Wan 2.7 is complete and has no routing, and the spec wins: unsupportedParameter",
    ("deliveryMethod", "values"): "the bundle types it as any string; the spec allows one value, async",
}
RESULT_DIFFERENCES = {
    ("videoBase64Data", "only in the bundle"): "the bundle's result shape for every video model; Wan 2.7's outputType "
    "is URL only (the spec, and the bundle's own Literal['URL']), so it is never sent",
    ("videoDataURI", "only in the bundle"): "as videoBase64Data: outputType is URL only",
    ("status", "only in vidmock"): "vidmock's result items come from getResponse, whose items carry status "
    "(the bundle's GetResponseResult declares it)",
    ("videoURL", "required"): "optional in the bundle (outputs of other outputTypes lack it); with outputType URL "
    "every result has one",
    ("seed", "required"): "optional in the bundle; the spec says the seed is shown, drawn when none was given, "
    "so every result has one",
}


def task_map() -> ast.Module:
    [path] = sorted(SDK_HOME.glob("venv-runware-sdk/lib/python3*/site-packages/runware/types/task_map.py"))
    return ast.parse(Path(path).read_text(encoding="utf-8"))


def bundle_version(module: ast.Module) -> str:
    return next(node.value.value for node in module.body if isinstance(node, ast.Assign)
                and any(getattr(target, "id", None) == "SCHEMAS_VERSION" for target in node.targets))


def typed_dict(module: ast.Module, name: str) -> dict[str, tuple[bool, object]]:
    """field -> (required, JSON type or the set of Literal values) of a generated TypedDict."""
    [cls] = [node for node in module.body if isinstance(node, ast.ClassDef) and node.name == name]
    fields = {}
    for item in cls.body:
        if isinstance(item, ast.AnnAssign):
            annotation, required = item.annotation, True
            if isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", None) == "NotRequired":
                annotation, required = annotation.slice, False
            fields[item.target.id] = (required, _kind(annotation))
    return fields


def _kind(annotation: ast.expr) -> object:
    if isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", None) == "Literal":
        values = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        return frozenset(value.value for value in values)
    base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return PYTHON_TYPES[base.id]


def schema_fields(schema: dict) -> dict[str, tuple[bool, object]]:
    required = set(schema.get("required", ()))
    fields = {}
    for name, node in schema["properties"].items():
        values = node.get("enum", [node["const"]] if "const" in node else None)
        fields[name] = (name in required, frozenset(values) if values is not None else node.get("type"))
    return fields


def differences(bundle: dict, ours: dict) -> set[tuple[str, str]]:
    found = {(name, "only in the bundle") for name in bundle.keys() - ours.keys()}
    found |= {(name, "only in vidmock") for name in ours.keys() - bundle.keys()}
    for name in bundle.keys() & ours.keys():
        (bundle_required, bundle_kind), (our_required, our_kind) = bundle[name], ours[name]
        if bundle_required != our_required:
            found.add((name, "required"))
        if isinstance(bundle_kind, frozenset) or isinstance(our_kind, frozenset):
            if bundle_kind != our_kind:
                found.add((name, "values"))
        elif bundle_kind != our_kind:
            found.add((name, "type"))
    return found


def test_the_bundle_is_the_one_these_differences_were_judged_against(sdks_installed):  # noqa: F811
    assert bundle_version(task_map()) == BUNDLE_VERSION


def test_every_difference_of_the_request_fields_is_pinned_with_its_reason(sdks_installed):  # noqa: F811
    bundle = typed_dict(task_map(), "AlibabaWan27Params")
    ours = schema_fields(task_schema("videoInference"))
    bundle.pop("taskType"), ours.pop("taskType")  # a const beside a Literal: the same
    assert differences(bundle, ours) == set(PARAMS_DIFFERENCES)


def test_every_difference_of_the_result_fields_is_pinned_with_its_reason(sdks_installed):  # noqa: F811
    bundle = typed_dict(task_map(), "AlibabaWan27Result")
    ours = schema_fields(response_schema("success"))
    assert differences(bundle, ours) == set(RESULT_DIFFERENCES)


def test_each_decision_is_written_down_in_the_model_profile_page():
    page = (REPO / "docs" / "model-profile.md").read_text(encoding="utf-8")
    assert BUNDLE_VERSION in page
    for field, _ in [*PARAMS_DIFFERENCES, *RESULT_DIFFERENCES]:
        assert f"`{field}`" in page, field
