"""The evidence behind what vidmock commits to: ``schemas/evidence.json``, read as package data.

Each entry names a behaviour (or an error code), the sources that speak to it by class (the spec,
Runware's docs, SDK or CLI source, a live capture in ``fixtures/real/``, a dry run, vidmock's own
decision), what vidmock decided and, where sources disagree, which won and why. ``vidmock explain``
prints the entry of a code; ``docs/fidelity.md`` is this module's rendering of the whole file:

    python -m mockserver.contract.evidence           # rewrite docs/fidelity.md
    python -m mockserver.contract.evidence --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path

from mockserver.contract import load_json
from mockserver.contract.generated import refresh

EVIDENCE = "evidence.json"
PAGE = Path("docs/fidelity.md")
CLASSES = ("live-capture", "dry-run", "spec", "runware-docs", "sdk-source", "cli-source", "vidmock-decision")
ADOPTION = {
    "adopted": "vidmock does it by default",
    "vidmock-own": "vidmock's own behaviour: the service's is unknown",
    "fault": "only when injected (a fault or a scenario)",
    "not-adopted": "seen, deliberately not followed",
    "open-question": "the evidence is unclear; the documents are kept",
}


@cache
def entries() -> tuple[dict, ...]:
    return tuple(load_json(EVIDENCE)["entries"])


def entry(entry_id: str) -> dict:
    """The entry with this id (``code.invalidApiKey``, ``envelope.rest-refusal``)."""
    found = next((item for item in entries() if item["id"] == entry_id), None)
    if found is None:
        raise KeyError(f"no evidence entry {entry_id!r}")
    return found


def for_code(code: str) -> dict | None:
    """The entry of an error code (a catalogue row such as ``invalid<Parameter>`` for generic codes)."""
    return next((item for item in entries() if item.get("code") == code), None)


def classes_of(item: dict) -> list[str]:
    """The source classes an entry cites, strongest first."""
    cited = {source["class"] for source in item["sources"]}
    return [name for name in CLASSES if name in cited]


def explain_text(item: dict) -> str:
    """What ``vidmock explain`` prints of an entry: classes, decision, who won, sources, questions."""
    lines = [f"evidence ({item['id']}): {', '.join(classes_of(item))}",
             f"decision: {item['decision']} [{item['adoption']}: {ADOPTION[item['adoption']]}]"]
    if "status_note" in item:
        lines.append(f"note: {item['status_note']}")
    if "disagreement" in item:
        dis = item["disagreement"]
        lines.append(f"sources disagree ({dis['between']}): {dis['winner']} wins, because {dis['why']}")
    lines += [f"  - {source['class']}: {source['ref']}: {source['says']}" for source in item["sources"]]
    lines += [f"open question: {question}" for question in item.get("open_questions", [])]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _link(ref: str) -> str:
    """A source's ref as a Markdown link from docs/: URLs as they are, repository paths relative."""
    if ref.startswith(("https://", "http://")):
        return f"<{ref}>"
    if ref.startswith(("fixtures/", "schemas/", "mockserver/")):
        return f"[{ref}](../{ref.partition('#')[0]})"
    return _cell(ref)


def _section(item: dict) -> list[str]:
    title = f"`{item['code']}` (HTTP {item['http_status']})" if item["kind"] == "error-code" else item["title"]
    out = [f"### {title}", "", f"Id `{item['id']}`. Evidence: {', '.join(classes_of(item))}. "
           f"Adoption: **{item['adoption']}** ({ADOPTION[item['adoption']]}).", "", f"**Decision.** {item['decision']}"]
    if "status_note" in item:
        out += ["", f"*{item['status_note']}*"]
    if "measured" in item:
        out += ["", "**Measured live:** " + ", ".join(f"{key} {value}" for key, value in item["measured"].items())]
    if "disagreement" in item:
        dis = item["disagreement"]
        out += ["", f"**Sources disagree** ({dis['between']}): {dis['winner']} wins, because {dis['why']}."]
    out += ["", "| class | source | says |", "|---|---|---|"]
    out += [f"| {source['class']} | {_link(source['ref'])} | {_cell(source['says'])} |" for source in item["sources"]]
    out += [f"\nOpen question: {question}" for question in item.get("open_questions", [])]
    return out + [""]


def render() -> str:
    """docs/fidelity.md: a summary table, the open questions, then one section per entry."""
    items = entries()
    out = ["# Fidelity: what vidmock commits to, and the evidence", "",
           "<!-- Generated from schemas/evidence.json by `python -m mockserver.contract.evidence`; do not edit by hand. -->", "",
           load_json(EVIDENCE)["about"], "",
           "The captures cited as `fixtures/real/...` are described in `fixtures/real/README.md`; "
           "`vidmock explain CODE` prints an error code's entry.", "",
           "| entry | evidence | adoption |", "|---|---|---|"]
    out += [f"| `{item['id']}` | {', '.join(classes_of(item))} | {item['adoption']} |" for item in items]
    questions = [(item["id"], question) for item in items for question in item.get("open_questions", [])]
    out += ["", "## Open questions", ""] + [f"- `{entry_id}`: {question}" for entry_id, question in questions]
    for kind, heading in (("behaviour", "## Behaviours"), ("error-code", "## Error codes")):
        out += ["", heading, ""]
        for item in items:
            if item["kind"] == kind:
                out += _section(item)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/fidelity.md from schemas/evidence.json (run in a checkout)."""
    parser = argparse.ArgumentParser(prog="python -m mockserver.contract.evidence", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the page is stale")
    args = parser.parse_args(argv)
    return refresh(PAGE, render(), check=args.check, command="python -m mockserver.contract.evidence")

if __name__ == "__main__":
    raise SystemExit(main())
