"""The pytest plugin as a user runs it: a small suite in its own folder, under pytest-xdist.

Each worker starts its own server (isolated namespaces per test, a server per worker); all of them
share one render cache, so every distinct video is rendered once per cache, not once per worker,
and a second run on the same cache renders nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.plugin_suite import SPECS, run_suite, write_suite

COUNT = 10  # two tests per distinct video


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    return write_suite(tmp_path_factory.mktemp("user-suite"), count=COUNT)


def passed(run) -> None:
    assert run.returncode == 0, run.output[-3000:]
    assert f"{COUNT} passed" in run.output


@pytest.mark.slow  # a nested suite, cold then warm: its servers and renders
def test_two_workers_each_with_a_server_share_one_render_cache(suite, tmp_path):
    cache = tmp_path / "renders"
    cold = run_suite(suite, "-n", "2", "--vidmock-cache-dir", str(cache), env={"SUITE_PROGRESSION": "polls:1"})
    passed(cold)
    assert {test["worker"] for test in cold.tests} == {"gw0", "gw1"}
    servers = {worker: {test["server"] for test in cold.tests if test["worker"] == worker} for worker in ("gw0", "gw1")}
    assert all(len(urls) == 1 for urls in servers.values()) and servers["gw0"] != servers["gw1"]
    assert len({test["key"] for test in cold.tests}) == COUNT  # a namespace per test
    assert all(test["journal"] == 1 + test["polls"] for test in cold.tests)  # its own requests, all of them
    assert sorted(session["cache_dir"] for session in cold.sessions) == [str(cache)] * 2
    assert cold.total("renders") == len(SPECS)  # once per distinct video, whichever worker asked first

    warm = run_suite(suite, "-n", "2", "--vidmock-cache-dir", str(cache), env={"SUITE_PROGRESSION": "polls:1"})
    passed(warm)
    assert (warm.total("renders"), warm.total("ffmpeg_runs")) == (0, 0)
    # the conftest's override of vidmock_config reached both servers
    assert {test["policy"] for test in cold.tests + warm.tests} == {"polls:1"}
    assert all(test["polls"] >= 2 for test in warm.tests)  # polls:1: the first poll answers "processing"


@pytest.mark.slow  # a nested suite on two workers (the quick tier has the worker branch below)
def test_cache_dir_none_is_one_cache_for_the_run_shared_by_its_workers(suite, tmp_path):
    run = run_suite(suite, "-n", "2", "--vidmock-cache-dir", "none", f"--basetemp={tmp_path / 'base'}")
    passed(run)
    assert sorted(session["cache_dir"] for session in run.sessions) == [str(tmp_path / "base" / "vidmock-cache")] * 2
    assert run.total("renders") == len(SPECS)
    assert {test["policy"] for test in run.tests} == {"immediate"}  # the harness's default


@pytest.mark.parametrize("worker, shared", [("gw1", "run"), (None, "basetemp")])
def test_cache_dir_none_is_a_folder_every_worker_of_the_run_finds(worker, shared, monkeypatch, tmp_path):
    """The plugin's worker branch without a nested run: a worker's basetemp is a folder of the
    run's, so ``none`` names the run's folder there, and the basetemp's own without xdist."""
    from conformance.plugin import _cache_dir

    class Options:
        def getoption(self, name):
            return "none" if name == "--vidmock-cache-dir" else None

    class Factory:
        def getbasetemp(self):
            return tmp_path / "run" / "popen-gw1" if worker else tmp_path / "basetemp"

    if worker:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    else:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert _cache_dir(Options(), Factory()) == tmp_path / shared / "vidmock-cache"


@pytest.mark.slow
def test_without_xdist_the_variable_names_the_cache(suite, tmp_path):
    run = run_suite(suite, env={"VIDMOCK_CACHE_DIR": str(tmp_path / "from-env")})
    passed(run)
    assert [session["cache_dir"] for session in run.sessions] == [str(tmp_path / "from-env")]
    assert {test["worker"] for test in run.tests} == {"main"}
