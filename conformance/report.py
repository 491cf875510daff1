"""How a conformance result reads: a text report for people, JUnit XML for CI.

Both take the ``{rule: [violations]}`` mapping of ``rules.evaluate``; one JUnit test case per rule
so a CI dashboard shows which rule regressed, with the evidence in the failure text.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from conformance.rules import Rule, Violation

Results = dict[Rule, list[Violation]]
MAX_SHOWN = 5  # violations printed per rule; the rest are counted


def failed(results: Results) -> bool:
    return any(results.values())


def text_report(results: Results) -> str:
    """Rule id, title, each violation with its evidence, and how to fix; passed rules in one line."""
    lines = []
    for rule, violations in results.items():
        if not violations:
            continue
        lines.append(f"FAIL {rule.id} {rule.title}  ({len(violations)} violation(s); {rule.doc})")
        lines += _violation_lines(violations)
        lines.append(f"     fix: {rule.fix}")
    passed = [rule.id for rule, violations in results.items() if not violations]
    if passed:
        lines.append(f"pass {', '.join(passed)}")
    count = sum(map(len, results.values()))
    lines.append(f"vidmock conformance: {count} violation(s) of {len(results)} rule(s) checked"
                 if count else f"vidmock conformance: all {len(results)} rule(s) passed")
    return "\n".join(lines)


def _violation_lines(violations: list[Violation]) -> list[str]:
    lines = []
    for violation in violations[:MAX_SHOWN]:
        lines.append(f"   - {violation.message}")
        lines.append(f"     evidence: {json.dumps(violation.evidence, default=str)}")
    if len(violations) > MAX_SHOWN:
        lines.append(f"   ... and {len(violations) - MAX_SHOWN} more")
    return lines


def junit_xml(results: Results, suite: str = "vidmock-conformance") -> str:
    failures = sum(1 for violations in results.values() if violations)
    root = ElementTree.Element("testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0")
    for rule, violations in results.items():
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=f"{rule.id} {rule.title}")
        if violations:
            failure = ElementTree.SubElement(case, "failure", message=f"{len(violations)} violation(s) of {rule.id}",
                                             type=rule.id)
            failure.text = "\n".join(_violation_lines(violations) + [f"fix: {rule.fix}", f"see: {rule.doc}"])
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def write_junit(results: Results, path: Path) -> None:
    Path(path).write_text(junit_xml(results), encoding="utf-8")
