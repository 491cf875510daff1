"""The import rules of docs/architecture.md, read from the source with ``ast``.

- Only the composition root (mockserver/app.py, cli.py, __main__.py) imports ``mockserver.control``
  or ``conformance``.
- Nothing in mockserver/control/ imports a transport (``mockserver.transports``).
- Nothing else in mockserver/ imports ``mockserver.control``.
- No module reads request state from a ContextVar: state travels in ``RequestContext``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "mockserver"
ROOT = {PACKAGE / "app.py", PACKAGE / "cli.py", PACKAGE / "__main__.py"}
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path, root: Path = REPO) -> set[str]:
    """Every module a file imports, absolute names (relative imports resolved against ``root``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def names(path: Path) -> str:
    return str(path.relative_to(REPO))


def imports_any(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported_modules(path) if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("path", [p for p in MODULES if p not in ROOT and "control" not in p.relative_to(PACKAGE).parts],
                         ids=names)
def test_below_the_composition_root_nothing_imports_the_control_plane_or_the_harness(path):
    assert imports_any(path, ("mockserver.control", "conformance")) == []


@pytest.mark.parametrize("path", [p for p in MODULES if "control" in p.relative_to(PACKAGE).parts], ids=names)
def test_the_control_plane_imports_no_transport_and_no_harness(path):
    assert imports_any(path, ("mockserver.transports", "conformance")) == []


@pytest.mark.parametrize("path", MODULES, ids=names)
def test_no_request_state_in_context_variables(path):
    assert imports_any(path, ("contextvars",)) == []


def test_the_rules_see_every_module():
    """The parametrized tests above cover the package, the composition root included."""
    assert ROOT <= set(MODULES) and len(MODULES) > 30
    assert imports_any(PACKAGE / "app.py", ("mockserver.control",))  # the root does wire the control plane


def test_the_import_reader_resolves_relative_imports(tmp_path):
    package = tmp_path / "mockserver" / "transports"
    package.mkdir(parents=True)
    module = package / "x.py"
    module.write_text("from ..control import plane\nfrom . import rest\nimport json\n")
    assert {"mockserver.control", "mockserver.control.plane", "mockserver.transports.rest", "json"} <= \
        imported_modules(module, root=tmp_path)
