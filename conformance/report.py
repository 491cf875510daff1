"""How a conformance result reads: a text report for people, JUnit XML for CI.

For one run (the rules over one client's traffic) there is one JUnit test case per rule, so a CI
dashboard shows which rule regressed, with the evidence in the failure text, plus one for how the
client command ended. For many runs (``--explore``, ``--matrix``) there is one test case per run.
Reports point at ``vidmock explain ID``, which works from an installed vidmock, not at files of
the repository.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

from conformance.behaviour_text import describe, summary
from conformance.rules import Rule, Violation
from conformance.runs import RunResult

Results = dict[Rule, list[Violation]]
MAX_SHOWN = 5  # violations printed per rule; the rest are counted
EXIT_CASE = "exit status of the client command"


def failed(results: Results) -> bool:
    return any(results.values())


def text_report(results: Results) -> str:
    """Rule id, title, each violation with its evidence, and how to fix; passed rules in one line."""
    lines = []
    for rule, violations in results.items():
        if not violations:
            continue
        lines.append(f"FAIL {rule.id} {rule.title}  ({len(violations)} violation(s); see: {rule.explain})")
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


def junit_xml(results: Results, suite: str = "vidmock-conformance", *, exit_problem: str | None = None,
              with_exit: bool = False) -> str:
    """One case per rule; ``with_exit`` adds one for how the command ended (``exit_problem``)."""
    root = ElementTree.Element("testsuite", name=suite, errors="0")
    for rule, violations in results.items():
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=f"{rule.id} {rule.title}")
        if violations:
            failure = ElementTree.SubElement(case, "failure", message=f"{len(violations)} violation(s) of {rule.id}",
                                             type=rule.id)
            failure.text = "\n".join(_violation_lines(violations) + [f"fix: {rule.fix}", f"see: {rule.explain}"])
    if with_exit:
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=EXIT_CASE)
        if exit_problem:
            ElementTree.SubElement(case, "failure", message=exit_problem, type="exit")
    return _finish(root)


def _finish(root: ElementTree.Element) -> str:
    cases = root.findall("testcase")
    root.set("tests", str(len(cases)))
    root.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


# --- many runs -----------------------------------------------------------------------------------


def run_line(result: RunResult) -> str:
    """One line per run, printed as it ends: number, verdict, the command's time, the behaviour."""
    name = result.label or summary(result.behaviour)
    line = f"{result.phase:<8} {result.number:>3}  {'pass' if result.passed else 'FAIL'}  " \
           f"{result.execution.seconds:5.1f} s  {name}"
    return line + (f"  -> {'; '.join(result.reasons())}" if not result.passed else "")


def failure_text(result: RunResult, reproduce: str) -> str:
    """A failing run in full: the behaviour, why it failed, the rules' evidence, the command's
    last output, and the line that runs it again on its own."""
    lines = ["behaviour:"] + [f"  {line}" for line in describe(result.behaviour) or ["no trouble"]]
    lines += ["failed:"] + [f"  {reason}" for reason in result.reasons()]
    for rule in result.broken:
        lines.append(f"  {rule.id}: see: {rule.explain}")
        lines += [f"  {line}" for line in _violation_lines(result.results[rule])]
    if result.execution.output.strip():
        lines += ["output (last lines):"] + [f"  | {line}" for line in result.execution.output.strip().splitlines()[-15:]]
    lines.append(f"reproduce: {reproduce}")
    return "\n".join(lines)


def matrix_table(results: list[RunResult]) -> str:
    """scenario | passed | rules broken (and how the command ended, when that was wrong)."""
    width = max([len("scenario")] + [len(result.label) for result in results])
    lines = [f"{'scenario':<{width}}  passed  rules broken"]
    for result in results:
        broken = ", ".join(rule.id for rule in result.broken) or "-"
        problem = result.exit_problem()
        lines.append(f"{result.label:<{width}}  {'yes' if result.passed else 'NO':<6}  {broken}"
                     + (f"  ({problem})" if problem else ""))
    return "\n".join(lines)


def junit_runs(results: list[RunResult], suite: str, reproduce: dict[int, str]) -> str:
    """One case per run; a failing one carries its reasons, evidence and reproduce line. No
    ``time``: the file of a seed is the same whatever the timing (``--jobs``); the run lines say it."""
    root = ElementTree.Element("testsuite", name=suite, errors="0")
    for result in results:
        name = result.label or f"{result.phase} {result.number}: {summary(result.behaviour)}"
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=name)
        if not result.passed:
            failure = ElementTree.SubElement(case, "failure", message="; ".join(result.reasons()), type="run")
            failure.text = failure_text(result, reproduce[result.number])
    return _finish(root)
