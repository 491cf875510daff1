"""Nothing lost: N tasks from C concurrent clients, every one acknowledged, completed and its
webhooks delivered exactly once per result (counted by this process's receivers), with the server's
peak memory bounded; exits 1 otherwise. A few (size, seed, numberResults) combinations, so the run
measures the server's bookkeeping, not ffmpeg. ``tests/server/test_soak_small.py`` runs ``soak()``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from benchmarks.serverproc import API_KEY, health, main, start_vidmock, submit_and_poll, video_task

SIZES = ((1280, 720), (960, 960))
SEEDS = (11, 12, 13)
NUMBER_RESULTS = (1, 1, 1, 2)  # every fourth task asks for two videos (two webhooks)
POLL_INTERVAL = 0.02  # seconds between getResponse polls of one task
RECEIVERS = 4
PEAK_RSS_BOUND_MIB = 512  # the stated bound for 10,000 tasks (jobs and records are kept for their ttl)


def task_plan(index: int) -> dict:
    """Task number ``index``: one of len(SIZES) x len(SEEDS) x 2 renders the cache can hold."""
    width, height = SIZES[index % len(SIZES)]
    return {"width": width, "height": height, "seed": SEEDS[index % len(SEEDS)],
            "numberResults": NUMBER_RESULTS[index % len(NUMBER_RESULTS)]}


def distinct_videos(tasks: int) -> int:
    """How many different videos ``tasks`` tasks ask for: all the synthesizer ever renders."""
    plans = (task_plan(index) for index in range(tasks))
    return len({(p["width"], p["height"], p["seed"] + n) for p in plans for n in range(p["numberResults"])})


@dataclass
class Tally:
    """What the clients and receivers saw."""

    submitted: int = 0
    acknowledged: int = 0
    completed: int = 0
    unexpected_replies: list = field(default_factory=list)  # first few, for the report
    expected_results: set = field(default_factory=set)  # (taskUUID, videoUUID) from getResponse
    webhooks: Counter = field(default_factory=Counter)  # (taskUUID, videoUUID) -> POSTs received
    malformed_webhooks: int = 0

    def note_unexpected(self, what: str, reply) -> None:
        if len(self.unexpected_replies) < 5:
            self.unexpected_replies.append({"what": what, "reply": reply})


async def start_receivers(tally: Tally, count: int) -> tuple[web.AppRunner, list[str]]:
    """``count`` webhook receivers on 127.0.0.1: count every POST by (taskUUID, videoUUID), answer 200."""

    async def receive(request: web.Request) -> web.Response:
        try:
            item = (await request.json())["data"][0]
            tally.webhooks[(item["taskUUID"], item["videoUUID"])] += 1
        except (ValueError, KeyError, IndexError, TypeError):
            tally.malformed_webhooks += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for _ in range(count):
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, [f"http://127.0.0.1:{port}/hook" for _host, port in runner.addresses]


async def run_clients(base_url: str, hook_urls: list[str], tally: Tally, tasks: int, clients: int,
                      deadline: float) -> None:
    """``clients`` closed-loop clients share ``tasks`` tickets; each: submit, then poll to success."""
    tickets = iter(range(tasks))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients), headers=headers) as session:

        async def one_task(index: int) -> None:
            task = video_task(webhookURL=hook_urls[index % len(hook_urls)], **task_plan(index))
            tally.submitted += 1
            ack, reply = await submit_and_poll(session, base_url, task, interval=POLL_INTERVAL, deadline=deadline)
            if ack.get("data") != [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]:
                tally.note_unexpected("ack", ack)
                return
            tally.acknowledged += 1
            items = (reply or {}).get("data") or []
            if {item.get("status") for item in items} == {"success"} and len(items) == task["numberResults"]:
                tally.completed += 1
                tally.expected_results.update((task["taskUUID"], item["videoUUID"]) for item in items)
            elif reply is not None:
                tally.note_unexpected("getResponse", reply)

        async def client() -> None:
            for index in tickets:
                if time.monotonic() < deadline:
                    await one_task(index)

        await asyncio.gather(*(client() for _ in range(clients)))


async def wait_for_webhooks(tally: Tally, deadline: float, settle: float) -> None:
    """Until every expected result was delivered (or the deadline), then ``settle`` s more so that
    a late duplicate would still be counted."""
    while time.monotonic() < deadline and not tally.expected_results <= set(tally.webhooks):
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)


def verdict(tally: Tally, tasks: int) -> dict:
    delivered = set(tally.webhooks)
    return {
        "all_acknowledged": tally.acknowledged == tasks,
        "all_completed": tally.completed == tasks,
        "missing_webhooks": len(tally.expected_results - delivered),
        "duplicate_webhooks": sum(count - 1 for count in tally.webhooks.values() if count > 1),
        "unexpected_webhooks": len(delivered - tally.expected_results),
        "malformed_webhooks": tally.malformed_webhooks,
    }


async def soak(tasks: int, clients: int, time_limit: float) -> dict:
    """The whole scenario against a fresh ``vidmock serve``; the report."""
    tally = Tally()
    receivers, hook_urls = await start_receivers(tally, RECEIVERS)
    started = time.monotonic()
    deadline = started + time_limit
    try:
        with start_vidmock("--seed", "7") as server:
            await run_clients(server.base_url, hook_urls, tally, tasks, clients, deadline)
            load_seconds = time.monotonic() - started
            await wait_for_webhooks(tally, deadline, settle=1.0)
            counters = await health(server.base_url)
            peak_rss_kib = server.status_kib("VmHWM")
    finally:
        await receivers.cleanup()
    check = verdict(tally, tasks)
    results = len(tally.expected_results)
    return {
        "tasks": tasks, "clients": clients, "submitted": tally.submitted, "acknowledged": tally.acknowledged,
        "completed": tally.completed, "results": results, "webhooks_received": sum(tally.webhooks.values()),
        "check": check, "nothing_lost": check["all_acknowledged"] and check["all_completed"] and not any(
            count for key, count in check.items() if key.endswith("_webhooks")),
        "load_seconds": round(load_seconds, 1), "tasks_per_second": round(tally.completed / load_seconds, 1),
        "peak_rss_mib": round(peak_rss_kib / 1024, 1) if peak_rss_kib else None,
        "unexpected_replies": tally.unexpected_replies,
        "server_health": {key: value for key, value in counters.items() if key not in ("status", "synthesizer")},
        "synthesizer": {key: counters.get("synthesizer", {}).get(key) for key in ("hits", "misses", "coalesced", "renders")},
        "distinct_videos": distinct_videos(tasks),
    }


async def run(args) -> dict:
    report = await soak(args.tasks, args.clients, args.time_limit)
    peak = report["peak_rss_mib"]
    return {"setup": f"vidmock serve --port 0 --seed 7 (own process, progression immediate); {args.clients} "
                     f"closed-loop REST clients; {RECEIVERS} webhook receivers on 127.0.0.1; tasks cycle "
                     f"through {len(SIZES)} sizes x {len(SEEDS)} seeds x numberResults 1|2 at 2 s",
            **report, "peak_rss_bound_mib": args.rss_bound_mib,
            "peak_rss_within_bound": peak is not None and peak <= args.rss_bound_mib}


if __name__ == "__main__":
    report = main(__doc__, run, quick={"tasks": 300, "clients": 16}, tasks=(10_000, "tasks in all"),
                  clients=(64, "concurrent clients"), time_limit=(900.0, "seconds for the whole run, at most"),
                  rss_bound_mib=(float(PEAK_RSS_BOUND_MIB), "peak RSS allowed"))
    raise SystemExit(0 if report["nothing_lost"] and report["peak_rss_within_bound"] else 1)
