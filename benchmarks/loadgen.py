"""A closed-loop load generator in this process: N clients, each sending its next request when the
last is answered, over REST (a keep-alive connection each) or WebSocket (an authenticated socket
each, set-up not timed), bounded by a request count and a time cap."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from benchmarks.serverproc import API_KEY, Expected, ServerProcess, percentile, turns


@dataclass
class Batch:
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered request
    wall: float = 0.0
    failures: int = 0  # answered, but not with the expected reply
    server_cpu: float | None = None  # seconds of CPU the server used meanwhile, when measured
    generator_cpu: float | None = None  # seconds of CPU this process (the load generator) used...
    generator_wall: float = 0.0  # ...in these seconds

    def summary(self) -> dict:
        counts, answered = Counter(self.latencies), len(self.latencies)
        summary = {"requests": answered, "failures": self.failures,
                   "p50_ms": _ms(percentile(counts, 50)), "p99_ms": _ms(percentile(counts, 99)),
                   "rps": round(answered / self.wall, 1) if self.wall else None}
        if self.server_cpu is not None and answered:
            summary["server_cpu_us_per_request"] = round(self.server_cpu / answered * 1e6, 1)
        if self.generator_cpu is not None and self.generator_wall:
            # cores the load generator kept busy: near 1.0 it, not the server, sets the req/s
            summary["generator_cpu_share"] = round(self.generator_cpu / self.generator_wall, 3)
        return summary


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


async def closed_loop(clients: int, total: int, time_cap: float, one_client, batch: Batch | None = None) -> Batch:
    """``clients`` copies of ``one_client(take_ticket, batch)`` until ``total`` requests or the cap,
    added to ``batch`` (a new one by default)."""
    batch, issued, deadline = batch or Batch(), 0, time.monotonic() + time_cap

    def take_ticket() -> bool:
        nonlocal issued
        if issued >= total or time.monotonic() >= deadline:
            return False
        issued += 1
        return True

    started = time.perf_counter()
    await asyncio.gather(*(one_client(take_ticket, batch) for _ in range(clients)))
    batch.wall += time.perf_counter() - started
    return batch


async def load(server: ServerProcess, transport: str, make_body: Callable[[], list], expected: Expected, *,
               clients: int, total: int, time_cap: float, batch: Batch | None = None) -> Batch:
    """``total`` requests (fresh bodies from ``make_body``) from ``clients`` clients, REST or "ws"."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        if transport == "rest":
            headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

            async def ask(_client, body: str) -> dict:
                async with session.post(f"{server.base_url}/v1", data=body.encode(), headers=headers) as response:
                    return await response.json(content_type=None)
            pool = [None] * clients
        else:
            pool = [await session.ws_connect(server.ws_url, max_msg_size=0) for _ in range(clients)]
            for ws in pool:
                await ws.send_str(json.dumps([{"taskType": "authentication", "apiKey": API_KEY}]))
                await ws.receive_str(timeout=30)

            async def ask(ws, body: str) -> dict:
                await ws.send_str(body)
                return json.loads(await ws.receive_str(timeout=30))
        sockets = [ws for ws in pool if ws is not None]
        try:
            async def client(take_ticket, batch: Batch) -> None:
                connection = pool.pop()
                while take_ticket():
                    body = json.dumps(make_body())
                    started = time.perf_counter()
                    reply = await ask(connection, body)
                    batch.latencies.append(time.perf_counter() - started)
                    batch.failures += not expected.check(reply)

            return await closed_loop(clients, total, time_cap, client, batch)
        finally:
            for ws in sockets:
                await ws.close()


async def alternate(servers: dict[str, ServerProcess], rounds: int,
                    one_batch: Callable[[str, ServerProcess, Batch], Awaitable[Batch]]) -> dict[str, Batch]:
    """``rounds`` runs per server (``turns``) into one batch each; the server's and this process's
    CPU measured around each run."""
    batches = {name: Batch() for name in servers}
    for _round, name in turns(list(servers), rounds):
        server, batch = servers[name], batches[name]
        cpu_before, own_before, started = server.cpu_seconds(), time.process_time(), time.monotonic()
        await one_batch(name, server, batch)
        batch.generator_cpu = (batch.generator_cpu or 0.0) + time.process_time() - own_before
        batch.generator_wall += time.monotonic() - started
        cpu_after = server.cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            batch.server_cpu = (batch.server_cpu or 0.0) + cpu_after - cpu_before
    return batches
