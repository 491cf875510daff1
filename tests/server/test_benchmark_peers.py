"""The measuring tool of benchmarks/peers.py, checked small: vidmock and the floor under wrk, every
answer a 2xx of the expected reply, every figure of the report present. A harness check: no timing
is asserted (the machine is too noisy, and the figures are only ever ratios within one run)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.serverproc import percentile
from benchmarks.wrkload import remove_synthetic_samples
from conftest import once_per_run

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
QUICK_REQUESTS, ROUNDS, WARMUP = 100, 2, 50  # what peers.py --quick runs per measured run, rounds, warm-ups
CELL_FIGURES = {"requests", "rps", "p50_ms", "p99_ms", "cpu_us_per_request", "server_cpu_share", "rss_before_kib",
                "rss_after_kib", "non_2xx", "unexpected_2xx", "socket_errors", "first_bad_answer", "rps_by_round",
                "stopped_by", "wrk_cpu_share_max", "wrk_cpu_share_by_round", "synthetic_samples_removed", "warmup"}
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None,
                               reason="wrk is not installed (apt-get install wrk, or bash benchmarks/install_peers.sh)")


@pytest.fixture(scope="module")
def quick_report(run_dir) -> dict:
    """One quick run of the harness per test run, whichever xdist worker asks first."""
    def run(folder: Path) -> None:
        command = [sys.executable, "-m", "benchmarks.peers", "--quick", "--servers", "vidmock,floor"]
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert completed.returncode == 0, completed.stderr
        (folder / "report.json").write_text(completed.stdout)

    return json.loads((once_per_run(run_dir, "peers-quick", run) / "report.json").read_text())


@needs_wrk
def test_quick_report_names_its_command_machine_and_method(quick_report):
    assert quick_report["benchmark"] == "peers"
    assert quick_report["command"] == "python -m benchmarks.peers --quick --servers vidmock,floor"
    assert {"nproc", "python", "aiohttp", "platform", "wrk", "loadavg_before", "loadavg_after"} <= set(
        quick_report["machine"])
    assert quick_report["machine"]["wrk"].startswith("wrk ")
    assert "coordinated-omission samples are removed" in quick_report["setup"]["percentiles"]
    assert "cannot be given to them" in quick_report["setup"]["peer_contract"]
    assert quick_report["skipped"] == {}
    assert quick_report["warnings"] == []


@needs_wrk
def test_quick_run_answers_every_request_of_both_servers_with_the_expected_2xx(quick_report):
    assert list(quick_report["workloads"]) == ["getResponse", "submit"]
    for workload in quick_report["workloads"].values():
        assert [cell["clients"] for cell in workload["cells"]] == [1, 16]
        for cell in workload["cells"]:
            clients = cell["clients"]
            assert list(cell["servers"]) == ["vidmock", "floor"]
            for figures in cell["servers"].values():
                assert set(figures) == CELL_FIGURES
                assert (figures["non_2xx"], figures["unexpected_2xx"], figures["socket_errors"]) == (0, 0, 0)
                assert figures["first_bad_answer"] is None
                assert figures["stopped_by"] == ["count"]
                assert len(figures["rps_by_round"]) == len(figures["wrk_cpu_share_by_round"]) == ROUNDS
                # wrk stops at the count; answers already read in the same loop turn still count
                assert ROUNDS * QUICK_REQUESTS <= figures["requests"] <= ROUNDS * (QUICK_REQUESTS + clients)
                assert figures["warmup"]["requests"] >= WARMUP and figures["warmup"]["failures"] == 0
                assert 0 < figures["p50_ms"] <= figures["p99_ms"]
                assert figures["rps"] > 0 and figures["cpu_us_per_request"] > 0 and figures["server_cpu_share"] > 0
                assert figures["rss_before_kib"] > 0 and figures["rss_after_kib"] > 0
            assert list(cell["ratios"]) == ["vidmock/floor"]
            assert cell["ratios"]["vidmock/floor"]["rps"] > 0
    assert len(quick_report["table"]) == 2 * 2 * 2  # workloads x client counts x servers


@needs_wrk
def test_probes_show_what_each_server_checks(quick_report):
    statuses = {name: {probe: answer["status"] for probe, answer in server["probes"].items()}
                for name, server in quick_report["workloads"]["submit"]["servers"].items()}
    assert statuses["vidmock"] == {"valid": 200, "schema_violation": 400, "profile_rule_violation": 400,
                                   "no_api_key": 401}
    assert statuses["floor"] == {"valid": 200, "schema_violation": 200, "profile_rule_violation": 200,
                                 "no_api_key": 200}


@needs_wrk
def test_submits_create_a_job_each_and_polls_none(quick_report):
    poll, submit = (quick_report["workloads"][name] for name in ("getResponse", "submit"))
    assert poll["servers"]["vidmock"]["jobs_stored_at_end"] == 2  # the finished task and the valid probe
    assert all(cell["vidmock_jobs"] == {"before": 2, "after": 2} for cell in poll["cells"])
    for cell in submit["cells"]:
        vidmock = cell["servers"]["vidmock"]
        answered = vidmock["requests"] + vidmock["warmup"]["requests"]
        runs = ROUNDS + 1  # the warm-up, then the rounds
        # every answered submit made a job; each run can leave one request per client in flight when it stops
        created = cell["vidmock_jobs"]["after"] - cell["vidmock_jobs"]["before"]
        assert answered <= created <= answered + runs * cell["clients"]
    assert submit["servers"]["vidmock"]["jobs_stored_at_end"] == submit["cells"][-1]["vidmock_jobs"]["after"]


def wrk_stats_correct(recorded: dict[int, int], expected: int) -> dict[int, int]:
    """wrk 4's ``stats_correct`` (src/stats.c), transcribed: the samples it adds to a histogram."""
    data = dict(recorded)
    for n in range(expected * 2, max(recorded) + 1):
        count, m = recorded.get(n, 0), n - expected
        while count and m > expected:
            data[m] = data.get(m, 0) + count
            m -= expected
    return data


@given(st.dictionaries(st.integers(1, 3000), st.integers(1, 40), min_size=1, max_size=60), st.integers(1, 700))
def test_removing_synthetic_samples_gives_back_what_wrk_recorded(recorded, expected):
    assert remove_synthetic_samples(wrk_stats_correct(recorded, expected), expected) == dict(sorted(recorded.items()))


def test_percentile_is_nearest_rank():
    histogram = {100: 50, 200: 49, 5000: 1}
    assert [percentile(histogram, p) for p in (1, 50, 51, 99, 100)] == [100, 100, 200, 200, 5000]
    assert percentile({}, 50) is None


@needs_wrk
def test_a_baseline_checkout_is_measured_beside_vidmock_under_its_commit():
    """``--baseline`` starts vidmock from another checkout's venv; this checkout stands in for one."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("this checkout has no .venv to stand in as a baseline")
    command = [sys.executable, "-m", "benchmarks.peers", "--quick", "--servers", "vidmock", "--workloads",
               "getResponse", "--clients", "1", "--rounds", "1", "--baseline", str(ROOT)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    revision = report["revision"]
    [cell] = report["workloads"]["getResponse"]["cells"]
    assert list(cell["servers"]) == ["vidmock", f"vidmock@{revision}"]
    assert cell["servers"][f"vidmock@{revision}"]["non_2xx"] == 0
    assert set(cell["ratios"]) == {f"vidmock/vidmock@{revision}"}


@needs_wrk
def test_the_report_renders_as_the_tables_of_performance_md(quick_report):
    from benchmarks.peers_report import markdown

    text = markdown(quick_report)
    rows = [line for line in text.splitlines() if line.startswith("| vidmock |") or line.startswith("| floor |")]
    assert len(rows) == 2 * 2 * 2  # two servers, two client counts, two workloads
    submit16 = quick_report["workloads"]["submit"]["cells"][1]
    assert f"| floor | 16 | {round(submit16['servers']['floor']['rps']):,} |" in text
    floor_target = next(check for check in quick_report["targets"] if check["target"].endswith("floor"))
    assert text.rstrip().endswith(f"| >= 0.5 x the floor |  |  |  | **{floor_target['ratio']:.2f}** |"
                                  if not floor_target["met"] else f"{floor_target['ratio']:.2f} met |")
