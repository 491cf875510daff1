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
