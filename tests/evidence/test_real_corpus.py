"""Every capture of ``fixtures/real/`` replayed through vidmock's reply schemas and drift judge.

One expectation per capture, no blanket skip: either the judge accepts the reply, or the test names
the exact findings and the entry of ``schemas/evidence.json`` that decides them; a capture that is no
reply body (prose, a log, CSV figures, a JavaScript object) says so and cites the entry it feeds.
The live REST refusals are also held against vidmock's own refusal of the same rule, sent by a real
server: the departures listed are what the live shape and vidmock's still disagree on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from conftest import KEY, MODEL, new_uuid
from mockserver.contract import load_json
from mockserver.contract.evidence import entry
from mockserver.media.video_probe import VideoFacts
from mockserver.traffic.drift import DriftJudge
from real_corpus import captures, corpus_files

CAPTURES = captures()
CAPTURE_SCHEMA = load_json("evidence/capture.json")


@dataclass(frozen=True)
class Replayed:
    """The judge's findings, as sorted (code, parameter) pairs; empty means accepted."""

    findings: tuple[tuple[str, str | None], ...]
    evidence: str


@dataclass(frozen=True)
class NoReply:
    """Not a reply body the judge can read; what it is instead."""

    what: str
    evidence: str


TYPE = ("invalidField", "taskType")
EXPECT: dict[str, Replayed | NoReply] = {
    "banana-editor_imageInference_invalidReferenceImages": Replayed((), "envelope.rest-refusal"),
    "banana-editor_imageInference_sync_success_2results": Replayed((TYPE, TYPE), "scope.other-task-types"),
    "cliquex-note_videoInference_insufficientCredits_claim": NoReply("a prose report", "code.insufficientCredits"),
    "content-factory_imageInference_getResponse_success": Replayed((TYPE,), "scope.other-task-types"),
    "content-factory_imageInference_missingDimensionParameters": Replayed((), "code.missingDimensionParameters"),
    "content-factory_imageInference_sync_submit_reply": Replayed((TYPE,), "scope.other-task-types"),
    "content-factory_videoInference_getResponse_success_vidu": Replayed((("invalidField", "videoUUID"),), "uuid.result-ids"),
    "deankerr-ig_imageInference_invalidWidth": Replayed((), "envelope.error-item-keys"),
    "handwritten_insufficientCredits_lookalikes#0": Replayed((), "code.insufficientCredits"),
    "handwritten_insufficientCredits_lookalikes#1": Replayed((), "code.insufficientCredits"),
    "kling-project-summary_videoInference_getResponse_success": Replayed((("invalidField", "seed"),), "seed.range"),
    "openslop_videoInference_invalidValueUploadFailed_quote": NoReply("a TypeScript mock quoting a live error", "code.invalidValueUploadFailed"),
    "runware-cli-test_invalidApiKey": Replayed((), "code.invalidApiKey"),
    "runware-cli_client_test#0": Replayed((("replyNotJson", None),), "code.internalServerError"),
    "runware-cli_client_test#1": Replayed((), "http.refusal-status"),
    "runware-cli_client_test#2": Replayed((), "envelope.rest-refusal"),
    "runware-cli_client_test#3": Replayed((("missingField", "pong"),), "ping.reply"),
    "runware-cli_client_test#4": Replayed((), "http.refusal-status"),
    "runware-cli_client_test#5": Replayed((), "code.invalidApiKey"),
    "runware-cli_client_test#6": Replayed((TYPE,), "result.item-keys"),
    "runware-cli_client_test#7": Replayed((TYPE,), "result.item-keys"),
    "runware-cli_run_test#0": Replayed((TYPE,), "result.item-keys"),
    "runware-cli_transport_errors_test#0": Replayed((), "envelope.rest-refusal"),
    "runware-cli_transport_errors_test#1": Replayed((), "envelope.parameter-array"),
    "runware-cli_transport_errors_test#2": Replayed((), "envelope.rest-refusal"),
    "runware-cli_transport_errors_test#3": Replayed((), "envelope.error-item-keys"),
    "runware-cli_transport_errors_test#4": Replayed((), "envelope.error-item-keys"),
    "runware-cli_transport_errors_test#5": Replayed((), "envelope.error-item-keys"),
    "runware-cli_transport_errors_test#6": Replayed((), "envelope.error-item-keys"),
    "runware-cli_types_test#0": Replayed((TYPE,), "scope.other-task-types"),
    "runware-cli_types_test#1": Replayed((), "ping.reply"),
    "runware-cli_types_test#2": Replayed((("invalidField", "taskUUID"), ("unexpectedField", "cost"), ("unexpectedField", "seed"),
                                          ("unexpectedField", "videoURL"), ("unexpectedField", "videoUUID")), "delivery.async-only"),
    "runware-cli_types_test#3": Replayed((("invalidField", "taskUUID"), ("unexpectedField", "mediaURL"),
                                          ("unexpectedField", "mediaUUID")), "delivery.async-only"),
    "runware-cli_websocket_test#0": Replayed((("invalidField", "connectionSessionUUID"),), "uuid.result-ids"),
    "runware-cli_websocket_test#1": Replayed((), "ws.auth-refusal"),
    "runware-cli_websocket_test#2": Replayed((), "ping.reply"),
    "runware-cli_websocket_test#3": Replayed((), "ping.reply"),
    "runware-cli_websocket_test#4": Replayed((), "ws.task-error"),
    "runware-cli_websocket_test#5": Replayed((("unexpectedField", "error"),), "envelope.legacy-singular-error"),
    "runware-request-trace_image_rest_status_cost_csv": NoReply("CSV figures (status, timings, cost), no bodies", "http.no-rate-limit-seen"),
    "sdk-python-issue1_ws_handshake_log": NoReply("a client's debug log of the WebSocket upgrade", "ws.handshake"),
    "sdk-python-issue26_ws_invalidPositivePrompt": NoReply("a frame logged as a JavaScript object, not JSON", "ws.task-error"),
}


def reply_body(capture: dict) -> object:
    """The body the judge reads: the parsed JSON (an item alone goes into the array it came from), or
    the verbatim text when it is not JSON."""
    body = capture["parsed"]
    if body is None:
        return capture["verbatim"]
    if isinstance(body, dict) and not {"data", "errors", "error"} & set(body):
        return {"errors": [body]} if "code" in body else {"data": [body]}
    return body


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_every_corpus_file_fits_the_capture_schema(path):
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), CAPTURE_SCHEMA)


@pytest.mark.parametrize("capture_id", sorted(CAPTURES))
def test_a_verbatim_json_text_parses_to_its_parsed_field(capture_id):
    capture = CAPTURES[capture_id]
    try:
        as_json = json.loads(capture["verbatim"]) if isinstance(capture["verbatim"], str) else None
    except json.JSONDecodeError:
        as_json = None  # prose, a log, Go or TypeScript source: parsed is what its literal produces
    if as_json is not None:
        assert as_json == capture["parsed"]


def test_every_capture_has_exactly_one_expectation():
    assert sorted(EXPECT) == sorted(CAPTURES)


@pytest.mark.parametrize("capture_id", sorted(EXPECT))
def test_each_capture_replays_as_expected_and_cites_its_evidence(capture_id):
    capture, expected = CAPTURES[capture_id], EXPECT[capture_id]
    cited = entry(expected.evidence)  # KeyError when the cited entry does not exist
    assert cited["sources"]
    if isinstance(expected, NoReply):
        assert capture["parsed"] is None, f"{capture_id} parses as JSON: replay it"
        return
    findings = DriftJudge().exchange(f"corpus-{capture_id}", None, reply_body(capture))
    assert tuple(sorted((str(f.code), f.parameter) for f in findings)) == expected.findings, [f.message for f in findings]


# -- vidmock's own refusal of the same rule, from a real server ------------------------------------

LIVE_STYLE = re.compile(r"^Invalid value for '[\w.]+' parameter\. .+ must be an? \w+ value between \S+ and \S+, "
                        r"in multiples of '\S+'\.$")


@dataclass(frozen=True)
class SameRule:
    """A videoInference request vidmock refuses by the rule the live refusal shows, and where the two
    refusals' shapes still differ (each departure decided by the cited entries)."""

    why: str
    fields: dict | None  # the task's fields beside taskType/taskUUID/model/positivePrompt; None: a bad key
    departures: frozenset[str]
    evidence: tuple[str, ...]


REFUSALS: dict[str, SameRule] = {
    "deankerr-ig_imageInference_invalidWidth": SameRule(
        "a bounded integer out of range (Wan's width comes from a size list, so seed stands in)",
        {"width": 1280, "height": 720, "seed": -1},
        frozenset(),
        ("envelope.rest-refusal", "envelope.error-item-keys", "message.style")),
    "content-factory_imageInference_missingDimensionParameters": SameRule(
        "no width, height or frame image", {},
        frozenset({"item lacks type", "code missingDimensions, live missingDimensionParameters"}),
        ("envelope.rest-refusal", "envelope.error-item-keys", "code.missingDimensionParameters")),
    "banana-editor_imageInference_invalidReferenceImages": SameRule(
        "a reference image that is no image reference", {"width": 1280, "height": 720, "inputs": {"referenceImages": [123]}},
        frozenset(),
        ("envelope.rest-refusal", "envelope.error-item-keys")),
    "runware-cli-test_invalidApiKey": SameRule(
        "a key that is not configured", None,
        frozenset({"item adds documentation"}),
        ("envelope.rest-refusal", "envelope.error-item-keys", "envelope.documentation-url", "code.invalidApiKey")),
}


def departures(live: dict, ours: dict) -> set[str]:
    """How vidmock's refusal differs from the live one: envelope keys, the item's keys, code, message."""
    found = set()
    if "data" in live and "data" not in ours:
        found.add("no data beside errors")
    (live_item,), (our_item,) = live["errors"], ours["errors"]
    found |= {f"item adds {key}" for key in our_item.keys() - live_item.keys()}
    found |= {f"item lacks {key}" for key in live_item.keys() - our_item.keys()}
    if live_item["code"] != our_item["code"] and live_item["code"].startswith("missing"):
        found.add(f"code {our_item['code']}, live {live_item['code']}")
    if LIVE_STYLE.match(live_item["message"]) and not LIVE_STYLE.match(our_item["message"]):
        found.add("message not in the live style")
    return found


def test_every_live_rest_refusal_is_held_against_vidmocks_own():
    refusals = {capture_id for capture_id, capture in CAPTURES.items()
                if capture["origin"] in ("live", "live-edited") and isinstance(capture["parsed"], dict)
                and capture["parsed"].get("errors") and capture["transport"] == "rest"}
    assert refusals | {"runware-cli-test_invalidApiKey"} == set(REFUSALS)


@pytest.mark.parametrize("capture_id", sorted(REFUSALS))
async def test_vidmock_refuses_the_same_rule_with_the_live_shape_but_for_the_named_departures(make_server, http, capture_id):
    rule, capture = REFUSALS[capture_id], CAPTURES[capture_id]
    for evidence_id in rule.evidence:
        entry(evidence_id)
    server = await make_server(api_keys=(KEY,))
    task = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL, "positivePrompt": "a lighthouse",
            **({"width": 1280, "height": 720} if rule.fields is None else rule.fields)}
    key = KEY if rule.fields is not None else "not-" + KEY
    async with http.post(f"{server.base_url}/v1", json=[task], headers={"Authorization": f"Bearer {key}"}) as response:
        status, ours = response.status, await response.json()
    assert status == (capture["http_status"] or status) and status in (400, 401)
    assert departures(capture["parsed"], ours) == rule.departures, ours


def test_the_measured_live_deviation_is_a_drift_finding_under_the_default_tolerances():
    """media.exactness: the Vidu capture's file, had Wan delivered it for the same request."""
    measured = entry("media.exactness")["measured"]
    capture = CAPTURES[Path(measured["capture"]).stem]
    size = f"{measured['delivered_width']}x{measured['delivered_height']}"
    assert f"{size} h264, {measured['delivered_duration_s']} s" in capture["observed_media"]
    task = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL, "positivePrompt": "a lighthouse",
            "width": measured["requested_width"], "height": measured["requested_height"],
            "duration": measured["requested_duration_s"]}
    judge = DriftJudge()
    assert judge.exchange("corpus", [task], {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}) == []
    fps = load_json("models/alibaba-wan2.7.json")["fps"]
    facts = VideoFacts(measured["delivered_width"], measured["delivered_height"], fps, measured["delivered_duration_s"])
    assert {str(f.code) for f in judge.video("corpus", task["taskUUID"], facts)} == {"sizeMismatch", "durationMismatch"}
