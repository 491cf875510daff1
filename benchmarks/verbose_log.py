"""What ``vidmock serve --verbose`` costs a request: the same load against a server with and
without it, in one run.

Off, the log observer is not registered at all (``mockserver/app.py``), so the server without
``--verbose`` is the baseline. Both servers run as ``vidmock serve --port 0`` in their own process,
their stderr going to a file (as a terminal or CI log would take it); batches alternate between
the two (the baseline first in even rounds) so machine noise hits both alike. The figures that
matter are the ratios and the server CPU per request, measured from /proc.

Operations: a REST ``ping`` (the cheapest request, so the log line's share is the largest it gets)
and a REST videoInference submit (cache-hit renders: the common request of a test suite), and a
WebSocket ``getResponse`` poll of a finished task.

Run: ``python benchmarks/verbose_log.py`` (about 30 s on 2 cores; ``--quick`` for a smoke run). Prints JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: `benchmarks` lives in the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.latency import API_KEY, CACHED_SEED, finished_task, is_ack, video_task  # noqa: E402
from benchmarks.loadgen import Batch, rest_load, ws_load  # noqa: E402
from benchmarks.serverproc import command_line, machine, print_run, start_vidmock  # noqa: E402

OPERATIONS = ("rest ping", "rest submit", "ws getResponse")


def is_pong(reply: dict) -> bool:
    return reply.get("data", [{}])[0].get("pong") is True


def is_done(reply: dict) -> bool:
    return reply.get("data", [{}])[0].get("status") == "success"


async def one_batch(server, operation: str, probe: str, total: int, clients: int) -> Batch:
    if operation == "rest ping":
        load, url, body, check = rest_load, server.base_url, lambda: [{"taskType": "ping"}], is_pong
    elif operation == "rest submit":
        load, url, body, check = rest_load, server.base_url, lambda: [video_task(CACHED_SEED)], is_ack
    else:
        load, url, body, check = ws_load, server.ws_url, lambda: [{"taskType": "getResponse", "taskUUID": probe}], is_done
    before = server.cpu_seconds()
    batch = await load(url, API_KEY, body, check, clients=clients, total=total, time_cap=30)
    batch.server_cpu = server.cpu_seconds() - before
    return batch


async def run(args) -> dict:
    servers = {"off": start_vidmock("--seed", "1"), "verbose": start_vidmock("--seed", "1", "--verbose")}
    try:
        probes = {name: await finished_task(server.base_url) for name, server in servers.items()}
        rows = []
        for operation in OPERATIONS:
            batches = {name: Batch() for name in servers}
            for round_number in range(args.rounds):
                order = ("off", "verbose") if round_number % 2 == 0 else ("verbose", "off")
                for name in order:
                    batches[name].merge(await one_batch(servers[name], operation, probes[name], args.requests,
                                                        args.clients))
            off, verbose = batches["off"].summary(), batches["verbose"].summary()
            rows.append({
                "operation": operation, "clients": args.clients, "off": off, "verbose": verbose,
                "p50_ratio_verbose_to_off": round(verbose["p50_ms"] / off["p50_ms"], 3),
                "cpu_ratio_verbose_to_off": round(verbose["server_cpu_us_per_request"]
                                                  / off["server_cpu_us_per_request"], 3),
                "cpu_us_per_request_added": round(verbose["server_cpu_us_per_request"]
                                                  - off["server_cpu_us_per_request"], 1),
            })
        lines = sum("mockserver.verbose_log" in line for line in servers["verbose"].stderr_text().splitlines())
    finally:
        for server in servers.values():
            server.stop()
    return {
        "benchmark": "verbose_log",
        "command": command_line(),
        "machine": machine(),
        "setup": {"servers": "vidmock serve --port 0 --seed 1, with and without --verbose, each its own process, "
                             "stderr to a file",
                  "interleaving": f"{args.rounds} rounds per operation, the server without --verbose first in even "
                                  "rounds",
                  "requests_per_batch": args.requests, "clients": args.clients},
        "results": rows,
        "verbose_lines_written": lines,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1500, help="requests per batch")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 150 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 2, 150
    return args


def main(argv=None) -> None:
    print_run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
