"""What ``vidmock serve --verbose`` costs a request: the same load against a server with and
without it, in one run.

Off, the log observer is not registered at all, so the server without ``--verbose`` is the
baseline. Each server runs in its own process with stderr to a file; batches alternate between
them. Operations: a REST ``ping`` (the cheapest request), a REST cached submit, and a WebSocket
``getResponse`` of a finished task.
"""

from __future__ import annotations

from benchmarks.loadgen import alternate, load
from benchmarks.serverproc import ACK, PONG, SUCCESS, finished_task, main, ratio, start_vidmock, video_task


def operations(probe: str) -> dict:
    """operation -> (transport, body, expected reply)."""
    return {"rest ping": ("rest", lambda: [{"taskType": "ping"}], PONG),
            "rest submit": ("rest", lambda: [video_task()], ACK),
            "ws getResponse": ("ws", lambda: [{"taskType": "getResponse", "taskUUID": probe}], SUCCESS)}


async def run(args) -> dict:
    servers = {"off": start_vidmock("--seed", "1"), "verbose": start_vidmock("--seed", "1", "--verbose")}
    try:
        probes = {name: await finished_task(server.base_url) for name, server in servers.items()}
        rows = []
        for operation in operations(""):
            def batch(name, server):
                transport, body, expected = operations(probes[name])[operation]
                return load(server, transport, body, expected, clients=args.clients, total=args.requests, time_cap=30)
            batches = await alternate(servers, args.rounds, batch)
            off, verbose = batches["off"].summary(), batches["verbose"].summary()
            cpu = {name: figures["server_cpu_us_per_request"] for name, figures in (("off", off), ("verbose", verbose))}
            rows.append({"operation": operation, "clients": args.clients, "off": off, "verbose": verbose,
                         "p50_ratio_verbose_to_off": ratio(verbose["p50_ms"], off["p50_ms"]),
                         "cpu_ratio_verbose_to_off": ratio(cpu["verbose"], cpu["off"]),
                         "cpu_us_per_request_added": round(cpu["verbose"] - cpu["off"], 1)})
        lines = sum("mockserver.verbose_log" in line for line in servers["verbose"].stderr_text().splitlines())
    finally:
        for server in servers.values():
            server.stop()
    return {"setup": {"servers": "vidmock serve --port 0 --seed 1, with and without --verbose, each its own "
                                 "process, stderr to a file",
                      "interleaving": f"{args.rounds} rounds per operation, the server without --verbose first in "
                                      "even rounds",
                      "requests_per_batch": args.requests, "clients": args.clients},
            "results": rows, "verbose_lines_written": lines}


if __name__ == "__main__":
    main(__doc__, run, quick={"rounds": 2, "requests": 150}, rounds=(4, "alternating batches"),
         requests=(1500, "requests per batch"), clients=(1, "concurrent clients"))
