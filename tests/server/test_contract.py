"""The schema files themselves: valid draft-07, self-contained once loaded, and in agreement
with the spec's examples and the model profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from mockserver.contract import (
    SCHEMA_DIALECT, allowed_sizes, load_json, model_profile, schema, schema_files, task_schema,
)
from mockserver.contract.pricing import task_cost
from mockserver.validation import validate_task, with_defaults

FIXTURES = Path(__file__).parents[2] / "fixtures"
EXAMPLES = sorted((FIXTURES / "requests").glob("example-*.json"))


@pytest.mark.parametrize("name", schema_files())
def test_schema_files_are_valid_draft7(name):
    raw = load_json(name)
    assert raw["$schema"] == SCHEMA_DIALECT
    Draft7Validator.check_schema(schema(name))


@pytest.mark.parametrize("name", schema_files())
def test_loaded_schemas_are_self_contained(name):
    assert "definitions.json#" not in json.dumps(schema(name))


def test_there_are_five_spec_examples():
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_spec_examples_validate(path):
    assert validate_task(json.loads(path.read_text())) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_spec_example_costs_are_reproduced_exactly(path):
    request = with_defaults(json.loads(path.read_text()))
    response = json.loads((FIXTURES / "responses" / path.name).read_text())
    assert task_cost(request, request["width"], request["height"]) == response["cost"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_spec_example_responses_fit_the_success_shape(path):
    response = json.loads((FIXTURES / "responses" / path.name).read_text())
    success = schema("responses/success.json")
    assert set(response) <= set(success["properties"])
    Draft7Validator(success).validate({**response, "status": "success"})


def test_profile_lists_the_ten_sizes_of_the_spec():
    assert sorted((w, h) for w, h, _ in allowed_sizes()) == sorted([
        (1280, 720), (720, 1280), (960, 960), (1088, 832), (832, 1088),
        (1920, 1080), (1080, 1920), (1440, 1440), (1632, 1248), (1248, 1632)])
    assert model_profile()["fps"] == 30


def test_profile_default_resolution_matches_the_schema_default():
    assert model_profile()["defaultResolution"] == task_schema("videoInference")["properties"]["resolution"]["default"]


def test_profile_rules_name_only_fields_of_the_schema():
    properties = task_schema("videoInference")["properties"]
    for rule in model_profile()["rules"]:
        for field in [rule.get("field")] + rule.get("fields", []) + [f for g in rule.get("groups", []) for f in g] \
                + rule.get("unless", []) + rule.get("when", []) + rule.get("anyOf", []):
            if field is None:
                continue
            node = {"properties": properties}
            for part in field.split("."):
                node = node["properties"][part]


def test_profile_rule_codes_are_in_the_catalogue():
    from mockserver.contract.errors import kind_of
    for rule in model_profile()["rules"]:
        kind_of(rule["code"])


@pytest.mark.parametrize("size", allowed_sizes(), ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_size_and_rate_prices(size):
    width, height, cls = size
    task = with_defaults({"taskType": "videoInference", "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d",
                          "model": "alibaba:wan@2.7", "positivePrompt": "p", "width": width, "height": height})
    expected = {"720p": 0.502125, "1080p": 0.7531875}[cls]  # 5 s at the billed per-second rate
    assert task_cost(task, width, height) == round(expected, 6)


def test_first_and_last_frame_is_billed_at_its_own_rate():
    base = {"taskType": "videoInference", "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d",
            "model": "alibaba:wan@2.7", "duration": 4}
    uuid = "aac49721-1964-481a-ae78-8a4e29b91402"
    first_only = with_defaults({**base, "inputs": {"frameImages": [uuid]}})
    first_last = with_defaults({**base, "inputs": {"frameImages": [uuid, uuid]}})
    last_only = with_defaults({**base, "inputs": {"frameImages": [{"image": uuid, "frame": -1}]}})
    assert task_cost(first_only, 1280, 720) == 0.4017
    assert task_cost(last_only, 1280, 720) == 0.4017
    assert task_cost(first_last, 1280, 720) == 0.404
    assert task_cost(first_last, 1920, 1080) == 0.606  # extrapolated 1080p first-and-last rate


def test_input_images_are_small_real_images():
    from PIL import Image
    images = sorted((FIXTURES / "images").glob("*.*[!y]"))
    assert {p.suffix for p in images} >= {".png", ".jpg", ".webp"}
    for path in images:
        assert path.stat().st_size < 16_000
        with Image.open(path) as image:
            image.verify()
