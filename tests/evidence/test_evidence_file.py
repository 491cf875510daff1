"""schemas/evidence.json: valid, covering the catalogue, its links alive, and docs/fidelity.md its rendering."""

from __future__ import annotations

import jsonschema
import pytest

from mockserver.contract import load_json
from mockserver.contract.errors import CATALOGUE
from mockserver.contract.evidence import PAGE, entries, for_code, render
from real_corpus import REPO, captures, corpus_files

LIVE_ORIGINS = {"live", "live-edited", "live-quoted"}
SERVED_ELSEWHERE = {"fault", "not-adopted", "open-question"}  # why a code may be absent from the catalogue


def corpus_refs() -> list[tuple[str, dict]]:
    return [(entry["id"], source) for entry in entries() for source in entry["sources"]
            if source["ref"].startswith("fixtures/real/")]


def test_the_file_fits_its_schema_and_ids_are_unique():
    jsonschema.validate(load_json("evidence.json"), load_json("evidence/evidence.json"))
    ids = [entry["id"] for entry in entries()]
    assert len(ids) == len(set(ids))


def test_every_catalogue_code_has_an_entry_with_its_http_status():
    for code, kind in CATALOGUE.items():
        graded = for_code(code)
        assert graded is not None, f"{code} has no evidence entry"
        assert (graded["id"], graded["http_status"]) == (f"code.{code}", kind.http_status)


def test_a_code_outside_the_catalogue_is_a_fault_a_refusal_or_an_open_question():
    outside = {entry["code"]: entry["adoption"] for entry in entries() if entry.get("code") and entry["code"] not in CATALOGUE}
    assert set(outside.values()) <= SERVED_ELSEWHERE, outside
    # the server's own answer changes code only where a videoInference capture shows it: not for these
    assert {outside.get(code) for code in ("missingDimensionParameters", "unsupportedDimensions")} == {"not-adopted"}


@pytest.mark.parametrize("entry_id, source", corpus_refs(), ids=lambda value: value if isinstance(value, str) else value["ref"])
def test_corpus_links_name_a_capture_of_the_class_they_claim(entry_id, source):
    path, _, index = source["ref"].partition("#")
    assert (REPO / path).is_file(), source["ref"]
    stem = path.removeprefix("fixtures/real/").removesuffix(".json")
    found = captures()
    cited = [found[f"{stem}#{index}"]] if index else [capture for key, capture in found.items()
                                                       if key == stem or key.startswith(stem + "#")]
    origins = {capture["origin"] for capture in cited}
    assert "hand-written" not in origins, f"{entry_id}: a hand-written look-alike is no evidence"
    if source["class"] == "live-capture":
        assert origins <= LIVE_ORIGINS, (entry_id, origins)
    elif source["class"] == "cli-source":
        assert origins == {"official-test-data"}, (entry_id, origins)


def test_every_capture_but_the_look_alikes_is_cited_somewhere():
    cited = {source["ref"].partition("#")[0] for _, source in corpus_refs()}
    for path in corpus_files():
        ref = f"fixtures/real/{path.name}"
        if ref not in cited:
            assert path.stem.startswith("handwritten_"), f"{ref} backs no entry"


def test_repository_links_exist():
    for entry in entries():
        for source in entry["sources"]:
            if source["ref"].startswith(("schemas/", "mockserver/")):
                assert (REPO / source["ref"]).exists(), (entry["id"], source["ref"])


def test_docs_fidelity_is_the_rendering_of_the_evidence_file():
    """Regenerate with ``python -m mockserver.contract.evidence``."""
    assert (REPO / PAGE).read_text(encoding="utf-8") == render(), "run python -m mockserver.contract.evidence"


def test_nothing_in_the_tree_reads_the_research_notes():
    """The research folder beside the repository is for people; vidmock and its tests read only the
    repository (the captures were copied into fixtures/real/)."""
    needles = ("/work/" + "shared", "../" + "shared", "research/" + "real-traffic")
    for folder in ("mockserver", "conformance", "tests", "benchmarks", "schemas", ".ci"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".json", ".sh", ".toml", ".cfg", "") and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8", errors="replace")
                assert not any(needle in text for needle in needles), path
    assert not any(needle in (REPO / "pyproject.toml").read_text(encoding="utf-8") for needle in needles)
