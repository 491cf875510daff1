"""Submit-to-ack and getResponse round trips, vidmock against the floor, from this process's aiohttp
client (``loadgen.py``) over REST and WebSocket, batches alternating; cached submits (one seed), and
``submit_cold_renders``, the ack while every submit starts an ffmpeg render."""

from __future__ import annotations

import contextlib
import sys

from benchmarks.loadgen import alternate, load
from benchmarks.serverproc import (ACK, ECHO, SUCCESS, comma_list, finished_task, health, main, ratio, start_floor,
                                   start_vidmock, target, video_task)

CLIENT_COUNTS = (1, 16, 64)
REQUESTS_PER_BATCH = {1: 400, 16: 2000, 64: 3000}


@contextlib.asynccontextmanager
async def fresh_vidmock():
    """A new ``vidmock serve`` per cell, so no cell inherits the jobs of the ones before it (a
    submit costs more the more jobs vidmock keeps)."""
    with start_vidmock("--seed", "1") as vidmock:
        yield vidmock, await finished_task(vidmock.base_url)


async def compare(transport: str, operation: str, floor, args) -> list[dict]:
    rows = []
    for clients in CLIENT_COUNTS:
        total = max(clients, int(REQUESTS_PER_BATCH[clients] * args.scale))
        async with fresh_vidmock() as (vidmock, probe):
            submit = operation == "submit"
            body = (lambda: [video_task()]) if submit else (lambda: [{"taskType": "getResponse", "taskUUID": probe}])
            expected = {"vidmock": ACK if submit else SUCCESS, "floor": ECHO}
            def one_batch(name, server, into):
                return load(server, transport, body, expected[name], clients=clients, total=total,
                            time_cap=args.time_cap, batch=into)
            batches = await alternate({"floor": floor, "vidmock": vidmock}, args.rounds, one_batch)
            stored = (await health(vidmock.base_url))["jobs"]
        mine, floors = batches["vidmock"].summary(), batches["floor"].summary()
        rows.append({"transport": transport, "operation": operation, "clients": clients, "generator": "aiohttp",
                     "vidmock": mine, "floor": floors,
                     "rps_ratio_to_floor": ratio(mine["rps"], floors["rps"]),
                     "p50_ratio_to_floor": ratio(mine["p50_ms"], floors["p50_ms"]),
                     # requests per server CPU-second, as a share of the floor's
                     "cpu_ratio_to_floor": ratio(floors.get("server_cpu_us_per_request"),
                                                 mine.get("server_cpu_us_per_request")),
                     "jobs_stored_at_end": sum(stored.values())})
        print(f"{transport:4} {operation:11} {clients:3} clients: {rows[-1]}", file=sys.stderr)
    return rows


def targets(rows: list[dict]) -> list[dict]:
    checks = []
    for row in rows:
        where = f"{row['transport']} submit"
        if row["operation"] == "submit" and row["clients"] == 1:
            checks.append(target(f"{where}-to-ack p50 <= 2 ms at 1 client", 2.0, row["vidmock"]["p50_ms"],
                                 key="measured_ms", at_most=True))
        elif row["operation"] == "submit" and row["clients"] == 16:
            checks.append(target(f"{where} rps at 16 clients >= 50% of the floor's", 0.5, row["rps_ratio_to_floor"],
                                 key="measured_ratio"))
    return checks


async def run(args) -> dict:
    with start_floor() as floor:
        rows = [row for transport in args.transports for operation in ("submit", "getResponse")
                for row in await compare(transport, operation, floor, args)]
        async with fresh_vidmock() as (vidmock, _probe):
            seeds = iter(range(10_000, 10_000 + args.cold))
            cold = (await load(vidmock, "rest", lambda: [video_task(next(seeds))], ACK, clients=1, total=args.cold,
                               time_cap=60)).summary()
            peak_rss = vidmock.status_kib("VmHWM")
    return {
        "setup": {"servers": "vidmock serve --port 0 --seed 1 (a fresh process per cell) and "
                             "benchmarks/floor_server.py, each its own process",
                  "generator": "aiohttp client in this process (benchmarks/loadgen.py: closed loop)",
                  "interleaving": f"{args.rounds} rounds per cell, the floor first in even rounds",
                  "requests_per_batch": {str(k): max(k, int(v * args.scale)) for k, v in REQUESTS_PER_BATCH.items()},
                  "time_cap_per_batch_s": args.time_cap},
        "results": rows, "submit_cold_renders": cold, "vidmock_peak_rss_kib_cold_cell": peak_rss,
        "targets": targets(rows),
    }


if __name__ == "__main__":
    main(__doc__, run, quick={"rounds": 1, "scale": 0.1, "cold": 3}, rounds=(2, "alternating batches per server and cell"),
         scale=(1.0, "multiplies the requests per batch"), time_cap=(20.0, "seconds a batch may last at most"),
         transports={"default": ["rest", "ws"], "type": comma_list()}, cold=(20, "submits with a cold render each"))
