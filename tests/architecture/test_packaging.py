"""What the wheel installs: the two import packages and their data, nothing at the top level that
could clash with another distribution (a PyPI project named ``schemas`` exists)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO


def wheel_files(built_wheel) -> set[str]:
    with zipfile.ZipFile(built_wheel.path) as archive:
        return set(archive.namelist())


def test_only_mockserver_and_conformance_are_installed(built_wheel):
    top = {name.split("/")[0] for name in wheel_files(built_wheel) if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"mockserver", "conformance"}


def test_every_module_of_the_tree_is_in_the_wheel(built_wheel):
    files = wheel_files(built_wheel)
    modules = {str(path.relative_to(REPO)) for package in ("mockserver", "conformance")
               for path in (REPO / package).rglob("*.py")}
    assert modules - files == set()


def test_schemas_ship_as_package_data_of_mockserver(built_wheel):
    files = wheel_files(built_wheel)
    shipped = {name.removeprefix("mockserver/schemas/") for name in files if name.startswith("mockserver/schemas/")}
    in_tree = {str(path.relative_to(REPO / "schemas")) for path in (REPO / "schemas").rglob("*.json")}
    assert in_tree and in_tree <= shipped
    assert {"mockserver/control/dashboard.html", "mockserver/control/scenarios.json",
            "conformance/contract_snapshot.json"} <= files


def test_the_installed_wheel_serves_from_its_own_files(built_wheel, tmp_path):
    """The unpacked wheel alone (no checkout on the path) loads its schemas and validates a task."""
    code = ("import json, mockserver.contract as c, mockserver.validation as v; "
            "print(c.schemas_root()); print(json.dumps([e.code for e in v.validate_task("
            "{'taskType': 'videoInference', 'taskUUID': '0d84f171-2e54-4c07-836e-05788795736d', "
            "'model': 'alibaba:wan@2.7', 'positivePrompt': 'x', 'width': 1000, 'height': 1000})]))")
    prefix = ["-X", f"pycache_prefix={sys.pycache_prefix}"] if sys.pycache_prefix else []  # -I would drop it
    done = subprocess.run([sys.executable, "-I", *prefix, "-c", "import sys; sys.path.insert(0, sys.argv[1]); " + code,
                           str(built_wheel.site)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    root, codes = done.stdout.splitlines()
    assert root == str(built_wheel.site / "mockserver" / "schemas")
    assert codes == '["unsupportedModelResolution"]'
