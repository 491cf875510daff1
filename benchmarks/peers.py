"""vidmock beside the floor and the mock servers users would pick instead, in one run, under wrk.

Servers, each its own process on 127.0.0.1: vidmock (``vidmock serve --port 0 --seed 1``, journal
on as always), the floor (``benchmarks/floor_server.py``: parse and echo), Prism and WireMock (see
``peer_servers.py``; each validates the task-array schema generated from ``schemas/``, neither can
check the model profile's cross-field rules). Before measuring, each server gets four probe
requests; a peer that does not refuse a schema-invalid body is reported as not validating.

Load: ``wrk -t1`` (``wrkload.py``): closed loop, one keep-alive connection per client, a fresh v4
taskUUID per submit for every server, ``Authorization: Bearer`` on every request, each run bounded
by a request count and a time cap. Percentiles are of real answers (wrk's coordinated-omission
samples removed). Per workload and client count: a warm-up run per server (unmeasured), then
``--rounds`` measured runs per server, the servers in turn, the order reversed every other round.
Server CPU is that of every thread of every process of the server, read from /proc around each run.

Workloads: ``getResponse`` of one finished task; ``submit`` of a valid videoInference (1280x720,
2 s, seed 4242: vidmock serves its cached video, settled inside the submit), a fresh taskUUID each.
Peers answer every accepted request with the reply vidmock gave for the same request.
``bash benchmarks/install_peers.sh`` installs Prism, WireMock and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.peer_servers import PEERS, Peer, missing, post, product, start_peer
from benchmarks.peers_report import (SHARE_MIN_WALL_S, WRK_SHARE_WARNING, CellRecord, brief, progress,
                                     ratios_to_vidmock, table, targets, warnings)
from benchmarks.serverproc import (ACK, API_KEY, CACHED_SEED, ECHO, MODEL, SUCCESS, Expected, ServerProcess,
                                   arguments, code_revision, comma_list, finished_task, health, machine, print_report,
                                   start_floor, start_process, start_vidmock, video_task)
from benchmarks.wrkload import UUID_SLOT, WrkRun, run_wrk, wrk_path, wrk_version

CLIENT_COUNTS = (1, 16)
DEFAULT_SERVERS = ("vidmock", "floor", "prism", "prism-silent", "wiremock")
KNOWN_SERVERS = ("vidmock", "floor", *PEERS)


@dataclass(frozen=True)
class Workload:
    name: str
    expected: Expected  # vidmock's 2xx reply (the peers serve the same reply)
    describe: str

    def body(self, finished_uuid: str, task_uuid: str = UUID_SLOT) -> str:
        if self.name == "getResponse":
            return json.dumps([{"taskType": "getResponse", "taskUUID": finished_uuid}])
        return json.dumps([video_task(taskUUID=task_uuid)])


WORKLOADS = (
    Workload("getResponse", SUCCESS,
             "getResponse of one finished task (status success, one video)"),
    Workload("submit", ACK,
             f"videoInference {MODEL} 1280x720 2 s seed {CACHED_SEED}, a fresh v4 taskUUID per request: vidmock "
             "validates (schema and profile rules), creates and settles a job with its cached video, journals"),
)

PER_REQUEST = {
    "vidmock": "authenticates the bearer key, validates the task (schema, then the model profile's cross-field "
               "rules), runs it (getResponse: looks the job up; submit: fills defaults, creates the job, publishes "
               "its cached video and settles it), records the task and its reply for getTaskDetails, journals request "
               "and reply, serializes the reply",
    "floor": "json.loads the body and echoes it as {\"data\": tasks} (aiohttp, no validation, no key check)",
}


def probe_bodies() -> dict[str, tuple[str, bool]]:
    """The requests every server gets before the measurement: (body, send the bearer key)."""
    def task(**fields) -> str:
        return json.dumps([video_task(**fields)])
    return {
        "valid": (task(), True),
        "schema_violation": (task(width="wide"), True),  # a string where the schema wants an integer
        "profile_rule_violation": (task(width=1234), True),  # schema-valid, not an allowed size of the profile
        "no_api_key": (task(), False),
    }


@dataclass
class Contender:
    """One server under measurement and everything measured of it in one workload."""
    name: str
    server: ServerProcess
    product: str
    per_request: str
    expected: Expected
    info: dict = field(default_factory=dict)

    def measure(self, body: str, clients: int, requests: int, time_cap: float) -> tuple[WrkRun, float | None]:
        before = self.server.cpu_seconds()
        run = run_wrk(f"{self.server.base_url}/v1", body, token=API_KEY, clients=clients, requests=requests,
                      time_cap=time_cap, expect=self.expected.pattern, refuse=self.expected.refuse)
        after = self.server.cpu_seconds()
        return run, (after - before if before is not None and after is not None else None)

    def processes(self) -> list[dict]:
        """The processes whose CPU and memory count as this server's (the real server, not a wrapper)."""
        found = []
        for pid in self.server.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(re.findall(r"^(Name|Threads):\s+(\S+)", status, re.MULTILINE))
            found.append({"pid": pid, "name": fields.get("Name"), "threads": int(fields.get("Threads", 0))})
        return found


def measure_rounds(contenders: dict[str, Contender], body: str, clients: int, args) -> dict[str, CellRecord]:
    """One cell: a warm-up run per server, then ``args.rounds`` rounds of ``args.requests``, the
    servers one at a time, the order reversed in odd rounds; memory before and after."""
    names = list(contenders)
    records = {name: CellRecord(rss_before_kib=contenders[name].server.rss_kib()) for name in names}
    for name in names:
        records[name].warmup, _ = contenders[name].measure(body, clients, args.warmup, args.time_cap)
    for round_number in range(args.rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            run, cpu = contenders[name].measure(body, clients, args.requests, args.time_cap)
            records[name].runs.append(run)
            records[name].cpu_s.append(cpu)
            print(f"  {clients:2} clients round {round_number} {name:20} {progress(run, cpu)}", file=sys.stderr)
    for name in names:
        records[name].rss_after_kib = contenders[name].server.rss_kib()
    return records


def measure_cell(contenders: dict[str, Contender], body: str, clients: int, args) -> dict:
    jobs_before = stored_jobs(contenders["vidmock"].server)
    records = measure_rounds(contenders, body, clients, args)
    # vidmock keeps every job for its ttl, and a submit costs more the more it keeps
    return {"clients": clients, "servers": {name: record.summary() for name, record in records.items()},
            "ratios": ratios_to_vidmock(records),
            "vidmock_jobs": {"before": jobs_before, "after": stored_jobs(contenders["vidmock"].server)}}


def stored_jobs(vidmock: ServerProcess) -> int:
    return sum(asyncio.run(health(vidmock.base_url))["jobs"].values())


def start_contenders(names: list[str], workload: Workload, finished_uuid: str, vidmock: ServerProcess,
                     workdir: Path, skipped: dict, stack: contextlib.ExitStack) -> dict[str, Contender]:
    """vidmock first, then the others; each peer serves the reply vidmock gave for the workload."""
    reply = post(vidmock.base_url, workload.body(finished_uuid, task_uuid=video_task()["taskUUID"]),
                 API_KEY)
    if not 200 <= reply.status < 300:
        raise RuntimeError(f"vidmock refused the {workload.name} request: {reply.status} {reply.body}")
    contenders = {"vidmock": Contender("vidmock", vidmock, "vidmock (this checkout)", PER_REQUEST["vidmock"],
                                       workload.expected)}
    for name in names:
        if name == "floor":
            server = stack.enter_context(_stopping(start_floor()))
            contenders[name] = Contender(name, server, "floor (benchmarks/floor_server.py)", PER_REQUEST["floor"],
                                         ECHO)
        elif name in PEERS:
            peer: Peer = PEERS[name]
            try:
                server = stack.enter_context(_stopping(start_peer(peer, workdir, reply.status, reply.body)))
            except (RuntimeError, OSError) as error:
                skipped[name] = f"did not start: {str(error)[:500]}"
                continue
            contenders[name] = Contender(name, server, product(peer), peer.per_request, workload.expected,
                                         {"refuses_schema_violations_with": peer.refuses_with})
    contenders["vidmock"].info["peer_reply"] = {"status": reply.status, "body": reply.body}
    return contenders


def start_baseline(checkout: Path, workload: Workload, finished_uuid: str,
                   stack: contextlib.ExitStack) -> Contender:
    """vidmock as another checkout has it (its own ``.venv``), measured in the same rounds: the
    before and after of a change, under the same load at the same moment. ``-I``: its own code,
    not this folder's; only ``serve --port 0 --seed 1``, which every version understands. It holds
    the same finished task, so both answer the same requests."""
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"--baseline {checkout}: no {python} (a checkout with its own venv, pip install -e .)")
    server = stack.enter_context(_stopping(start_process(
        [str(python), "-I", "-m", "mockserver", "serve", "--port", "0", "--seed", "1"])))
    asyncio.run(finished_task(server.base_url, finished_uuid))
    revision = code_revision(checkout)
    return Contender(f"vidmock@{revision}", server, f"vidmock ({checkout}, {revision})", PER_REQUEST["vidmock"],
                     workload.expected)


@contextlib.contextmanager
def _stopping(server: ServerProcess):
    try:
        yield server
    finally:
        server.stop()


def probe(contenders: dict[str, Contender]) -> None:
    """Four requests per server, outside the measurement; a peer validates if it accepts the valid
    task and refuses the schema violation with its documented status."""
    for contender in contenders.values():
        answers = {label: post(contender.server.base_url, body, API_KEY if keyed else None)
                   for label, (body, keyed) in probe_bodies().items()}
        contender.info["probes"] = {label: answer.brief() for label, answer in answers.items()}
        refusal = contender.info.get("refuses_schema_violations_with")
        if refusal is not None:
            contender.info["validates"] = (200 <= answers["valid"].status < 300
                                           and answers["schema_violation"].status == refusal)


def measure_workload(workload: Workload, names: list[str], workdir: Path, skipped: dict, args) -> dict:
    print(f"{workload.name}:", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        vidmock = stack.enter_context(_stopping(start_vidmock("--seed", "1")))
        finished_uuid = asyncio.run(finished_task(vidmock.base_url))
        contenders = start_contenders(names, workload, finished_uuid, vidmock, workdir, skipped, stack)
        for checkout in args.baseline:
            baseline = start_baseline(checkout, workload, finished_uuid, stack)
            contenders[baseline.name] = baseline
        probe(contenders)
        for contender in contenders.values():
            contender.info |= {"startup_s": round(contender.server.startup_s or 0, 2),
                               "rss_idle_kib": contender.server.rss_kib()}
        body = workload.body(finished_uuid)
        for contender in contenders.values():  # JIT compilers (WireMock's above all) and caches settle first
            run, _ = contender.measure(body, max(args.clients), args.warmup_start, args.time_cap)
            contender.info["warmup_start"] = {"clients": max(args.clients), **brief(run)}
        cells = [measure_cell(contenders, body, clients, args) for clients in args.clients]
        jobs = stored_jobs(vidmock)
        servers = {name: {"product": c.product, "per_request": c.per_request, "command": c.server.process.args,
                          "processes": c.processes(), **c.info} for name, c in contenders.items()}
    servers["vidmock"]["jobs_stored_at_end"] = jobs
    return {"describe": workload.describe, "body": body, "servers": servers, "cells": cells}


def tool_versions() -> dict:
    def first_line(argv: list[str]) -> str | None:
        if shutil.which(argv[0]) is None:
            return None
        completed = subprocess.run(argv, capture_output=True, text=True)
        return ((completed.stdout or completed.stderr).strip().splitlines() or [None])[0]
    return {"wrk": wrk_version(), "node": first_line(["node", "--version"]), "java": first_line(["java", "-version"])}


def run(args) -> dict:
    if wrk_path() is None:
        raise SystemExit("peers.py needs wrk (Debian: apt-get install wrk; or bash benchmarks/install_peers.sh)")
    load_before = os.getloadavg()
    skipped = {name: reason for name in args.servers if name in PEERS and (reason := missing(PEERS[name]))}
    names = [name for name in args.servers if name != "vidmock" and name not in skipped]
    with tempfile.TemporaryDirectory(prefix="vidmock-peers-") as workdir:
        workloads = {workload.name: measure_workload(workload, names, Path(workdir) / workload.name, skipped, args)
                     for workload in WORKLOADS if workload.name in args.workloads}
    shares = [row["wrk_cpu_share_max"] for row in table(workloads) if row["wrk_cpu_share_max"] is not None]
    return {
        "revision": code_revision(),
        "machine": machine() | tool_versions() | {"loadavg_before": [round(x, 2) for x in load_before],
                                                  "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "setup": {
            "load": "wrk -t1 -c<clients> with benchmarks/wrk_closed_loop.lua: closed loop, one keep-alive "
                    "connection per client, a fresh v4 taskUUID per submit for every server, Authorization: "
                    "Bearer on every request; each run ends at its request count or its time cap",
            "percentiles": "of real answers only: wrk's coordinated-omission samples are removed from its "
                           "1-us histogram (benchmarks/wrkload.py, remove_synthetic_samples)",
            "rps": "answers / (first request to last answer), summed over the measured runs",
            "order": f"per workload: every server started, probed, then warmed up with {args.warmup_start} "
                     f"requests at {max(args.clients)} clients; per client count: one warm-up run of {args.warmup} "
                     f"requests per server, then {args.rounds} rounds of {args.requests} requests per server, the "
                     "servers one at a time, the order reversed in odd rounds. Nothing of a warm-up is measured; "
                     "every server stays up through the workload",
            "server_cpu": "CPU time of every thread of every process of the server (the started process and "
                          "its descendants), /proc/<pid>/task/*/schedstat, read before and after each run",
            "rss": "VmRSS summed over the server's processes, before the cell's warm-up and after its last run",
            "peer_contract": "Prism gets an OpenAPI 3.1 document, WireMock a stub with matchesJsonSchema (draft 7), "
                             "both generated at run time from schemas/ (benchmarks/peer_contracts.py): the task-array "
                             "schema, definitions inlined, a bearer key required. The model profile's rules (allowed "
                             "sizes, cross-field rules) cannot be given to them: see each server's "
                             "probes.profile_rule_violation (vidmock refuses it, the peers accept it)",
            "peer_reply": "every accepted request gets the reply vidmock gave for the same request "
                          "(workloads.<name>.servers.vidmock.peer_reply)",
            "time_cap_per_run_s": args.time_cap,
            "wrk_cpu_share": "wrk's user+system CPU / the run's wall time (one core = 1.0), of runs lasting at "
                             f"least {SHARE_MIN_WALL_S} s; any above {WRK_SHARE_WARNING} is listed in warnings",
        },
        "skipped": skipped,
        "workloads": workloads,
        "table": table(workloads),
        "targets": targets(workloads),
        "wrk_cpu_share_max": max(shares) if shares else None,
        "warnings": warnings(workloads),
    }


def _names(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(KNOWN_SERVERS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown servers {unknown}; known: {', '.join(KNOWN_SERVERS)}")
    return ["vidmock", *(name for name in names if name != "vidmock")]


def main(argv=None) -> None:
    args = arguments(
        __doc__, argv, quick={"requests": 100, "warmup_start": 50, "warmup": 50, "time_cap": 10.0},
        servers={"type": _names, "default": list(DEFAULT_SERVERS),
                 "help": f"comma-separated, vidmock always included (known: {','.join(KNOWN_SERVERS)})"},
        workloads={"type": comma_list(), "default": ["getResponse", "submit"]},
        clients={"type": comma_list(int), "default": list(CLIENT_COUNTS)},
        rounds=(2, "measured runs per server and cell (order alternating)"),
        requests=(4000, "requests per measured run"),
        warmup_start=(10000, "unmeasured requests per server and workload at the most clients, first"),
        warmup=(2000, "unmeasured requests per server and cell"), time_cap=(20.0, "seconds a wrk run may last"),
        baseline={"type": lambda text: Path(text).resolve(), "action": "append", "default": [],
                  "help": "also measure vidmock from this checkout (its .venv), as vidmock@<its commit>; repeatable"})
    print_report("peers", lambda: run(args))


if __name__ == "__main__":
    main()
