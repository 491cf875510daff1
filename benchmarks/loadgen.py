"""A closed-loop load generator: N clients, each sending its next request when the last is answered.

The same code drives vidmock and the floor server, over REST (one keep-alive connection per
client) or WebSocket (one authenticated socket per client, connection set-up not timed). Every
run is bounded twice: by a request count and by a wall-clock cap.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

BodyMaker = Callable[[], list]  # a fresh task array per request (new taskUUIDs)
ReplyCheck = Callable[[dict], bool]  # is this reply the one we asked for?


@dataclass
class Batch:
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered request
    wall: float = 0.0
    failures: int = 0  # answered, but not with the expected reply
    server_cpu: float | None = None  # seconds of CPU the server used meanwhile, when measured
    generator_cpu: float | None = None  # seconds of CPU the load generator itself used (wrk, or this process)...
    generator_wall: float = 0.0  # ...in these seconds of its run (its start-up and connecting included)

    def merge(self, other: "Batch") -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.failures += other.failures
        if other.server_cpu is not None:
            self.server_cpu = (self.server_cpu or 0.0) + other.server_cpu
        if other.generator_cpu is not None:
            self.generator_cpu = (self.generator_cpu or 0.0) + other.generator_cpu
            self.generator_wall += other.generator_wall

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        summary = {"requests": len(ordered), "failures": self.failures,
                   "p50_ms": _ms(percentile(ordered, 50)), "p99_ms": _ms(percentile(ordered, 99)),
                   "rps": round(len(ordered) / self.wall, 1) if self.wall else None}
        if self.server_cpu is not None and ordered:
            summary["server_cpu_us_per_request"] = round(self.server_cpu / len(ordered) * 1e6, 1)
        if self.generator_cpu is not None and self.generator_wall:
            # cores the load generator kept busy: near 1.0 it, not the server, sets the req/s
            summary["generator_cpu_share"] = round(self.generator_cpu / self.generator_wall, 3)
        return summary


def percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


async def _closed_loop(clients: int, total: int, time_cap: float, one_client) -> Batch:
    """Run ``clients`` copies of ``one_client(take_ticket, batch)`` until ``total`` requests or the cap."""
    batch = Batch()
    issued = 0
    deadline = time.monotonic() + time_cap

    def take_ticket() -> bool:
        nonlocal issued
        if issued >= total or time.monotonic() >= deadline:
            return False
        issued += 1
        return True

    started = time.perf_counter()
    await asyncio.gather(*(one_client(take_ticket, batch) for _ in range(clients)))
    batch.wall = time.perf_counter() - started
    return batch


async def rest_load(base_url: str, api_key: str, make_body: BodyMaker, check: ReplyCheck, *,
                    clients: int, total: int, time_cap: float) -> Batch:
    """POST /v1 from ``clients`` concurrent clients, one keep-alive connection each."""
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def client(take_ticket, batch: Batch) -> None:
            while take_ticket():
                body = json.dumps(make_body()).encode()
                started = time.perf_counter()
                async with session.post(f"{base_url}/v1", data=body) as response:
                    reply = await response.json(content_type=None)
                batch.latencies.append(time.perf_counter() - started)
                batch.failures += not check(reply)

        return await _closed_loop(clients, total, time_cap, client)


async def ws_load(ws_url: str, api_key: str, make_body: BodyMaker, check: ReplyCheck, *,
                  clients: int, total: int, time_cap: float) -> Batch:
    """One text frame in, one reply frame out, on ``clients`` sockets authenticated beforehand."""
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(ws_url, max_msg_size=0) for _ in range(clients)]
        try:
            for ws in sockets:
                await ws.send_str(json.dumps([{"taskType": "authentication", "apiKey": api_key}]))
                await ws.receive_str(timeout=30)
            pool = list(sockets)

            async def client(take_ticket, batch: Batch) -> None:
                ws = pool.pop()
                while take_ticket():
                    frame = json.dumps(make_body())
                    started = time.perf_counter()
                    await ws.send_str(frame)
                    reply = json.loads(await ws.receive_str(timeout=30))
                    batch.latencies.append(time.perf_counter() - started)
                    batch.failures += not check(reply)

            return await _closed_loop(clients, total, time_cap, client)
        finally:
            for ws in sockets:
                await ws.close()
