"""The model of benchmarks/split_cores.py, checked small: the split server answers through its
owner process exactly what the one-process layout answers, its fronts are real processes sharing
one port, and a quick run of the benchmark gets the expected 2xx for every request of every
layout and of vidmock. No timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from benchmarks.serverproc import BENCHMARKS, start_process

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None,
                               reason="wrk is not installed (apt-get install wrk, or bash benchmarks/install_peers.sh)")


@pytest.mark.parametrize("fronts", [0, 2])
async def test_every_layout_echoes_the_tasks_and_runs_as_many_processes_as_it_says(fronts):
    server = start_process([sys.executable, str(BENCHMARKS / "split_server.py"), "--fronts", str(fronts),
                            "--stateless-us", "5", "--stateful-us", "5"])
    try:
        tasks = [{"taskType": "videoInference", "taskUUID": f"00000000-0000-4000-8000-00000000000{n}", "n": n}
                 for n in range(3)]
        async with aiohttp.ClientSession() as session:
            for _ in range(2 * (fronts + 1)):  # new connections, so the kernel spreads them over the fronts
                async with session.post(f"{server.base_url}/v1", json=tasks,
                                        headers={"Connection": "close"}) as response:
                    assert response.status == 200
                    assert await response.json() == {"data": tasks}
        assert len(server.pids()) == 1 + fronts
    finally:
        assert server.stop() == 0


@needs_wrk
def test_a_quick_run_answers_every_request_of_every_layout_and_vidmock():
    command = [sys.executable, "-m", "benchmarks.split_cores", "--quick", "--work", "0/0,10/20", "--fronts", "0,1",
               "--clients", "4", "--rounds", "2"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["benchmark"] == "split_cores"
    assert [(level["stateless_us"], level["stateful_us"]) for level in report["work"]] == [(0, 0), (10, 20)]
    for level in report["work"]:
        assert level["processes"]["one process"] == 1 and level["processes"]["1 front + owner"] == 2
        (cell,) = level["cells"]
        assert cell["clients"] == 4
        assert list(cell["servers"]) == ["vidmock", "one process", "1 front + owner"]
        for figures in cell["servers"].values():
            assert 2 * 100 <= figures["requests"] <= 2 * (100 + 4)  # answers in flight when wrk stops count too
            assert (figures["non_2xx"], figures["unexpected_2xx"], figures["socket_errors"]) == (0, 0, 0)
            assert figures["cpu_us_per_request"] > 0
        assert set(cell["ratios"]) == {"vidmock/one process", "1 front + owner/one process"}
