"""Submit-to-ack and getResponse round trips over loopback, vidmock against the floor, in one run.

vidmock (``vidmock serve --port 0``) and the floor (an aiohttp handler that only parses and echoes
JSON) each run in their own process. REST load comes from ``wrk`` when it is installed
(``wrkload.py``), else from this process's aiohttp client (``loadgen.py``), which also drives every
WebSocket cell (wrk speaks no WebSocket); each row says which. For every transport,
operation and client count, batches alternate between the two servers (the floor first in even
rounds, vidmock first in odd ones) so machine noise hits both alike, and the figures that matter
are the ratios.

Isolating the ack: every submit carries the same parameters and seed, so after one warm-up render
every submit is a synthesizer cache hit (settled inside the submit), not an ffmpeg run. A separate,
smaller figure ``submit_cold_renders`` measures the ack while every submit starts a real ffmpeg
render (distinct seeds), to show what rendering on the same 2 cores costs the ack.

Run: ``python benchmarks/latency.py`` (about 20 s on 2 cores; ``--quick`` for a smoke run). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

if __package__ in (None, ""):  # run as a file: `benchmarks` lives in the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.loadgen import Batch, ReplyCheck, rest_load, ws_load  # noqa: E402
from benchmarks.serverproc import command_line, machine, print_run, start_floor, start_vidmock  # noqa: E402
from benchmarks.wrkload import UUID_SLOT, run_wrk, wrk_path, wrk_version  # noqa: E402

API_KEY = "bench-key"
MODEL = "alibaba:wan@2.7"
CLIENT_COUNTS = (1, 16, 64)
REQUESTS_PER_BATCH = {1: 400, 16: 2000, 64: 3000}
CACHED_SEED = 4242


def video_task(seed: int, duration: int = 2) -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": MODEL,
            "positivePrompt": "latency probe", "width": 1280, "height": 720, "duration": duration, "seed": seed}


def first_item(reply: dict) -> dict:
    data = reply.get("data") if isinstance(reply, dict) else None
    return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}


def is_ack(reply: dict) -> bool:
    return first_item(reply).get("taskType") == "videoInference" and "errors" not in reply


def is_success(reply: dict) -> bool:
    return first_item(reply).get("status") == "success"


def is_echo(reply: dict) -> bool:
    return bool(first_item(reply).get("taskType"))


@dataclass(frozen=True)
class Expected:
    """A right reply, as the aiohttp client checks it (parsed) and as wrk's Lua script does (Lua
    patterns the reply text must and must not match)."""
    check: ReplyCheck
    pattern: str
    refuse: str = ""


ACK = Expected(is_ack, '"taskType":%s*"videoInference"', '"errors"')
SUCCESS = Expected(is_success, '"status":%s*"success"', '"errors"')
ECHO = Expected(is_echo, '"taskType":%s*"')


async def finished_task(base_url: str, task_uuid: str | None = None) -> str:
    """Submit the cached-seed task (a new taskUUID unless given) and wait for success: its render
    warms the cache, and its taskUUID is what the getResponse probes ask for."""
    task = video_task(CACHED_SEED) | ({"taskUUID": task_uuid} if task_uuid else {})
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{base_url}/v1", json=[task]) as response:
            assert is_ack(await response.json()), "warm-up submit was not acknowledged"
        async with asyncio.timeout(60):
            while True:
                async with session.post(f"{base_url}/v1", json=[{"taskType": "getResponse",
                                                                 "taskUUID": task["taskUUID"]}]) as response:
                    if is_success(await response.json()):
                        return task["taskUUID"]
                await asyncio.sleep(0.05)


def generator(transport: str, args) -> str:
    """What drives a cell: wrk for REST when it is installed (``--generator``), else the aiohttp
    client, which is also the only one that speaks WebSocket."""
    if transport == "rest" and args.generator != "aiohttp" and wrk_path() is not None:
        return "wrk"
    return "aiohttp"


async def measure(transport: str, server, body, expected: Expected, clients: int, total: int, cap: float,
                  load_generator: str, fresh_uuid: bool) -> Batch:
    """One batch against ``server``, with the CPU time the server process and the load generator
    spent on it."""
    cpu_before, own_before, started = server.cpu_seconds(), time.process_time(), time.monotonic()
    if load_generator == "wrk":
        tasks = body()
        if fresh_uuid:
            tasks[0]["taskUUID"] = UUID_SLOT  # wrk puts a fresh v4 UUID there per request
        run = await asyncio.to_thread(run_wrk, f"{server.base_url}/v1", json.dumps(tasks), token=API_KEY,
                                      clients=clients, requests=total, time_cap=cap, expect=expected.pattern,
                                      refuse=expected.refuse)
        batch = Batch(latencies=run.latencies_s(), wall=run.wall_s, failures=run.failures, generator_cpu=run.wrk_cpu_s)
        batch.generator_wall = time.monotonic() - started
    else:
        load = rest_load if transport == "rest" else ws_load
        url = server.base_url if transport == "rest" else server.ws_url
        batch = await load(url, API_KEY, body, expected.check, clients=clients, total=total, time_cap=cap)
        batch.generator_cpu = time.process_time() - own_before  # the aiohttp client runs in this process
        batch.generator_wall = time.monotonic() - started
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        batch.server_cpu = cpu_after - cpu_before
    return batch


async def compare(transport: str, operation: str, floor, body, expected: dict, args, fresh_uuid: bool) -> list[dict]:
    """One row per client count; each row gets a fresh vidmock (see ``fresh_vidmock``)."""
    rows = []
    load_generator = generator(transport, args)
    for clients in CLIENT_COUNTS:
        total = max(clients, int(REQUESTS_PER_BATCH[clients] * args.scale))
        batches = {"vidmock": Batch(), "floor": Batch()}
        async with fresh_vidmock() as (vidmock, probe_uuid):
            servers = {"vidmock": vidmock, "floor": floor}
            for round_number in range(args.rounds):
                order = ("floor", "vidmock") if round_number % 2 == 0 else ("vidmock", "floor")
                for target in order:
                    batch = await measure(transport, servers[target], body(probe_uuid), expected[target], clients,
                                          total, args.time_cap, load_generator, fresh_uuid)
                    batches[target].merge(batch)
            stored = (await health(vidmock.base_url))["jobs"]
        vidmock_row, floor_row = batches["vidmock"].summary(), batches["floor"].summary()
        rows.append({"transport": transport, "operation": operation, "clients": clients, "generator": load_generator,
                     "vidmock": vidmock_row, "floor": floor_row,
                     "rps_ratio_to_floor": _ratio(vidmock_row["rps"], floor_row["rps"]),
                     "p50_ratio_to_floor": _ratio(vidmock_row["p50_ms"], floor_row["p50_ms"]),
                     # requests per server CPU-second, as a share of the floor's: unlike req/s, it does
                     # not move when the load generator (on the same cores) is the one saturated
                     "cpu_ratio_to_floor": _ratio(floor_row.get("server_cpu_us_per_request"),
                                                  vidmock_row.get("server_cpu_us_per_request")),
                     "jobs_stored_at_end": sum(stored.values())})
        print(f"{transport:4} {operation:11} {clients:3} clients: vidmock p50 {vidmock_row['p50_ms']} ms "
              f"{vidmock_row['rps']} rps {vidmock_row.get('server_cpu_us_per_request')} us cpu | floor p50 "
              f"{floor_row['p50_ms']} ms {floor_row['rps']} rps {floor_row.get('server_cpu_us_per_request')} us cpu",
              file=sys.stderr)
    return rows


@contextlib.asynccontextmanager
async def fresh_vidmock():
    """A new ``vidmock serve`` per cell, so no cell inherits the jobs and media entries of the ones
    before it (vidmock keeps every finished job for its ttl, and submit cost grows with them)."""
    vidmock = start_vidmock("--seed", "1")
    try:
        yield vidmock, await finished_task(vidmock.base_url)
    finally:
        vidmock.stop()


async def health(base_url: str) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/__mock/health") as response:
            return await response.json()


async def cold_submits(vidmock_url: str, count: int) -> dict:
    """Acks while each submit starts a real render (distinct seeds) on the same machine."""
    seeds = iter(range(10_000, 10_000 + count))
    batch = await rest_load(vidmock_url, API_KEY, lambda: [video_task(next(seeds))], is_ack,
                            clients=1, total=count, time_cap=60)
    return batch.summary()


def _ratio(value, reference):
    return round(value / reference, 3) if value and reference else None


def targets(rows: list[dict]) -> list[dict]:
    def row(transport, operation, clients):
        return next((r for r in rows if (r["transport"], r["operation"], r["clients"]) == (transport, operation, clients)), None)

    checks = []
    for transport in ("rest", "ws"):
        single, sixteen = row(transport, "submit", 1), row(transport, "submit", 16)
        if single:
            checks.append({"target": f"{transport} submit-to-ack p50 <= 2 ms at 1 client",
                           "measured_ms": single["vidmock"]["p50_ms"], "met": single["vidmock"]["p50_ms"] <= 2.0})
        if sixteen:
            checks.append({"target": f"{transport} submit rps at 16 clients >= 50% of the floor's",
                           "measured_ratio": sixteen["rps_ratio_to_floor"],
                           "met": (sixteen["rps_ratio_to_floor"] or 0) >= 0.5})
    return checks


async def run(args) -> dict:
    floor = start_floor()
    try:
        submit = lambda _probe: lambda: [video_task(CACHED_SEED)]  # noqa: E731 - a fresh taskUUID each time
        poll = lambda probe: lambda: [{"taskType": "getResponse", "taskUUID": probe}]  # noqa: E731
        rows = []
        for transport in args.transports:
            rows += await compare(transport, "submit", floor, submit, {"vidmock": ACK, "floor": ECHO}, args, True)
            rows += await compare(transport, "getResponse", floor, poll, {"vidmock": SUCCESS, "floor": ECHO}, args,
                                  False)
        async with fresh_vidmock() as (vidmock, _probe):
            cold = await cold_submits(vidmock.base_url, args.cold)
            peak_rss = vidmock.status_kib("VmHWM")
    finally:
        floor.stop()
    return {
        "benchmark": "latency",
        "command": command_line(),
        "machine": machine(),
        "setup": {
            "servers": "vidmock serve --port 0 --seed 1 (a fresh process per cell) and benchmarks/floor_server.py, "
                       "each its own process",
            "generators": {
                "rest": "wrk -t1 (benchmarks/wrkload.py: closed loop, one keep-alive connection per client, a fresh "
                        "v4 taskUUID per submit, percentiles of real answers)" if generator("rest", args) == "wrk"
                        else "aiohttp client in this process (benchmarks/loadgen.py: closed loop, keep-alive)",
                "ws": "aiohttp client in this process (benchmarks/loadgen.py: one authenticated socket per client)",
                "wrk": wrk_version(),
                "note": "each row's generator field names what measured it; the aiohttp client costs more CPU "
                        "than the servers it drives and can hold a fast server (the floor) to about half its rate",
                "generator_cpu_share": "per server and row: the load generator's CPU (wrk's user+system time, or "
                                       "this process's for the aiohttp client) / the wall time of its runs; near "
                                       "1.0 the generator, not the server, sets the req/s",
            },
            "interleaving": f"{args.rounds} rounds per cell, the floor first in even rounds",
            "submit": "videoInference 1280x720 2 s MP4, identical params and seed: after one warm-up render "
                      "every background render is a cache hit; progression immediate",
            "getResponse": "polls one finished task (status success, one video)",
            "submit_cold_renders": "1 client, distinct seeds: every submit starts an ffmpeg render in the "
                                   "background on the same 2 cores",
            "requests_per_batch": {str(k): max(k, int(v * args.scale)) for k, v in REQUESTS_PER_BATCH.items()},
            "time_cap_per_batch_s": args.time_cap,
        },
        "results": rows,
        "submit_cold_renders": cold,
        "vidmock_peak_rss_kib_cold_cell": peak_rss,
        "targets": targets(rows),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating batches per server and cell")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the requests per batch")
    parser.add_argument("--time-cap", type=float, default=20.0, help="seconds a batch may last at most")
    parser.add_argument("--transports", default="rest,ws", type=lambda s: s.split(","))
    parser.add_argument("--cold", type=int, default=20, help="submits with a cold render each")
    parser.add_argument("--generator", choices=("auto", "aiohttp"), default="auto",
                        help="REST load from wrk when installed (auto), or always from the aiohttp client")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, a tenth of the requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.scale, args.cold = 1, 0.1, 3
    return args


def main(argv=None) -> None:
    print_run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
