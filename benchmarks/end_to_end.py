"""Submit to success: how long a client waits for a 720p 5 s MP4 with immediate progression.

vidmock runs as ``vidmock serve --port 0`` (own process, a fresh data dir: the cache starts cold).
At 1, 4 and 16 concurrent clients, each client submits a videoInference and polls getResponse
every POLL_INTERVAL until success; the figure is submit-sent to success-received. Two modes:
``cold`` gives every task a seed never rendered before (a real ffmpeg render each, at most one per
CPU at once), ``cached`` repeats one already-rendered seed (a cache hit each).

Run: ``python benchmarks/end_to_end.py`` (about a minute). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from pathlib import Path

import aiohttp

if __package__ in (None, ""):  # run as a file: `benchmarks` lives in the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.loadgen import Batch  # noqa: E402
from benchmarks.serverproc import command_line, machine, start_vidmock  # noqa: E402

API_KEY = "e2e-key"
MODEL = "alibaba:wan@2.7"
POLL_INTERVAL = 0.005  # seconds; the figures are quantised by at most this much
CLIENT_COUNTS = (1, 4, 16)
TASKS = {"cold": {1: 6, 4: 12, 16: 32}, "cached": {1: 50, 4: 100, 16: 200}}
CACHED_SEED = 777
TIME_CAP = 180.0  # seconds per cell


def video_task(seed: int) -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": MODEL,
            "positivePrompt": "end to end", "width": 1280, "height": 720, "duration": 5,
            "outputFormat": "MP4", "seed": seed}


async def submit_and_wait(session: aiohttp.ClientSession, base_url: str, seed: int, deadline: float) -> float | None:
    """Seconds from sending the submit to receiving success; None if it failed or ran out of time."""
    task = video_task(seed)
    started = time.perf_counter()
    async with session.post(f"{base_url}/v1", json=[task]) as response:
        ack = await response.json()
    if "errors" in ack:
        return None
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    while time.monotonic() < deadline:
        async with session.post(f"{base_url}/v1", json=poll) as response:
            items = (await response.json()).get("data") or [{}]
        status = items[0].get("status")
        if status == "success":
            return time.perf_counter() - started
        if status != "processing":
            return None
        await asyncio.sleep(POLL_INTERVAL)
    return None


async def cell(base_url: str, clients: int, seeds, total: int) -> dict:
    batch = Batch()
    tickets = iter(range(total))
    deadline = time.monotonic() + TIME_CAP
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        async def client() -> None:
            for _ in tickets:
                if time.monotonic() >= deadline:
                    return
                waited = await submit_and_wait(session, base_url, next(seeds), deadline)
                if waited is None:
                    batch.failures += 1
                else:
                    batch.latencies.append(waited)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        batch.wall = time.perf_counter() - started
    summary = batch.summary()
    summary["tasks_per_second"] = summary.pop("rps")
    return summary


async def run(scale: float) -> dict:
    server = start_vidmock("--seed", "9")
    fresh_seeds = itertools.count(100_000)
    rows = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session:
            warm = await submit_and_wait(session, server.base_url, CACHED_SEED, time.monotonic() + 60)
        assert warm is not None, "the warm-up render failed"
        for clients in CLIENT_COUNTS:
            for mode in ("cold", "cached"):
                total = max(clients, int(TASKS[mode][clients] * scale))
                seeds = fresh_seeds if mode == "cold" else itertools.repeat(CACHED_SEED)
                rows.append({"mode": mode, "clients": clients, **await cell(server.base_url, clients, seeds, total)})
                print(rows[-1], flush=True, file=sys.stderr)
        peak_rss = server.status_kib("VmHWM")
    finally:
        server.stop()
    return {"benchmark": "end_to_end", "command": command_line(), "machine": machine(),
            "setup": {"server": "vidmock serve --port 0 --seed 9 (own process, fresh cache, progression immediate, "
                                "synth concurrency = CPUs)",
                      "task": "videoInference 1280x720, 5 s, MP4, numberResults 1",
                      "measured": "submit sent -> getResponse success received, polling every "
                                  f"{POLL_INTERVAL * 1000:g} ms",
                      "cold": "a seed never rendered before per task (ffmpeg renders a GOP, a tone, a remux)",
                      "cached": f"seed {CACHED_SEED} every time, rendered once before the run"},
            "results": rows, "vidmock_peak_rss_kib": peak_rss}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the tasks per cell")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = asyncio.run(run(args.scale))
    result["duration_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
