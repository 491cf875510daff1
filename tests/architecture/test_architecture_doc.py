"""docs/architecture.md held to the code, so the page cannot drift from it: every path, module and
``python -m`` command it names exists, its rooms table is the table ``test_layering`` enforces,
and each import rule it states names the tests that hold it (and every such test is stated)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from conftest import REPO
from test_layering import ROOMS

PAGE = REPO / "docs" / "architecture.md"
LAYERING = Path(__file__).with_name("test_layering.py")
# Tests of test_layering that check its own machinery rather than state a rule of the page.
SELF_CHECKS = {"test_the_rules_see_every_module", "test_the_import_reader_resolves_relative_imports",
               "test_the_import_graph_finds_a_circle_when_there_is_one", "test_the_room_rule_finds_a_violation"}
TICKED = re.compile(r"`([^`\n]+)`")
FILE_SUFFIXES = (".py", ".json", ".md", ".html", ".toml")
DOTTED = re.compile(r"(mockserver|conformance)(\.\w+)+")
SHORT_DOTTED = re.compile(r"([a-z_]+)\.([A-Za-z_]\w*)")


def section(text: str, title: str) -> str:
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    """The rows of the rooms table, as cells (the middle cell may hold ``|`` in code; the first and
    last do not)."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section(text, "Rooms").splitlines() if line.startswith("| `")]


def room_name(cell: str) -> str:
    paths = TICKED.findall(cell)
    if "mockserver/app.py" in paths:
        return "root"
    return paths[0].removeprefix("mockserver/").removesuffix("/").removesuffix(".py")


def rooms_table(text: str) -> dict[str, frozenset[str] | None]:
    """Room -> the rooms it may import, as the page's table says (None: anything)."""
    table: dict[str, frozenset[str] | None] = {}
    for row in table_rows(text):
        allowed = row[-1]
        table[room_name(row[0])] = (None if allowed == "anything" else
                                    frozenset() if allowed == "nothing" else frozenset(TICKED.findall(allowed)))
    return table


def resolves(dotted: str) -> bool:
    """A module, or an attribute of one, that exists."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def module_leaves(root: Path) -> dict[str, list[str]]:
    """Short module name -> the dotted names of mockserver's modules so named (``exchange`` ->
    ``mockserver.exchange``)."""
    leaves: dict[str, list[str]] = {}
    for path in (root / "mockserver").rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        leaves.setdefault(parts[-1], []).append(".".join(parts))
    return leaves


def missing(text: str, root: Path = REPO) -> list[str]:
    """What the page names that does not exist: paths (relative to the repository; a bare file name
    in a row of the rooms table is in that row's folder, elsewhere anywhere in the repository),
    modules and their attributes, modules run with ``python -m``."""
    absent: list[str] = []
    rows = {line for line in section(text, "Rooms").splitlines() if line.startswith("| `")}
    leaves = module_leaves(root)
    for line in text.splitlines():
        folder = root / TICKED.findall(line)[0] if line in rows and TICKED.findall(line)[0].endswith("/") else None
        for token in TICKED.findall(line):
            if token.startswith("python -m "):
                if not resolves(token.split()[2]):
                    absent.append(token)
            elif " " in token or "<" in token or token.startswith("/") or "://" in token:
                continue
            elif "/" in token:
                if not (root / token).exists():
                    absent.append(token)
            elif token.endswith(FILE_SUFFIXES):
                if not ((folder / token).exists() if folder else any(root.rglob(token))):
                    absent.append(token)
            elif DOTTED.fullmatch(token):
                if not resolves(token):
                    absent.append(token)
            elif (short := SHORT_DOTTED.fullmatch(token)) and short[1] in leaves:
                if not any(resolves(f"{module}.{short[2]}") for module in leaves[short[1]]):
                    absent.append(token)
    return absent


def rules(text: str) -> list[list[str]]:
    """The tests each bullet of the import rules names."""
    bullets = re.split(r"\n- ", section(text, "Import rules"))[1:]
    return [[token for token in TICKED.findall(bullet) if token.startswith("test_")] for bullet in bullets]


def rule_tests_in(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_path_module_and_command_the_page_names_exists():
    assert missing(PAGE.read_text(encoding="utf-8")) == []


def test_the_rooms_table_is_the_table_the_layering_test_enforces():
    """Same rooms, same order (foundations first), same allowed imports."""
    assert list(rooms_table(PAGE.read_text(encoding="utf-8")).items()) == list(ROOMS.items())


def test_each_import_rule_of_the_page_is_a_test_and_each_rule_test_is_on_the_page():
    named = rules(PAGE.read_text(encoding="utf-8"))
    assert named and all(named), "every rule names the tests that hold it"
    assert {name for names in named for name in names} == rule_tests_in(LAYERING) - SELF_CHECKS


def test_the_checks_catch_a_page_that_drifted(tmp_path):
    (tmp_path / "mockserver" / "media").mkdir(parents=True)
    (tmp_path / "mockserver" / "media" / "store.py").write_text("")
    page = """# A page

`mockserver/media/store.py` and `mockserver/media/gone.py`, `mockserver.exchange.record`,
`mockserver.exchange.nothing_here`, `python -m mockserver.no_such_command`, `POST /v1`.

## Rooms

| room | what lives there | may import |
|---|---|---|
| `mockserver/media/` | `store.py`, `synth.py` | `contract`, `jobs` |
| `mockserver/app.py`, `mockserver/cli.py` | the root | anything |

## Import rules

- A rule with its test (`test_each_room_imports_only_the_rooms_its_row_allows`).
- A rule without one.
"""
    assert missing(page, root=tmp_path) == ["mockserver/media/gone.py", "mockserver.exchange.nothing_here",
                                            "python -m mockserver.no_such_command", "synth.py",
                                            "mockserver/app.py", "mockserver/cli.py"]
    assert rooms_table(page) == {"media": frozenset({"contract", "jobs"}), "root": None}
    assert rooms_table(page) != ROOMS
    assert rules(page) == [["test_each_room_imports_only_the_rooms_its_row_allows"], []]

