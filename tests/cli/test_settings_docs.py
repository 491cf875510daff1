"""docs/server.md's settings and names tables are made from the settings table, and name everything."""

from __future__ import annotations

import re
import subprocess
import sys

from cli_run import REPO, clean_env, vidmock
from conformance.runs import client_environment
from conformance.client import Namespace
from mockserver.config import (BY_NAME, CHECK_CLIENT, OTHER_VARIABLES, SETTINGS, known_variables,
                               unknown_variables)
from mockserver.commands.config_render import NAMES_MARKERS, SETTINGS_MARKERS, doc_page, names_table, settings_table

DOC = REPO / "docs" / "server.md"
NAME = re.compile(r"\b(?:VIDMOCK|RUNWARE)_[A-Z0-9_]*[A-Z0-9]\b")
DELIBERATE_TYPOS = {"VIDMOCK_PROT"}  # docs/server.md shows the warning it gets


def test_docs_server_md_holds_exactly_the_generated_tables():
    text = DOC.read_text(encoding="utf-8")
    for markers, table in ((SETTINGS_MARKERS, settings_table()), (NAMES_MARKERS, names_table())):
        assert f"{markers[0]}\n{table}\n{markers[1]}" in text, "run python -m mockserver.commands.config_render"
    assert doc_page(text) == text  # and regenerating changes nothing


def test_the_regeneration_command_reports_current_files():
    done = subprocess.run([sys.executable, "-m",
                           "mockserver.commands.config_render", "--check"], cwd=REPO, capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


def test_every_setting_has_a_row_with_its_flag_variable_key_and_help():
    table = settings_table()
    for s in SETTINGS:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{s.flag}"))
        assert f"`{s.env}`" in row and f"`{s.name}`" in row and s.help.replace("|", "\\|") in row
    assert "`VIDMOCK_API_KEYS` / `api_keys` (now `VIDMOCK_API_KEY` / `api_key`)" in table
    assert len([line for line in table.splitlines() if line.startswith("| `--")]) == len(SETTINGS) == 36


def test_vidmock_check_hands_its_clients_only_documented_names():
    handed = set(client_environment(Namespace("http://127.0.0.1:1", "k")))
    assert handed == {v.name for v in OTHER_VARIABLES if v.where == CHECK_CLIENT}
    assert "VIDMOCK_API_KEY" in handed and BY_NAME["api_key"].env == "VIDMOCK_API_KEY"  # one name, one idea
    assert unknown_variables({name: "x" for name in handed}) == []


def test_every_vidmock_name_in_the_project_is_known_and_in_the_names_table():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found: dict[str, str] = {}
    for relative in files:
        path = REPO / relative
        if relative.startswith("tests/cli/") or not path.is_file() or path.suffix in (".mp4", ".png", ".jpg"):
            continue
        for name in NAME.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(name, relative)
    unknown = {name: where for name, where in found.items()
               if name not in known_variables() | DELIBERATE_TYPOS and name.startswith("VIDMOCK_")}
    assert unknown == {}, "add them to OTHER_VARIABLES (mockserver/config.py) with their meaning"
    table = names_table()
    assert all(f"| `{name}` |" in table for name in known_variables())
    assert "RUNWARE_API_KEY" in found and "| `RUNWARE_API_KEY` |" in table


def test_top_level_help_lists_every_command():
    done = vidmock("--help")
    assert done.returncode == 0
    for command in ("serve", "validate", "explain", "openapi", "check"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.M), command
