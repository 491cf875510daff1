"""The contract snapshot: any change to schemas/, the profiles or the error catalogue fails here
until it is accepted with ``python -m conformance.snapshot --update``."""

from conformance.snapshot import current_snapshot, differences, digest, stored_snapshot


def test_the_contract_matches_its_snapshot():
    stored, current = stored_snapshot(), current_snapshot()
    changed = differences(stored, current)
    assert not changed, ("The contract changed. Review the diff, then accept it with "
                         "`python -m conformance.snapshot --update`:\n" + "\n".join(changed[:80]))
    assert stored["digest"] == current["digest"]


def test_the_stored_digest_is_the_digest_of_its_content():
    stored = stored_snapshot()
    assert digest(stored["content"]) == stored["digest"]


def test_a_changed_bound_is_reported_as_a_difference():
    changed = current_snapshot()
    changed["content"]["schemas"]["tasks/videoInference.json"]["properties"]["numberResults"]["maximum"] = 5
    assert any('"maximum": 5' in line for line in differences(stored_snapshot(), changed))


def test_the_snapshot_holds_the_envelopes_clients_read():
    """The live shapes: REST refuses with an empty data[] and items without taskType; a WebSocket
    frame has errors[] alone, and its key refusal keeps taskType authentication (sdk-python)."""
    shown = stored_snapshot()["content"]["envelopes"]
    assert shown == current_snapshot()["content"]["envelopes"]
    rest, ws = shown["rest"], shown["ws"]
    assert rest["refusedTask"]["data"] == [] and list(rest["refusedTask"]) == ["data", "errors"]
    assert rest["refusedTask"]["errors"][0]["taskUUID"] == "019c42a0-c3ff-7138-be83-ee257abc5331"
    assert rest["refusedKey"] == {"data": [], "errors": [{
        "code": "invalidApiKey", "message": "Invalid API key. Get one at https://my.runware.ai/signup",
        "parameter": "apiKey", "type": "string", "documentation": "https://runware.ai/docs/models/alibaba-wan2-7#request-apikey"}]}
    assert list(ws["refusedTask"]) == ["errors"] and ws["refusedKey"]["errors"][0]["taskType"] == "authentication"
    assert not any("taskType" in error for envelope in (*rest.values(), ws["refusedTask"], ws["partial"])
                   for error in envelope["errors"])
