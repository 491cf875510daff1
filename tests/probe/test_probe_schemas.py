"""vidmock probe --schemas: the registry's published request schema against vidmock's schemas/ and
profile, $refs followed on both sides; served on 127.0.0.1 here."""

from __future__ import annotations

import copy

from conformance.probe_schema import vidmock_schema
from probe_support import published, run_probe
from probe_support import serve_app, upstream, vidmock_url  # noqa: F401 - fixtures

MODEL = "alibaba:wan@2.7"


def drifted() -> dict:
    """A published schema that differs from vidmock's in six ways, through $ref and allOf, with
    annotations that must not count."""
    document = copy.deepcopy(vidmock_schema())
    properties = document["properties"]
    settings = properties.pop("settings")
    settings["properties"]["promptExtend"] = {"type": "boolean", "description": "published only"}
    settings["additionalProperties"] = True
    document["$defs"] = {"settings": settings, "duration": {**properties["duration"], "maximum": 20}}
    properties["settings"] = {"$ref": "#/$defs/settings", "description": "annotations are not compared"}
    properties["duration"] = {"allOf": [{"$ref": "#/$defs/duration"}], "title": "Duration"}
    properties["routing"] = {"type": "object"}
    del properties["safety"]
    document["allOf"] = [{"required": ["positivePrompt"]}]
    document["description"] = "another description"
    return document


async def test_the_registry_serving_vidmocks_own_schema_gives_no_findings(serve_app):
    registry = await serve_app(published())
    status, report, _ = await run_probe("", schemas_only=True, schemas_url=registry, fail_on_drift=True)
    assert status == 0
    assert report["findings"] == [] and report["sent"] == 0


async def test_every_difference_of_a_drifted_schema_is_a_schema_finding_with_both_fragments(serve_app):
    registry = await serve_app(published(drifted()))
    status, report, _ = await run_probe("", schemas_only=True, schemas_url=registry, fail_on_drift=True)
    assert status == 1
    found = {f["path"]: (f["upstream"], f["vidmock"]) for f in report["findings"]}
    assert all(f["kind"] == "schema" and "request" not in f for f in report["findings"])
    assert set(found) == {"/required", "/properties/duration/maximum", "/properties/settings/additionalProperties",
                          "/properties/settings/properties/promptExtend", "/properties/routing",
                          "/properties/safety"}
    assert found["/properties/duration/maximum"] == (20, 15)
    assert found["/properties/settings/additionalProperties"] == (True, False)
    assert found["/properties/settings/properties/promptExtend"] == ({"type": "boolean"}, None)
    assert found["/properties/routing"] == ({"type": "object"}, None)
    assert found["/properties/safety"][0] is None and found["/properties/safety"][1]["type"] == "object"
    assert "positivePrompt" in found["/required"][0] and "positivePrompt" not in found["/required"][1]


async def test_the_profile_counts_on_vidmocks_side(serve_app):
    document = copy.deepcopy(vidmock_schema())
    document["properties"]["width"] = {"type": "integer", "minimum": 256, "maximum": 16383}
    registry = await serve_app(published(document))
    _, report, _ = await run_probe("", schemas_only=True, schemas_url=registry)
    found = {f["path"]: (f["upstream"], f["vidmock"]) for f in report["findings"]}
    assert set(found) == {"/properties/width/minimum", "/properties/width/maximum", "/properties/width/enum"}
    assert found["/properties/width/enum"] == (None, [720, 832, 960, 1080, 1088, 1248, 1280, 1440, 1632, 1920])


async def test_references_to_other_documents_of_the_registry_are_fetched_and_followed(serve_app):
    document = copy.deepcopy(vidmock_schema())
    settings = document["properties"]["settings"]
    document["properties"]["settings"] = {"$ref": "../common/video.json#/definitions/settings"}
    document["properties"]["seed"] = {"$ref": "http://203.0.113.9/elsewhere.json#/seed"}  # never fetched
    shared = {"definitions": {"settings": {**settings, "properties": {**settings["properties"],
                                                                      "promptExtend": {"type": "boolean"}}}}}
    registry = await serve_app(published(document, documents={"/common/video.json": shared}))
    _, report, _ = await run_probe("", schemas_only=True, schemas_url=registry)
    found = {f["path"]: (f["upstream"], f["vidmock"]) for f in report["findings"]}
    assert found["/properties/settings/properties/promptExtend"] == ({"type": "boolean"}, None)
    assert found["/properties/seed/type"] == (None, "integer")  # the unfetched reference stays as it is
    assert found["/properties/seed/$ref"] == ("http://203.0.113.9/elsewhere.json#/seed", None)
    assert set(found) == {"/properties/settings/properties/promptExtend", "/properties/seed/type", "/properties/seed/$ref",
                          "/properties/seed/minimum", "/properties/seed/maximum"}


async def test_a_model_the_registry_does_not_know_is_a_finding(serve_app):
    registry = await serve_app(published(model="alibaba:wan@2.6"))
    _, report, _ = await run_probe("", schemas_only=True, schemas_url=registry)
    paths = [f["path"] for f in report["findings"]]
    assert paths == [f"/registry.json/models/{MODEL}", f"/resolve/{MODEL}"]


async def test_an_unreachable_registry_is_exit_2_with_schemas(serve_app):
    registry = await serve_app(published())
    status, report, _ = await run_probe("", schemas_only=True, schemas_url=registry + "/nowhere")
    assert status == 2 and "answered HTTP 404" in report["stopped"]


async def test_offline_refuses_the_published_registry_off_loopback():
    status, report, _ = await run_probe("", schemas_only=True, schemas_url="https://schemas.runware.ai")
    assert status == 2 and "VIDMOCK_OFFLINE is set" in report["stopped"]


async def test_a_full_run_compares_the_published_schema_too(upstream, serve_app):
    up = await upstream()
    registry = await serve_app(published(drifted()))
    status, report, _ = await run_probe(up.url, requests=130, schemas_url=registry)
    assert status == 0 and report["sent"] == 130
    assert {f["kind"] for f in report["findings"]} == {"schema"} and len(report["findings"]) == 6
