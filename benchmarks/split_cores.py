"""Would a second core pay? vidmock's submit modelled on one process and split across processes,
measured side by side before anyone builds the split.

vidmock's state (jobs, faults armed per key, WebSocket sessions, the journal) must stay one
consistent whole, so only the stateless part of a request could move to other cores: HTTP, JSON,
validation, defaults. ``split_server.py`` does that part in front processes and hands the tasks
to one owner process over a Unix socket, with vidmock's own work stood in for by CPU spent on
purpose. The default work per request is vidmock's own per cached submit, from
``python -m benchmarks.submit_stages`` (docs/performance.md):

- stateless, 75 µs: request context 10.6, reading the body 13.2, validation 22.0, defaults ~15,
  the reply's envelope and JSON 13.9;
- stateful, 105 µs: the rest of the handler: the job, its media, the getTaskDetails record, the
  hooks, the journal.

Each level of work is measured with ``--fronts 0`` (one process, what vidmock is today) and with
1 and 2 fronts, under wrk as in ``peers.py`` (the same Lua script, rounds alternated, server CPU
over the whole process tree). Work ``0/0`` is the floor: what the crossing alone costs. vidmock
itself serves the same submits in the same rounds, so the model's one process can be held
against the real thing.

Run: ``python -m benchmarks.split_cores`` (~2 min; needs wrk). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys

from benchmarks.latency import ACK, CACHED_SEED, ECHO, finished_task, video_task
from benchmarks.peers import Contender, measure_rounds
from benchmarks.peers_report import CellRecord, ratio
from benchmarks.serverproc import (BENCHMARKS, code_revision, command_line, machine, print_result, start_process,
                                   start_vidmock)
from benchmarks.wrkload import UUID_SLOT, wrk_path, wrk_version

DEFAULT_WORK = ((0.0, 0.0), (75.0, 105.0))  # (stateless, stateful) µs per request
DEFAULT_FRONTS = (0, 1, 2)


def layout(fronts: int) -> str:
    return "one process" if fronts == 0 else f"{fronts} front{'s' if fronts > 1 else ''} + owner"


def start(fronts: int, stateless_us: float, stateful_us: float) -> Contender:
    server = start_process([sys.executable, str(BENCHMARKS / "split_server.py"), "--fronts", str(fronts),
                            "--stateless-us", str(stateless_us), "--stateful-us", str(stateful_us)])
    return Contender(layout(fronts), server, "split_server.py", layout(fronts), ECHO)


def start_vidmock_warm() -> Contender:
    """vidmock as ``peers.py`` starts it, its cached video rendered before the first submit."""
    server = start_vidmock("--seed", "1")
    asyncio.run(finished_task(server.base_url))
    return Contender("vidmock", server, "vidmock", "a cached submit, as in peers.py", ACK)


def measure_work(stateless_us: float, stateful_us: float, args) -> dict:
    print(f"work {stateless_us:g}/{stateful_us:g} us:", file=sys.stderr)
    body = json.dumps([{**video_task(CACHED_SEED), "taskUUID": UUID_SLOT}])
    with contextlib.ExitStack() as stack:
        contenders = {}
        if args.vidmock:
            contenders["vidmock"] = start_vidmock_warm()
            stack.callback(contenders["vidmock"].server.stop)
        for fronts in args.fronts:
            contender = start(fronts, stateless_us, stateful_us)
            stack.callback(contender.server.stop)
            contenders[contender.name] = contender
        cells = [cell(clients, measure_rounds(contenders, body, clients, args)) for clients in args.clients]
        processes = {name: len(c.server.pids()) for name, c in contenders.items()}
    return {"stateless_us": stateless_us, "stateful_us": stateful_us, "processes": processes, "cells": cells}


def cell(clients: int, records: dict[str, CellRecord]) -> dict:
    """Every layout's figures, and each over the one process: vidmock (is the model vidmock?) and
    the split layouts (req/s above 1: the split serves more; CPU above 1: it costs more)."""
    alone = layout(0)
    ratios = {f"{name}/{alone}": ratio(records, name, alone) for name in records if name != alone} \
        if alone in records else {}
    return {"clients": clients, "servers": {name: record.summary() for name, record in records.items()},
            "ratios": ratios}


def run(args) -> dict:
    if wrk_path() is None:
        raise SystemExit("split_cores.py needs wrk (Debian: apt-get install wrk)")
    load_before = os.getloadavg()
    levels = [measure_work(stateless, stateful, args) for stateless, stateful in args.work]
    return {
        "benchmark": "split_cores",
        "command": command_line(),
        "revision": code_revision(),
        "machine": machine() | {"wrk": wrk_version(),
                                "loadavg_before": [round(x, 2) for x in load_before],
                                "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "setup": {
            "model": "benchmarks/split_server.py: one process (fronts 0) or K aiohttp front processes on one "
                     "port (SO_REUSEPORT) handing each request's tasks (pickled) to one owner process over a Unix "
                     "socket; stateless_us of CPU spent per request where the body is parsed, stateful_us where "
                     "the state would be",
            "load": "wrk -t1 -c<clients> with benchmarks/wrk_closed_loop.lua, a submit body with a fresh "
                    "taskUUID per request, each run ending at its request count or time cap",
            "order": f"per level of work: every layout started; per client count, a warm-up run of "
                     f"{args.warmup} requests per layout, then {args.rounds} rounds of {args.requests} requests "
                     "per layout, the order reversed in odd rounds",
            "server_cpu": "CPU time of every thread of the started process and its descendants (the fronts)",
        },
        "work": levels,
    }


def parse_args(argv=None):
    def pairs(text: str) -> list[tuple[float, float]]:
        return [tuple(float(part) for part in level.split("/")) for level in text.split(",")]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pairs, default=list(DEFAULT_WORK),
                        help="levels of work per request, STATELESS/STATEFUL µs, comma-separated (default 0/0,75/105)")
    parser.add_argument("--fronts", type=lambda s: [int(n) for n in s.split(",")], default=list(DEFAULT_FRONTS),
                        help="layouts: front processes, 0 for one process (default 0,1,2)")
    parser.add_argument("--clients", type=lambda s: [int(n) for n in s.split(",")], default=[1, 16])
    parser.add_argument("--no-vidmock", dest="vidmock", action="store_false",
                        help="leave vidmock itself out (it is measured beside the model by default)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=4000, help="requests per measured run")
    parser.add_argument("--warmup", type=int, default=4000, help="unmeasured requests per layout and level of work")
    parser.add_argument("--time-cap", type=float, default=20.0, help="seconds a wrk run may last at most")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 100 requests, 100 warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.warmup, args.time_cap = 100, 100, 10.0
    return args


def main(argv=None) -> None:
    print_result(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    main()
