"""Drive PyPI ``runware`` (sdk-python, WebSocket) through one scenario against vidmock.

Usage: sdk_python_client.py [--number-results N] {t2v|i2v|invalid-size|invalid-key|drop}, with
VIDMOCK_WS_URL and VIDMOCK_API_KEY set. Prints one JSON line; exits 0 when the script itself worked.
"""

import os

# Read by runware at import time. With the defaults every "processing" poll reply costs 33 s:
# the SDK drops the reply unread, waits out VIDEO_INITIAL_TIMEOUT, then sleeps VIDEO_POLLING_DELAY.
os.environ.setdefault("RUNWARE_VIDEO_INITIAL_TIMEOUT", "1000")
os.environ.setdefault("RUNWARE_VIDEO_POLLING_DELAY", "200")

import asyncio  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402

from client_common import api_key, emit, guard_loopback_only, required_env, scenario, video_params  # noqa: E402

guard_loopback_only()

from runware import IVideoInference, Runware  # noqa: E402

CLIENT_TIMEOUT = float(os.environ.get("VIDMOCK_CLIENT_TIMEOUT", "90"))


async def generate(name: str, number_results: int) -> dict:
    client = Runware(api_key=api_key(name), url=required_env("VIDMOCK_WS_URL"))
    try:
        await client.connect()  # never raises for a bad key: the next call does
        ack = await client.videoInference(IVideoInference(**video_params(name, number_results)))
        videos = await client.getResponse(taskUUID=ack.taskUUID, numberResults=number_results)
        return {"ok": True, "results": [dataclasses.asdict(video) for video in videos]}
    finally:
        await client.disconnect()


async def main() -> int:
    name, number_results = scenario()
    try:
        outcome = await asyncio.wait_for(generate(name, number_results), CLIENT_TIMEOUT)
    except Exception as exc:  # the outcome under test: report it, do not crash
        outcome = {"ok": False, "error_class": type(exc).__name__, "code": getattr(exc, "code", None),
                   "message": str(exc), "error": getattr(exc, "error_data", None)}  # RunwareAPIError keeps the item
    return emit(outcome)


sys.exit(asyncio.run(main()))
