"""docs/errors.md documents every code of the catalogue, with its HTTP status."""

from conftest import REPO

from mockserver.contract.errors import CATALOGUE, RunwareError, kind_of

DOC = (REPO / "docs" / "errors.md").read_text()


def test_every_code_is_documented_with_its_status():
    for kind in CATALOGUE.values():
        assert f"| `{kind.code}` | {kind.http_status} |" in DOC, kind.code


def test_generic_codes_take_their_rows_status():
    assert kind_of("invalidSeed").http_status == 400
    assert kind_of("missingTaskUUID") is CATALOGUE["missing<Parameter>"]
    assert RunwareError("unsupportedOutputFormat", "m").http_status == 400


def test_unknown_codes_are_refused():
    import pytest
    with pytest.raises(KeyError):
        kind_of("somethingElse")
    with pytest.raises(KeyError):
        kind_of("invalid")  # a prefix alone is not a code


def test_wire_form_carries_routing_fields():
    error = RunwareError("invalidSeed", "Invalid value for seed parameter.", parameter="seed", type="integer",
                         min=0, max=2147483647).for_task({"taskType": "videoInference", "taskUUID": "u"})
    wire = error.to_wire()
    assert wire == {
        "code": "invalidSeed", "message": "Invalid value for seed parameter.", "parameter": "seed",
        "type": "integer", "min": 0, "max": 2147483647,
        "documentation": "https://runware.ai/docs/models/alibaba-wan2-7#request-seed", "taskUUID": "u"}
    assert list(wire) == ["code", "message", "parameter", "type", "min", "max", "documentation", "taskUUID"]  # the live order
    assert error.to_wire(task_type=True) == {**wire, "taskType": "videoInference"}  # webhooks, /__mock/
