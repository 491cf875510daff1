"""What ``vidmock probe`` reports: its findings, the report printed as JSON or read by a person,
and the exchanges written as captures for ``fixtures/real/`` (``--evidence``).

Everything printed or written goes through ``clean``, which replaces the API key wherever it
appears (an upstream may quote it back).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from conformance.probe_judge import Answer
from conformance.probe_schema import SchemaDifference
from conformance.probe_upstream import Exchange
from mockserver.backends.proxy import RUNWARE_REST
from mockserver.traffic.redaction import redact_url


@dataclass
class Finding:
    kind: str
    message: str
    request: dict | None = None
    upstream: Any = None
    vidmock: Any = None
    path: str | None = None  # schema findings
    verbatim: str | None = None  # an unreadable upstream reply, as received
    signature: tuple = ()

    def to_json(self, reproduce: Callable[[dict], str]) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind}
        if self.path is not None:
            found["path"] = self.path
        if self.request is not None:
            found["request"] = self.request
        found.update(upstream=self.upstream, vidmock=self.vidmock, message=self.message)
        if self.verbatim is not None:
            found["verbatim"] = self.verbatim
        if self.request is not None:
            found["reproduce"] = reproduce(self.request)
        return found


@dataclass
class Report:
    upstream: str
    seed: int
    sent: int = 0
    agreed: int = 0
    findings: list[Finding] = field(default_factory=list)
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self, reproduce: Callable[[dict], str]) -> dict[str, Any]:
        return {"upstream": self.upstream, "seed": self.seed, "sent": self.sent, "agreed": self.agreed,
                "findings": [f.to_json(reproduce) for f in self.findings], "stopped": self.stopped,
                "notes": self.notes}


def schema_finding(difference: SchemaDifference) -> Finding:
    return Finding("schema", difference.message, upstream=difference.upstream, vidmock=difference.vidmock,
                   path=difference.path, signature=(difference.path,))


def reproducer(upstream: str, url_inputs: bool) -> Callable[[dict], str]:
    """The command line that asks one task again (``--case``) of the same upstream."""
    def reproduce(task: dict) -> str:
        case = json.dumps({k: v for k, v in task.items() if k != "taskUUID"}, separators=(",", ":"))
        line = f"vidmock probe --case {shlex.quote(case)}"
        if upstream != RUNWARE_REST:
            line += f" --upstream {shlex.quote(redact_url(upstream))}"
        return line + (" --url-inputs" if url_inputs else "")
    return reproduce


def print_report(report: Report, reproduce: Callable[[dict], str], *, as_json: bool, dry_runs: bool, out: TextIO,
                 err: TextIO, clean: Callable[[str], str]) -> None:
    """The report as JSON, or as a readable summary; why a run stopped on ``err`` too."""
    if report.stopped:
        err.write(clean(f"vidmock probe: stopped: {report.stopped}\n"))
    if as_json:
        out.write(clean(json.dumps(report.to_json(reproduce), indent=2)) + "\n")
        return
    lines = [f"vidmock probe of {report.upstream} (seed {report.seed})"]
    if dry_runs:
        lines.append(f"{report.sent} dry run(s) sent, {report.agreed} answered alike")
    for number, finding in enumerate(report.findings, 1):
        lines.append(f"\n{number}. {finding.kind}: {finding.message}")
        if finding.path is not None:
            lines.append(f"   at {finding.path}: upstream {json.dumps(finding.upstream)}, vidmock "
                         f"{json.dumps(finding.vidmock)}")
        if finding.request is not None:
            lines.append(f"   upstream {json.dumps(finding.upstream)}\n   vidmock  {json.dumps(finding.vidmock)}")
            if finding.verbatim is not None:
                lines.append(f"   upstream's body: {finding.verbatim[:500]!r}")
            lines.append(f"   reproduce: {reproduce(finding.request)}")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append(f"\n{len(report.findings)} finding(s)" if report.findings else "\nno findings")
    out.write(clean("\n".join(lines)) + "\n")


def write_evidence(path: Path, exchanges: list[tuple[str, Exchange]], upstream: str,
                   clean: Callable[[str], str]) -> None:
    """Every exchange as a capture of fixtures/real/ (origin dry-run), key redacted."""
    host = urlsplit(upstream).hostname or upstream
    captures = []
    for label, exchange in exchanges:
        verbatim = clean(exchange.text)
        try:
            parsed = json.loads(verbatim)
        except ValueError:
            parsed = None
        answer = Answer.read(exchange.status, exchange.text, exchange.task.get("taskUUID"))
        verdict = "accepted" if answer.accepted else "refused" if answer.readable else "answered, not JSON"
        captures.append({
            "source": {"repo": host, "url": redact_url(upstream), "date": exchange.date[:10]},
            "kind": f"reply (dry run {verdict})",
            "task": exchange.task.get("taskType"), "model": exchange.task.get("model"),
            "transport": "rest", "http_status": exchange.status,
            "judgement": "captured by vidmock probe: the upstream's answer to a dry run (X-Runware-Dry-Run: 1)",
            "notes": label, "verbatim": verbatim, "parsed": parsed, "origin": "dry-run",
            "redacted": "the API key, where the reply quoted it" if verbatim != exchange.text else "",
            "request": [exchange.task]})
    path.write_text(clean(json.dumps(captures, indent=2)) + "\n", encoding="utf-8")
