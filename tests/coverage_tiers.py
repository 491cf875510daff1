"""Per module of the product (mockserver/, conformance/): the line coverage of the quick tier beside
the whole suite's, and whether the quick tier keeps within 5 points of it (docs/testing.md).

    python tests/coverage_tiers.py            # runs both tiers under coverage.py, prints the table
    python tests/coverage_tiers.py --out DIR  # keeps the data and each tier's JSON report in DIR
    python tests/coverage_tiers.py -- tests/server/test_ids.py   # both tiers of some tests only

Two ``coverage run -m pytest`` runs (pyproject's [tool.coverage.run]: subprocesses too, xdist
workers, ``vidmock serve``/``check`` and nested pytest runs among them): the quick tier, and the
rest of the suite (the slow kinds). The quick tier's data is its coverage; both runs' data
combined is the whole suite's, which runs every test once, not the quick ones twice. Exit 1 when
a module of the quick tier falls short.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUICK = "not (sdk or browser or bench or slow)"  # the quick tier's marker expression
MARGIN = 5.0  # points the quick tier may lag the whole suite by, per module


def run_tier(tier: str, marks: str, out: Path, pytest_args: list[str]) -> Path:
    """Run the tests that ``marks`` selects under coverage; the folder of their data files."""
    folder = out / tier
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-m", marks, *pytest_args]
    print(f"{tier}: {' '.join(command)}", flush=True)
    tests = subprocess.run(command, cwd=REPO, env=coverage_env(folder))
    if tests.returncode != 0:
        print(f"{tier}: pytest exited {tests.returncode} (coverage still reported)", flush=True)
    return folder


def coverage_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "COVERAGE_FILE": str(folder / ".coverage"), "COVERAGE_RCFILE": str(REPO / "pyproject.toml")}


def percentages(name: str, data: list[Path], out: Path) -> dict[str, float]:
    """Combine the data of ``data`` folders (kept) into ``out/name``; ``{module path: percent}``."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    env = coverage_env(folder)
    subprocess.run([sys.executable, "-m", "coverage", "combine", "-q", "--keep", *map(str, data)], cwd=REPO, env=env,
                   check=True)
    report = folder / "coverage.json"
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(report)], cwd=REPO, env=env, check=True)
    files = json.loads(report.read_text())["files"]
    return {path: data["summary"]["percent_covered"] for path, data in files.items()}


def table(quick: dict[str, float], whole: dict[str, float]) -> tuple[str, list[str]]:
    """The Markdown table, and the modules where the quick tier falls short."""
    lines = ["| module | whole suite | quick tier | difference |", "|---|---:|---:|---:|"]
    short = []
    for module in sorted(set(quick) | set(whole)):
        lag = round(whole.get(module, 0.0) - quick.get(module, 0.0), 1) + 0.0  # + 0.0: no "-0.0"
        if lag > MARGIN:
            short.append(module)
        lines.append(f"| {module} | {whole.get(module, 0.0):.1f} | {quick.get(module, 0.0):.1f} | "
                     f"{0.0 - lag:+.1f}{' (short)' if lag > MARGIN else ''} |")
    return "\n".join(lines), short


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="keep coverage data and reports here (default: a temporary folder)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to both pytest runs")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="vidmock-coverage-"))
    quick_data = run_tier("quick", QUICK, out, args.pytest_args)
    rest_data = run_tier("rest", f"not ({QUICK})", out, args.pytest_args)
    quick = percentages("quick-report", [quick_data], out)
    whole = percentages("whole-report", [quick_data, rest_data], out)
    text, short = table(quick, whole)
    print(text)
    print(f"\nquick tier within {MARGIN:g} points of the whole suite in every module: {'no' if short else 'yes'}"
          + (f" (short: {', '.join(short)})" if short else ""))
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
