"""``vidmock explain ID``: a client rule (``VM004``) or an error code (``unsupportedModelResolution``).

Reports and error replies name these ids; this prints what they mean in an installed vidmock, with
the evidence behind an error code (``schemas/evidence.json``, also for codes only seen live),
where docs/ is not at hand. Error codes come from the catalogue in ``mockserver/contract/errors.py`` (whose
rule text docs/errors.md repeats, checked by a test); rules arrive from the composition root
(``cli.py`` reads ``conformance.rules``), and their docs/conformance.md sections ship as package
data, ``explain_docs.json``, made by ``python -m mockserver.commands.explain`` in a checkout.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TextIO

from mockserver.contract import evidence
from mockserver.contract import task_schema, task_types
from mockserver.contract.errors import CATALOGUE, ErrorKind, kind_of
from mockserver.contract.generated import refresh

EXIT_UNKNOWN = 2
DOCS_FILE = "explain_docs.json"
RULES_PAGE = Path("docs/conformance.md")
ERRORS_PAGE = Path("docs/errors.md")
CATALOGUE_HEADING = "## Catalogue"  # its rows repeat CATALOGUE's rule text, printed anyway
RULE_HEADING = re.compile(r"^### (VM\d{3})\s*$")


@dataclass(frozen=True)
class RuleText:
    """What explain shows of a client rule."""

    id: str
    title: str
    fix: str


@cache
def shipped_docs() -> dict[str, dict]:
    """The package data: ``rules`` (id -> section) and ``errors`` (code -> passages)."""
    return json.loads(resources.files("mockserver.commands").joinpath(DOCS_FILE).read_text(encoding="utf-8"))


def sections_of(markdown: str) -> dict[str, str]:
    """The ``### VMnnn`` sections of docs/conformance.md, each up to the next heading."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        match = RULE_HEADING.match(line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif line.startswith("#"):
            current = None
        elif current is not None:
            current.append(line)
    return {rule_id: "\n".join(lines).strip() for rule_id, lines in sections.items()}


def passages_of(markdown: str) -> dict[str, list[str]]:
    """``{code: the docs/errors.md paragraphs and table rows naming it}`` for every catalogue code.

    A table row comes with its header row. Fenced examples and the catalogue table are left out.
    """
    blocks, skipping = [], False
    for block in re.split(r"\n\s*\n", markdown):
        if block.startswith("## "):
            skipping = block.startswith(CATALOGUE_HEADING)
        if not (skipping or block.startswith(("#", "```"))):
            blocks.append(block.strip())
    found: dict[str, list[str]] = {}
    for code in CATALOGUE:
        needle = f"`{code}`"
        for block in blocks:
            lines = block.splitlines()
            if lines[0].startswith("|"):
                rows = [line for line in lines[2:] if needle in line]
                if rows:
                    found.setdefault(code, []).append("\n".join([lines[0], *rows]))
            elif needle in block:
                found.setdefault(code, []).append(block)
    return found


def explain_rule(rule: RuleText) -> str:
    """Id and title, the rule's documentation section, how to fix a violation."""
    parts = [f"{rule.id}: {rule.title}", "client rule, checked by `vidmock check` and the pytest plugin",
             shipped_docs()["rules"].get(rule.id, ""), f"fix: {rule.fix}"]
    return "\n\n".join(part for part in parts if part) + "\n"


def explain_code(code: str, kind: ErrorKind) -> str:
    """Code, HTTP status, the rule that raises it, and how the status reaches a client."""
    generic = f", named after its parameter like every {kind.code}" if kind.code != code else ""
    if kind.http_status == 200:
        status = ("HTTP 200: a task outcome, sent in errors[] of getResponse (and of webhooks) with "
                  "status \"error\"; the poll itself succeeded")
    else:
        status = f"HTTP {kind.http_status} when every task of the request fails (200 beside any data)"
    passages = shipped_docs()["errors"].get(kind.code, [])
    graded = evidence.for_code(kind.code)
    proof = [evidence.explain_text(graded)] if graded else []
    return "\n\n".join([f"{code}: error code{generic}", kind.rule, status, *passages, *proof]) + "\n"


def explain_seen_code(graded: dict) -> str:
    """A code the service was seen (or documented) to send that vidmock's catalogue does not hold."""
    head = (f"{graded['code']}: error code seen outside vidmock (HTTP {graded['http_status']} where seen); "
            "not in this vidmock's catalogue")
    return "\n\n".join([head, evidence.explain_text(graded)]) + "\n"


def _seen_code(ident: str) -> dict | None:
    """The evidence entry of a code the catalogue does not hold (any case)."""
    lower = ident.lower()
    return next((item for item in evidence.entries()
                 if item.get("code", "").lower() == lower and item["code"] not in CATALOGUE), None)


@cache
def parameter_codes() -> tuple[str, ...]:
    """Every code a generic row can produce: its prefix plus a parameter the task schemas name.

    ``invalidSeed`` is one; ``unsupportedModelResolutoin`` (a typo) is not, and gets the nearest.
    """
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for task_type in task_types():
        walk(task_schema(task_type))
    prefixes = [code.removesuffix("<Parameter>") for code in CATALOGUE if code.endswith("<Parameter>")]
    return tuple(sorted(prefix + name[0].upper() + name[1:] for prefix in prefixes for name in names))


def _known(rules: Mapping[str, RuleText]) -> list[str]:
    return [*rules, *(code for code in CATALOGUE if "<" not in code), *parameter_codes()]


def _code(ident: str) -> str | None:
    """The code ``ident`` names (any case): a catalogue row or a parameter's generic code."""
    lower = ident.lower()
    return next((code for code in (*CATALOGUE, *parameter_codes()) if code.lower() == lower), None)


def nearest(word: str, rules: Mapping[str, RuleText]) -> list[str]:
    by_lower = {known.lower(): known for known in _known(rules)}
    return [by_lower[hit] for hit in difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.6)]


def run(ident: str | None, rules: Mapping[str, RuleText], *, out: TextIO | None = None,
        err: TextIO | None = None) -> int:
    """Print the explanation of ``ident`` (every id when None); 0, or 2 for an unknown id."""
    out, err = out or sys.stdout, err or sys.stderr  # the streams of the call, not of the import: a redirected stdout is honoured
    if ident is None:
        out.write("client rules:\n" + "".join(f"  {r.id}  {r.title}\n" for r in rules.values()))
        out.write("error codes:\n" + "".join(f"  {code}\n" for code in CATALOGUE))
        seen = [item["code"] for item in evidence.entries() if item.get("code") and item["code"] not in CATALOGUE]
        if seen:
            out.write("codes seen outside vidmock (evidence only):\n" + "".join(f"  {code}\n" for code in seen))
        return 0
    rule = rules.get(ident.upper())
    if rule:
        out.write(explain_rule(rule))
        return 0
    code = _code(ident)
    seen = _seen_code(ident) if code is None else None
    if seen is not None:
        out.write(explain_seen_code(seen))
        return 0
    if code is None:
        close = nearest(ident, rules)
        hint = f"nearest: {', '.join(close)}" if close else "`vidmock explain --list` shows them all"
        err.write(f"vidmock explain: {ident!r} is neither a client rule nor an error code; {hint}\n")
        return EXIT_UNKNOWN
    out.write(explain_code(code, kind_of(code)))
    return 0


def docs_data(rules_page: str, errors_page: str) -> str:
    """The package data file for the texts of docs/conformance.md and docs/errors.md."""
    data = {"sources": [str(RULES_PAGE), str(ERRORS_PAGE)], "rules": sections_of(rules_page),
            "errors": passages_of(errors_page)}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate mockserver/commands/explain_docs.json from docs/conformance.md and docs/errors.md
    (run in a checkout)."""
    parser = argparse.ArgumentParser(prog="python -m mockserver.commands.explain", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the file is stale")
    args = parser.parse_args(argv)
    wanted = docs_data(RULES_PAGE.read_text(encoding="utf-8"), ERRORS_PAGE.read_text(encoding="utf-8"))
    return refresh(Path(__file__).with_name(DOCS_FILE), wanted, check=args.check,
                   command="python -m mockserver.commands.explain")


if __name__ == "__main__":
    raise SystemExit(main())
