"""The import rules of docs/architecture.md, read from the source with ``ast``.

- Each room imports only the rooms its row of ``ROOMS`` names (the table of docs/architecture.md,
  which ``test_architecture_doc`` holds equal to this one); the rooms form no circle.
- Only the composition root (mockserver/app.py, cli.py, __main__.py) imports ``mockserver.control``
  or ``conformance``.
- Nothing in mockserver/control/ imports a transport (``mockserver.transports``).
- Nothing else in mockserver/ imports ``mockserver.control``.
- No module reads request state from a ContextVar: state travels in ``RequestContext``, built only
  in ``exchange``, whose ``record`` alone calls the ``exchange_done`` observers.
- No import circle between ``exchange`` and ``backends``, nor ``control.routes`` and ``control.openapi``.
- ``config.py`` imports no domain module, only the shared words of ``contract.vocabulary``.
- The ``web.AppKey``s are declared in one module per layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "mockserver"
ROOT = {PACKAGE / "app.py", PACKAGE / "cli.py", PACKAGE / "__main__.py"}
MODULES = sorted(PACKAGE.rglob("*.py"))

# Room -> the rooms it may import (None: any). A room is a folder of mockserver/ or one of its
# top-level modules; the composition root is app.py, cli.py and __main__.py. Ordered bottom-up.
ROOMS: dict[str, frozenset[str] | None] = {
    "contract": frozenset(),
    "core": frozenset(),
    "config": frozenset({"contract"}),
    "media": frozenset({"contract", "core"}),
    "validation": frozenset({"contract", "media"}),
    "jobs": frozenset({"contract", "core", "media"}),
    "assets": frozenset({"contract", "core", "media", "validation", "jobs"}),
    "delivery": frozenset({"config", "contract", "core", "media", "jobs"}),
    "state": frozenset({"config", "contract", "core", "media", "jobs", "assets", "delivery"}),
    "exchange": frozenset({"contract", "state"}),
    "traffic": frozenset({"contract", "media", "validation", "exchange"}),
    "transports": frozenset({"config", "contract", "core", "exchange", "state"}),
    "backends": frozenset({"contract", "core", "media", "validation", "jobs", "assets", "traffic", "exchange", "state"}),
    "control": frozenset({"config", "contract", "core", "media", "jobs", "delivery", "traffic", "exchange", "state"}),
    "commands": frozenset({"config", "contract", "media", "validation"}),
    "root": None,
}
ROOT_MODULES = {"mockserver", "mockserver.app", "mockserver.cli", "mockserver.__main__"}
# The one module per layer that declares its ``web.AppKey``s.
KEY_MODULES = ["mockserver/control/keys.py", "mockserver/exchange.py", "mockserver/state.py",
               "mockserver/transports/keys.py"]


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


def room_of(module: str) -> str | None:
    """The room of a module name (``conformance`` for the harness; None outside both packages)."""
    parts = module.split(".")
    if parts[0] == "conformance":
        return "conformance"
    if parts[0] != "mockserver":
        return None
    return "root" if ".".join(parts[:2]) in ROOT_MODULES else parts[1]


def room_violations(path: Path, root: Path = REPO) -> list[str]:
    """The imports of a file that its room's row of ``ROOMS`` does not allow."""
    room = room_of(module_name(path, root))
    allowed = ROOMS[room]
    if allowed is None:
        return []
    return sorted(m for m in imported_modules(path, root)
                  if (other := room_of(m)) not in (None, room) and other not in allowed)


@pytest.mark.parametrize("path", MODULES, ids=names)
def test_each_room_imports_only_the_rooms_its_row_allows(path):
    assert room_violations(path) == []


def test_every_module_is_in_a_room_of_the_table():
    assert {room_of(module_name(path)) for path in MODULES} == set(ROOMS)


def test_the_rooms_form_no_circle():
    """Read bottom-up, the table names only rooms above it: each room imports rooms of rows before its own."""
    order = list(ROOMS)
    for index, (room, allowed) in enumerate(ROOMS.items()):
        assert allowed is None or allowed <= set(order[:index]), room


def test_the_room_rule_finds_a_violation(tmp_path):
    media = tmp_path / "mockserver" / "media"
    media.mkdir(parents=True)
    upward = media / "x.py"
    upward.write_text("from mockserver.jobs.store import JobStore\nfrom ..contract import errors\nfrom . import synth\n")
    assert room_violations(upward, root=tmp_path) == ["mockserver.jobs.store", "mockserver.jobs.store.JobStore"]
    harness = tmp_path / "mockserver" / "app.py"
    harness.write_text("import conformance.check\nfrom mockserver.control import keys\n")
    assert room_violations(harness, root=tmp_path) == []


def test_app_keys_are_declared_in_one_module_per_layer():
    """Each layer's ``web.AppKey``s stand together: the stores' and settings' (``state``), the
    exchange's (hooks, backend), the transports' and the control plane's (``keys``)."""
    declaring = [names(path) for path in MODULES
                 if any(isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "AppKey"
                        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))]
    assert declaring == KEY_MODULES
    assert len({room_of(module_name(REPO / path)) for path in declaring}) == len(declaring)


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


def module_name(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports anywhere in the file (function-local and
    TYPE_CHECKING imports included: a circle hidden in a function is still a circle)."""
    known = {module_name(path): path for path in MODULES}
    graph = {}
    for name, path in known.items():
        targets = {m if m in known else m.rpartition(".")[0] for m in imported_modules(path)}
        graph[name] = {target for target in targets if target in known and target != name}
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


@pytest.mark.parametrize("one, other", [
    ("mockserver.exchange", "mockserver.backends"),  # the Backend protocol lives with RequestContext
    ("mockserver.control.routes", "mockserver.control.openapi"),  # the builder is handed in at composition
])
def test_no_import_circle_between(one, other):
    graph = import_graph()
    assert not (reaches(graph, one, other) and reaches(graph, other, one))


def test_the_import_graph_finds_a_circle_when_there_is_one():
    assert reaches({"a": {"b"}, "b": {"a"}}, "a", "b") and reaches({"a": {"b"}, "b": {"a"}}, "b", "a")
    assert "mockserver.exchange" in import_graph()["mockserver.transports.rest"]


def test_settings_import_no_domain_module():
    """config.py is read by everything; it names only the shared words (``vocabulary``, which reads
    the schemas), never a store, a transport or a backend, so no arrow runs upward from it."""
    named = {m for m in imported_modules(PACKAGE / "config.py") if m.startswith("mockserver")}
    assert "mockserver.contract.vocabulary" in named
    assert [m for m in named if m.rpartition(".")[0] != "mockserver.contract.vocabulary"] == ["mockserver.contract.vocabulary"]


def test_request_contexts_are_built_in_one_module():
    """Only ``exchange`` constructs a ``RequestContext`` (``request_context``, ``frame_context``)."""
    builders = [names(path) for path in MODULES
                if any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RequestContext"
                       for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))]
    assert builders == ["mockserver/exchange.py"]


def test_exchanges_are_recorded_at_one_choke_point():
    """Observers are called by ``exchange.record`` alone; transports call ``record``, none loops
    over the hooks itself."""
    callers = [names(path) for path in MODULES if "exchange_done" in path.read_text(encoding="utf-8")]
    assert sorted(callers) == ["mockserver/control/plane.py", "mockserver/exchange.py", "mockserver/traffic/verbose_log.py"]
