"""Where a REST submit's time goes: each stage of the pipeline wrapped in a timer (~0.5 µs each)
inside a vidmock running in this process as ``vidmock serve`` runs, under wrk's cached submits;
the process's CPU per request and the collector's share beside them. Needs wrk."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import time

from benchmarks.serverproc import API_KEY, finished_task, main, video_task
from benchmarks.wrkload import UUID_SLOT, run_wrk
from mockserver.app import start_server
from mockserver.backends import mock as mock_backend
from mockserver.backends.mock import MockBackend
from mockserver.cli import freeze_startup_heap
from mockserver.config import ServerConfig
from mockserver.control.journal import Journal
from mockserver.jobs.store import Job, JobStore
from mockserver.media.store import MediaStore
from mockserver.media.synth import Synthesizer
from mockserver.jobs.task_details import TaskDetails
from mockserver.transports import http_answer, rest

# (owner, attribute, label): the label's indent is its depth in the pipeline
STAGES = (
    (rest, "handle_post", "handle_post"),
    (rest, "request_context", "  request_context"),
    (rest, "read_body", "  read_body"),
    (rest, "serve", "  serve (hooks, backend)"),
    (MockBackend, "_run", "    MockBackend._run"),
    (mock_backend, "validate_task", "      validate_task"),
    (MockBackend, "_video_inference", "      _video_inference"),
    (JobStore, "submit", "        JobStore.submit"),
    (Job, "video_spec", "          Job.video_spec"),
    (Synthesizer, "finished", "          Synthesizer.finished"),
    (JobStore, "_publish", "          JobStore._publish"),
    (MediaStore, "add_file", "            MediaStore.add_file"),
    (JobStore, "_settle", "          JobStore._settle"),
    (MockBackend, "_remember", "    MockBackend._remember"),
    (TaskDetails, "submitted", "      TaskDetails.submitted"),
    (http_answer, "_respond", "  _respond (the reply, written)"),
    (http_answer, "record", "  record (journal, observers)"),
    (Journal, "add", "    Journal.add"),
)


def timed(function, totals: dict, label: str):
    """``function`` (sync or async) with its wall time added to ``totals[label]``."""
    if asyncio.iscoroutinefunction(function):
        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started
    else:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started
    return wrapper


async def run(args) -> dict:
    totals = dict.fromkeys((label for _, _, label in STAGES), 0.0)
    for owner, name, label in STAGES:
        setattr(owner, name, timed(getattr(owner, name), totals, label))
    collector = {"seconds": 0.0, "started": 0.0}

    def on_collect(phase: str, _info: dict) -> None:
        if phase == "start":
            collector["started"] = time.perf_counter()
        else:
            collector["seconds"] += time.perf_counter() - collector["started"]

    server = await start_server(ServerConfig(port=0, seed=1))
    freeze_startup_heap()  # as `vidmock serve` does
    gc.callbacks.append(on_collect)
    try:
        url = f"{server.base_url}/v1"
        task = json.dumps([video_task(taskUUID=UUID_SLOT)])
        await finished_task(server.base_url)  # its video rendered: every submit below is a cache hit
        await asyncio.to_thread(run_wrk, url, task, token=API_KEY, clients=args.clients, requests=args.warmup,
                                time_cap=30)
        for label in totals:
            totals[label] = 0.0
        collector["seconds"] = 0.0
        cpu = time.process_time()
        measured = await asyncio.to_thread(run_wrk, url, task, token=API_KEY, clients=args.clients,
                                           requests=args.requests, time_cap=60)
        cpu = time.process_time() - cpu  # the server's, plus reading wrk's report (a few ms in all)
    finally:
        gc.callbacks.remove(on_collect)
        await server.stop()
    answers = measured.answered
    per_request = {label: round(1e6 * seconds / answers, 1) for label, seconds in totals.items()}
    return {
        "requests": answers,
        "failures": measured.failures,
        "clients": args.clients,
        "rps": round(answers / measured.wall_s),
        "process_cpu_us_per_request": round(1e6 * cpu / answers, 1),
        "collector_us_per_request": round(1e6 * collector["seconds"] / answers, 1),
        "stages_us_per_request": per_request,
        "note": "wall time inside each stage (one thread: CPU time but for waits); nested stages are "
                "indented and included in their parents",
    }


if __name__ == "__main__":
    main(__doc__, run, quick={"requests": 1000, "warmup": 200}, requests=(20000, "measured submits"),
         warmup=(5000, "unmeasured submits first"), clients=(16, "wrk connections"))
