"""Submit to success: how long a client waits for a 720p 5 s MP4 with immediate progression, at
1, 4 and 16 clients each polling every POLL_INTERVAL; ``cold``: a seed never rendered before per
task (an ffmpeg render each), ``cached``: one already-rendered seed."""

from __future__ import annotations

import itertools
import sys
import time

import aiohttp

from benchmarks.loadgen import closed_loop
from benchmarks.serverproc import API_KEY, SUCCESS, main, start_vidmock, submit_and_poll, video_task

POLL_INTERVAL = 0.005  # seconds; the figures are quantised by at most this much
CLIENT_COUNTS = (1, 4, 16)
TASKS = {"cold": {1: 6, 4: 12, 16: 32}, "cached": {1: 50, 4: 100, 16: 200}}
CACHED_SEED = 777
TIME_CAP = 180.0  # seconds per cell


async def submit_and_wait(session: aiohttp.ClientSession, base_url: str, seed: int) -> float | None:
    """Seconds from sending the submit to receiving success; None if it failed or ran out of time."""
    started = time.perf_counter()
    _ack, reply = await submit_and_poll(session, base_url, video_task(seed, duration=5, outputFormat="MP4"),
                                        interval=POLL_INTERVAL, deadline=time.monotonic() + TIME_CAP)
    return time.perf_counter() - started if reply is not None and SUCCESS.check(reply) else None


async def cell(session: aiohttp.ClientSession, base_url: str, clients: int, seeds, total: int) -> dict:
    async def client(take_ticket, batch) -> None:
        while take_ticket():
            waited = await submit_and_wait(session, base_url, next(seeds))
            if waited is None:
                batch.failures += 1
            else:
                batch.latencies.append(waited)

    summary = (await closed_loop(clients, total, TIME_CAP, client)).summary()
    summary["tasks_per_second"] = summary.pop("rps")
    return summary


async def run(args) -> dict:
    fresh_seeds, rows = itertools.count(100_000), []
    with start_vidmock("--seed", "9") as server:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16), headers=headers) as session:
            assert await submit_and_wait(session, server.base_url, CACHED_SEED) is not None, "the warm-up failed"
            for clients in CLIENT_COUNTS:
                for mode in ("cold", "cached"):
                    total = max(clients, int(TASKS[mode][clients] * args.scale))
                    seeds = fresh_seeds if mode == "cold" else itertools.repeat(CACHED_SEED)
                    rows.append({"mode": mode, "clients": clients,
                                 **await cell(session, server.base_url, clients, seeds, total)})
                    print(rows[-1], flush=True, file=sys.stderr)
        peak_rss = server.status_kib("VmHWM")
    return {"setup": {"server": "vidmock serve --port 0 --seed 9 (own process, fresh cache, progression "
                                "immediate, synth concurrency = CPUs)",
                      "task": "videoInference 1280x720, 5 s, MP4, numberResults 1",
                      "measured": f"submit sent -> getResponse success received, polling every "
                                  f"{POLL_INTERVAL * 1000:g} ms",
                      "cold": "a seed never rendered before per task", "cached": f"seed {CACHED_SEED} every time"},
            "results": rows, "vidmock_peak_rss_kib": peak_rss}


if __name__ == "__main__":
    main(__doc__, run, quick={"scale": 0.1}, scale=(1.0, "multiplies the tasks per cell"))
