"""``vidmock explain ID``: rules and error codes, with their documentation, from an installed vidmock."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from cli_run import REPO, clean_env, vidmock, vidmock_here
from conformance.rules import RULES
from mockserver.commands.explain import DOCS_FILE, ERRORS_PAGE, RULES_PAGE, RuleText, docs_data, run, sections_of
from mockserver.contract import evidence
from mockserver.contract.errors import CATALOGUE

RULE_TEXTS = {rule.id: RuleText(rule.id, rule.title, rule.fix) for rule in RULES.values()}


def explain(ident):
    out, err = io.StringIO(), io.StringIO()
    return run(ident, RULE_TEXTS, out=out, err=err), out.getvalue(), err.getvalue()


def test_explain_a_rule_prints_title_documentation_section_and_fix():
    """Through the console script (the other cases run ``mockserver.cli.main`` in-process)."""
    done = vidmock("explain", "VM004")
    rule = RULES["VM004"]
    section = sections_of((REPO / RULES_PAGE).read_text(encoding="utf-8"))["VM004"]
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (f"VM004: {rule.title}\n\nclient rule, checked by `vidmock check` and the pytest plugin\n\n"
                           f"{section}\n\nfix: {rule.fix}\n")
    assert section.startswith("**No busy polling.** Two polls of one task are at least 0.5 s apart")


def test_explain_an_error_code_prints_status_rule_and_its_docs_text(capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, "explain", "unsupportedModelResolution")
    kind = CATALOGUE["unsupportedModelResolution"]
    docs = (REPO / ERRORS_PAGE).read_text(encoding="utf-8")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"unsupportedModelResolution: error code\n\n{kind.rule}\n\n"
                                  "HTTP 400 when every task of the request fails (200 beside any data)\n\n")
    assert f"| `unsupportedModelResolution` | 400 | {kind.rule} |" in docs  # the rule is the docs' row
    assert "A profile rule is not reported over a field that already failed the schema" in done.stdout
    assert "Runware documents `invalidApiKey`" in done.stdout


def test_generic_codes_and_task_outcomes_are_explained_too():
    status, out, _ = explain("invalidSeed")
    assert status == 0
    assert out.startswith("invalidSeed: error code, named after its parameter like every invalid<Parameter>\n\n"
                          + CATALOGUE["invalid<Parameter>"].rule)
    assert "| `type`, `pattern`" in out and "`invalidSeed`" in out
    status, out, _ = explain("timeoutprovider")  # ids are matched without regard to case
    assert status == 0 and out.startswith("timeoutProvider: error code\n\n")
    assert "HTTP 200: a task outcome, sent in errors[] of getResponse" in out


@pytest.mark.parametrize("code, status, words", [
    ("insufficientCredits", 400, "where Runware's docs say 402 Payment Required. vidmock follows the report."),
    ("invalidValueUploadFailed", 400, "`Processing parameter 'inputs.frameImages' failed.` (live)"),
    ("unknownErrorWhileReadingResults", 500, "500 is vidmock's decision"),
])
def test_the_codes_seen_live_are_explained_with_their_evidence(code, status, words):
    status_line = f"HTTP {status} when every task of the request fails (200 beside any data)"
    done, out, _ = explain(code)
    assert done == 0 and out.startswith(f"{code}: error code\n\n{CATALOGUE[code].rule}\n\n{status_line}\n\n")
    assert words in out


def test_every_rule_and_code_has_an_explanation():
    for ident in [*RULES, *CATALOGUE]:
        status, out, err = explain(ident)
        assert (status, err) == (0, ""), ident
        assert out.startswith(f"{ident}: ")
    shipped = json.loads((REPO / "mockserver" / "commands" / DOCS_FILE).read_text(encoding="utf-8"))
    assert set(shipped["rules"]) == set(RULES)


def test_unknown_ids_exit_2_with_the_nearest_ones(capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, "explain", "VM04")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "vidmock explain: 'VM04' is neither a client rule nor an error code; nearest: VM004, VM012, VM011\n"
    status, out, err = explain("unsupportedModelResolutoin")
    assert (status, out) == (2, "") and "nearest: unsupportedModelResolution" in err
    status, _, err = explain("zzzzzz")
    assert status == 2 and err.endswith("`vidmock explain --list` shows them all\n")


def test_list_names_every_rule_and_code(capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, "explain", "--list")
    assert done.returncode == 0
    for ident in [*RULES, *CATALOGUE]:
        assert f"  {ident}" in done.stdout


def test_the_shipped_documentation_is_current():
    """mockserver/commands/explain_docs.json is made from docs/ by ``python -m mockserver.commands.explain``."""
    wanted = docs_data((REPO / RULES_PAGE).read_text(encoding="utf-8"), (REPO / ERRORS_PAGE).read_text(encoding="utf-8"))
    assert (REPO / "mockserver" / "commands" / DOCS_FILE).read_text(encoding="utf-8") == wanted, "run python -m mockserver.commands.explain"


AUDIT = """
import json, os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(os.fsdecode(args[0]))
                 if event == "open" and isinstance(args[0], (str, bytes)) else None)
import mockserver
from mockserver.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as report:
    json.dump({"code": code, "opened": opened, "package": mockserver.__file__}, report)
"""


@pytest.fixture(scope="module")
def installed(built_wheel):
    """The wheel of this source tree, unpacked as pip would install it: a site folder of its own."""
    return built_wheel.site


@pytest.mark.parametrize("args, code, text, reads", [
    (["explain", "VM004"], 0, "Two polls of one task are at least 0.5 s apart", f"mockserver/commands/{DOCS_FILE}"),
    (["explain", "unsupportedModelResolution"], 0, "A profile rule is not reported over a field", f"mockserver/commands/{DOCS_FILE}"),
    (["explain", "invalidApiKey"], 0, "evidence (code.invalidApiKey): runware-docs, cli-source", "mockserver/schemas/evidence.json"),
    (["explain", "insufficientCredits"], 0, "HTTP 400 insufficientCredits on videoInference", "mockserver/schemas/evidence.json"),
])
def test_explain_reads_nothing_from_the_source_tree_when_installed(installed, tmp_path, args, code, text, reads):
    report = tmp_path / "report.json"
    env = clean_env(PYTHONPATH=str(installed))
    done = subprocess.run([sys.executable, "-c", AUDIT, str(report), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    result = json.loads(report.read_text())
    assert (result["code"], done.stderr) == (code, ""), done.stderr
    assert text in done.stdout
    assert result["package"].startswith(str(installed))
    from_tree = [path for path in result["opened"]
                 if path.startswith(str(REPO)) and not path.startswith(str(REPO / ".venv"))]
    assert from_tree == []
    assert any(path.endswith(reads) and path.startswith(str(installed)) for path in result["opened"])


def test_an_error_code_shows_its_evidence_classes_links_and_decision():
    status, out, _ = explain("invalidApiKey")
    graded = evidence.for_code("invalidApiKey")
    assert status == 0
    assert out.endswith(evidence.explain_text(graded) + "\n")
    assert "evidence (code.invalidApiKey): runware-docs, cli-source" in out
    assert "  - cli-source: fixtures/real/runware-cli-test_invalidApiKey.json: official CLI test data that looks captured" in out
    assert f"decision: {graded['decision']} [adopted: vidmock does it by default]" in out
    status, out, _ = explain("invalidSeed")  # a generic code shows its row's evidence
    assert "evidence (code.invalid<Parameter>): live-capture" in out


def test_a_code_only_seen_live_is_explained_from_its_evidence():
    status, out, err = explain("missingdimensionparameters")
    assert (status, err) == (0, "")
    assert out.startswith("missingDimensionParameters: error code seen outside vidmock (HTTP 400 where seen); "
                          "not in this vidmock's catalogue\n\nevidence (code.missingDimensionParameters): live-capture\n")
    assert "[not-adopted: seen, deliberately not followed]" in out
    assert "open question: Does videoInference use missingDimensionParameters?" in out
    status, out, _ = explain("unsupportedDimensions")
    assert status == 0 and "sources disagree" not in out and "fixtures/real" not in out
    assert "Kling rejected 1280x720 with unsupportedDimensions" in out
