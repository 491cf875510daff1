"""vidmock beside the floor and the mock servers users would pick instead (Prism, WireMock), in one
run under wrk: per workload and client count, a warm-up run per server, then ``--rounds`` measured
runs per server in alternating order. docs/performance.md has the method."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.peer_servers import PEERS, missing, post, product, start_peer
from benchmarks.peers_report import (SHARE_MIN_WALL_S, WRK_SHARE_WARNING, CellRecord, brief, progress,
                                     ratios_to_vidmock, table, targets, warnings)
from benchmarks.serverproc import (ACK, API_KEY, ECHO, SUCCESS, Expected, ServerProcess, code_revision, comma_list,
                                   finished_task, health, machine, main, proc_status, start_floor, start_process,
                                   start_vidmock, tool_version, turns, video_task)
from benchmarks.wrkload import UUID_SLOT, WrkRun, run_wrk, wrk_version

CLIENT_COUNTS = (1, 16)
DEFAULT_SERVERS = ("vidmock", "floor", "prism", "prism-silent", "wiremock")
KNOWN_SERVERS = ("vidmock", "floor", *PEERS)
WORKLOADS = {"getResponse": (SUCCESS, "getResponse of one finished task (status success, one video)"),
             "submit": (ACK, "videoInference 1280x720 2 s, one seed (a cached video), a fresh v4 taskUUID each")}
PER_REQUEST = {"vidmock": "checks the key, validates the task (schema, profile rules), runs, records and journals it",
               "floor": "json.loads the body and echoes it as {\"data\": tasks} (no validation, no key check)"}


def body(workload: str, finished_uuid: str, task_uuid: str = UUID_SLOT) -> str:
    if workload == "getResponse":
        return json.dumps([{"taskType": "getResponse", "taskUUID": finished_uuid}])
    return json.dumps([video_task(taskUUID=task_uuid)])


PROBES = {"valid": {}, "schema_violation": {"width": "wide"},  # a string where the schema wants an integer
          "profile_rule_violation": {"width": 1234}, "no_api_key": {}}  # 1234: not a size of the profile


@dataclass
class Contender:
    """One server under measurement and everything measured of it in one workload."""
    server: ServerProcess
    product: str
    per_request: str
    expected: Expected
    info: dict = field(default_factory=dict)

    def measure(self, text: str, clients: int, requests: int, time_cap: float) -> tuple[WrkRun, float | None]:
        before = self.server.cpu_seconds()
        run = run_wrk(f"{self.server.base_url}/v1", text, token=API_KEY, clients=clients, requests=requests,
                      time_cap=time_cap, expect=self.expected.pattern, refuse=self.expected.refuse)
        after = self.server.cpu_seconds()
        return run, (after - before if before is not None and after is not None else None)

    def describe(self) -> dict:
        """What it is, and the processes whose CPU and memory count as its own (not a wrapper's)."""
        processes = [{"pid": pid, "name": status.get("Name"), "threads": int(status.get("Threads", 0))}
                     for pid in self.server.pids() if (status := proc_status(pid))]
        return {"product": self.product, "per_request": self.per_request, "command": self.server.process.args,
                "processes": processes, **self.info}


def measure_cell(contenders: dict[str, Contender], text: str, clients: int, args) -> dict:
    """A warm-up run per server, then the measured rounds; memory before and after, and the jobs
    vidmock keeps (a submit costs more the more it keeps)."""
    jobs_before = stored_jobs(contenders["vidmock"].server)
    records = {name: CellRecord(rss_before_kib=c.server.rss_kib()) for name, c in contenders.items()}
    for name, contender in contenders.items():
        records[name].warmup, _ = contender.measure(text, clients, args.warmup, args.time_cap)
    for round_number, name in turns(list(contenders), args.rounds):
        run, cpu = contenders[name].measure(text, clients, args.requests, args.time_cap)
        records[name].runs.append(run)
        records[name].cpu_s.append(cpu)
        print(f"  {clients:2} clients round {round_number} {name:20} {progress(run, cpu)}", file=sys.stderr)
    for name, contender in contenders.items():
        records[name].rss_after_kib = contender.server.rss_kib()
    return {"clients": clients, "servers": {name: record.summary() for name, record in records.items()},
            "ratios": ratios_to_vidmock(records),
            "vidmock_jobs": {"before": jobs_before, "after": stored_jobs(contenders["vidmock"].server)}}


def stored_jobs(vidmock: ServerProcess) -> int:
    return sum(asyncio.run(health(vidmock.base_url))["jobs"].values())


def start_contenders(workload: str, finished_uuid: str, vidmock: ServerProcess, workdir: Path, skipped: dict,
                     stack: contextlib.ExitStack, args) -> dict[str, Contender]:
    """vidmock, the others named, and each ``--baseline`` checkout; each peer serves the reply
    vidmock gave for the workload."""
    expected = WORKLOADS[workload][0]
    status, reply = post(vidmock.base_url, body(workload, finished_uuid, video_task()["taskUUID"]), API_KEY)
    if not 200 <= status < 300:
        raise RuntimeError(f"vidmock refused the {workload} request: {status} {reply}")
    contenders = {"vidmock": Contender(vidmock, "vidmock (this checkout)", PER_REQUEST["vidmock"], expected,
                                       {"peer_reply": {"status": status, "body": reply}})}
    for name in args.servers[1:]:
        if name == "floor":
            contenders[name] = Contender(stack.enter_context(start_floor()), "floor (benchmarks/floor_server.py)",
                                         PER_REQUEST["floor"], ECHO)
        elif name not in skipped:
            try:
                server = stack.enter_context(start_peer(PEERS[name], workdir, status, reply))
            except (RuntimeError, OSError) as error:
                skipped[name] = f"did not start: {str(error)[:500]}"
                continue
            contenders[name] = Contender(server, product(PEERS[name]), PEERS[name].per_request, expected,
                                         {"refuses_schema_violations_with": PEERS[name].refuses_with})
    for checkout in args.baseline:
        # vidmock as another checkout has it (its own .venv; -I: its own code, not this folder's), in the
        # same rounds: a before and after under the same load. It holds the same finished task.
        python = checkout / ".venv" / "bin" / "python"
        if not python.exists():
            raise SystemExit(f"--baseline {checkout}: no {python} (a checkout with its own venv, pip install -e .)")
        # -I drops PYTHONPYCACHEPREFIX too: pass it on, or the checkout gains __pycache__ folders
        prefix = ["-X", f"pycache_prefix={sys.pycache_prefix}"] if sys.pycache_prefix else []
        server = stack.enter_context(start_process([str(python), "-I", *prefix, "-m", "mockserver", "serve",
                                                    "--port", "0", "--seed", "1"]))
        asyncio.run(finished_task(server.base_url, finished_uuid))
        revision = code_revision(checkout)
        contenders[f"vidmock@{revision}"] = Contender(server, f"vidmock ({checkout}, {revision})",
                                                      PER_REQUEST["vidmock"], expected)
    return contenders


def probe(contenders: dict[str, Contender]) -> None:
    """Four requests per server, outside the measurement; a peer validates if it accepts the valid
    task and refuses the schema violation with its documented status."""
    for contender in contenders.values():
        answers = {label: post(contender.server.base_url, json.dumps([video_task(**fields)]),
                               None if label == "no_api_key" else API_KEY) for label, fields in PROBES.items()}
        contender.info["probes"] = {label: {"status": status, "body": text[:200]}
                                    for label, (status, text) in answers.items()}
        refusal = contender.info.get("refuses_schema_violations_with")
        if refusal is not None:
            contender.info["validates"] = (200 <= answers["valid"][0] < 300
                                           and answers["schema_violation"][0] == refusal)


def measure_workload(workload: str, workdir: Path, skipped: dict, args) -> dict:
    print(f"{workload}:", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        vidmock = stack.enter_context(start_vidmock("--seed", "1"))
        finished_uuid = asyncio.run(finished_task(vidmock.base_url))
        contenders = start_contenders(workload, finished_uuid, vidmock, workdir, skipped, stack, args)
        probe(contenders)
        text = body(workload, finished_uuid)
        for contender in contenders.values():  # JIT compilers (WireMock's above all) and caches settle first
            contender.info |= {"startup_s": round(contender.server.startup_s or 0, 2),
                               "rss_idle_kib": contender.server.rss_kib()}
            run, _ = contender.measure(text, max(args.clients), args.warmup_start, args.time_cap)
            contender.info["warmup_start"] = {"clients": max(args.clients), **brief(run)}
        cells = [measure_cell(contenders, text, clients, args) for clients in args.clients]
        servers = {name: contender.describe() for name, contender in contenders.items()}
        servers["vidmock"]["jobs_stored_at_end"] = stored_jobs(vidmock)
    return {"describe": WORKLOADS[workload][1], "body": text, "servers": servers, "cells": cells}


def run(args) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks.peers needs wrk (apt-get install wrk, or bash benchmarks/install_peers.sh)")
    load_before = os.getloadavg()
    skipped = {name: reason for name in args.servers if name in PEERS and (reason := missing(PEERS[name]))}
    with tempfile.TemporaryDirectory(prefix="vidmock-peers-") as workdir:
        workloads = {name: measure_workload(name, Path(workdir) / name, skipped, args)
                     for name in WORKLOADS if name in args.workloads}
    shares = [row["wrk_cpu_share_max"] for row in table(workloads) if row["wrk_cpu_share_max"] is not None]
    return {
        "revision": code_revision(),
        "machine": machine() | {"wrk": wrk_version(), "node": tool_version(["node", "--version"]),
                                "java": tool_version(["java", "-version"]),
                                "loadavg_before": [round(x, 2) for x in load_before],
                                "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "setup": {
            "load": "wrk -t1 -c<clients>, closed loop (benchmarks/wrk_closed_loop.lua), a fresh taskUUID per submit",
            "percentiles": "of real answers: wrk's coordinated-omission samples are removed (wrkload.py)",
            "order": f"per workload: every server started, probed, warmed up ({args.warmup_start} requests at "
                     f"{max(args.clients)} clients); per client count: a warm-up run of {args.warmup} per server, "
                     f"then {args.rounds} rounds of {args.requests}, one server at a time, reversed in odd rounds",
            "server_cpu": "every thread of every process of the server, /proc/<pid>/task/*/schedstat, per run",
            "peer_contract": "the task-array schema from schemas/ and a bearer key; the profile's rules cannot be "
                             "given to them",
            "time_cap_per_run_s": args.time_cap,
            "wrk_cpu_share": f"wrk's CPU / wall time in runs of {SHARE_MIN_WALL_S} s or more, warned above "
                             f"{WRK_SHARE_WARNING}",
        },
        "skipped": skipped, "workloads": workloads, "table": table(workloads), "targets": targets(workloads),
        "wrk_cpu_share_max": max(shares) if shares else None, "warnings": warnings(workloads),
    }


def _names(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    if unknown := sorted(set(names) - set(KNOWN_SERVERS)):
        raise argparse.ArgumentTypeError(f"unknown servers {unknown}; known: {', '.join(KNOWN_SERVERS)}")
    return ["vidmock", *(name for name in names if name != "vidmock")]


if __name__ == "__main__":
    main(
        __doc__, run, quick={"requests": 100, "warmup_start": 50, "warmup": 50, "time_cap": 10.0},
        servers={"type": _names, "default": list(DEFAULT_SERVERS),
                 "help": f"comma-separated, vidmock always included (known: {','.join(KNOWN_SERVERS)})"},
        workloads={"type": comma_list(), "default": list(WORKLOADS)},
        clients={"type": comma_list(int), "default": list(CLIENT_COUNTS)},
        rounds=(2, "measured runs per server and cell (order alternating)"),
        requests=(4000, "requests per measured run"),
        warmup_start=(10000, "unmeasured requests per server and workload at the most clients, first"),
        warmup=(2000, "unmeasured requests per server and cell"), time_cap=(20.0, "seconds a wrk run may last"),
        baseline={"type": lambda text: Path(text).resolve(), "action": "append", "default": [],
                  "help": "also measure vidmock from this checkout (its .venv), as vidmock@<its commit>; repeatable"})
