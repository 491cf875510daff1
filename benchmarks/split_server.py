"""A model of vidmock on more than one core, to measure before building it: front processes that
speak HTTP, one process that owns the state.

vidmock's state (jobs, keys' faults, WebSocket sessions, the journal) must stay one consistent
whole, so a second core could only take the work that needs no state: HTTP, JSON, validation,
defaults. This server does what such a design would do per request, with vidmock's own work
replaced by CPU spent on purpose (``--stateless-us`` in a front, ``--stateful-us`` in the owner):

- ``--fronts 0``: one process does everything: parse the body, the stateless work, the stateful
  work, answer ``{"data": tasks}`` (the floor server plus the work).
- ``--fronts K``: K front processes share the port (``SO_REUSEPORT``); each parses the body, does
  the stateless work, and sends the tasks (pickled) to the owner over a Unix socket; the owner
  does the stateful work and sends the reply back; the front answers it. The owner is the process
  started; the fronts are its children, so a benchmark reading the process tree sees all the CPU.

Run: ``python benchmarks/split_server.py --fronts 2 --stateless-us 80 --stateful-us 100``
(prints ``split serving on http://127.0.0.1:PORT``). ``benchmarks/split_cores.py`` drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

if __package__ in (None, ""):  # run as a file: `benchmarks` lives in the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.serverproc import free_port  # noqa: E402

FRAME = struct.Struct("!II")  # payload length, request id


def spend(micros: float) -> None:
    """Keep this thread busy for ``micros`` µs of its own CPU time (not wall time: a process the
    scheduler sets aside must not be credited with work it did not do)."""
    if micros <= 0:
        return
    end = time.thread_time_ns() + int(micros * 1000)
    while time.thread_time_ns() < end:
        pass


async def until_stopped() -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()


# -- one process -------------------------------------------------------------------------------

async def serve_alone(stateless_us: float, stateful_us: float) -> None:
    async def handle(request: web.Request) -> web.Response:
        tasks = json.loads(await request.read())
        spend(stateless_us)
        spend(stateful_us)
        return web.json_response({"data": tasks})

    app = web.Application()
    app.router.add_post("/v1", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"split serving on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await until_stopped()
    await runner.cleanup()


# -- the owner of the state --------------------------------------------------------------------

async def serve_owner(fronts: int, stateless_us: float, stateful_us: float) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length, request_id = FRAME.unpack(await reader.readexactly(FRAME.size))
                tasks = pickle.loads(await reader.readexactly(length))
                spend(stateful_us)
                reply = pickle.dumps({"data": tasks}, protocol=pickle.HIGHEST_PROTOCOL)
                writer.write(FRAME.pack(len(reply), request_id) + reply)
        except asyncio.IncompleteReadError:
            writer.close()

    with tempfile.TemporaryDirectory(prefix="vidmock-split-") as workdir:
        path = str(Path(workdir) / "owner.sock")
        server = await asyncio.start_unix_server(answer, path)
        port = free_port()
        children = [subprocess.Popen([sys.executable, __file__, "--front", "--port", str(port), "--owner", path,
                                      "--stateless-us", str(stateless_us)], stdout=subprocess.PIPE, text=True)
                    for _ in range(fronts)]
        for child in children:  # each says it is listening
            await asyncio.to_thread(child.stdout.readline)
        print(f"split serving on http://127.0.0.1:{port}", flush=True)
        await until_stopped()
        for child in children:
            child.send_signal(signal.SIGINT)
        for child in children:
            await asyncio.to_thread(child.wait, 10)
        server.close()


# -- a front -----------------------------------------------------------------------------------

class OwnerLink:
    """One Unix connection to the owner, shared by every request of this front: requests are
    numbered, replies matched back to them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.listener = asyncio.get_running_loop().create_task(self.listen())

    async def ask(self, tasks) -> dict:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        payload = pickle.dumps(tasks, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(FRAME.pack(len(payload), self.next_id) + payload)
        return await future

    async def listen(self) -> None:
        while True:
            length, request_id = FRAME.unpack(await self.reader.readexactly(FRAME.size))
            self.pending.pop(request_id).set_result(pickle.loads(await self.reader.readexactly(length)))


async def serve_front(port: int, owner: str, stateless_us: float) -> None:
    link = OwnerLink(*await asyncio.open_unix_connection(owner))

    async def handle(request: web.Request) -> web.Response:
        tasks = json.loads(await request.read())
        spend(stateless_us)
        return web.json_response(await link.ask(tasks))

    app = web.Application()
    app.router.add_post("/v1", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_port=True)
    await site.start()
    print(f"front {os.getpid()} listening", flush=True)
    await until_stopped()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fronts", type=int, default=0, help="front processes (0: one process does everything)")
    parser.add_argument("--stateless-us", type=float, default=0.0, help="µs of CPU per request a front could do")
    parser.add_argument("--stateful-us", type=float, default=0.0, help="µs of CPU per request only the owner can do")
    parser.add_argument("--front", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--owner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.front:
        asyncio.run(serve_front(args.port, args.owner, args.stateless_us))
    elif args.fronts == 0:
        asyncio.run(serve_alone(args.stateless_us, args.stateful_us))
    else:
        asyncio.run(serve_owner(args.fronts, args.stateless_us, args.stateful_us))


if __name__ == "__main__":
    main()
