"""Drive PyPI ``runware-sdk`` (WebSocket or REST) through one scenario against vidmock.

Usage: runware_sdk_client.py [--transport websocket|rest] [--number-results N]
{t2v|i2v|invalid-size|invalid-key|drop|media},
with VIDMOCK_WS_URL, VIDMOCK_HTTP_URL and VIDMOCK_API_KEY set. Prints one JSON line; exits 0
when the script itself worked. ``media`` goes through the platform tasks instead: a mediaStorage
upload of the first frame, a video made from its mediaUUID, getTaskDetails of the upload, and
a delete.
"""

import argparse
import asyncio
import os
import sys

from client_common import (
    SCENARIOS, api_key, emit, first_frame_data_uri, guard_loopback_only, required_env, video_params,
)

guard_loopback_only()

from runware import Runware  # noqa: E402

CLIENT_TIMEOUT = float(os.environ.get("VIDMOCK_CLIENT_TIMEOUT", "90"))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=("websocket", "rest"), default="websocket")
    parser.add_argument("--number-results", type=int, default=1)
    parser.add_argument("scenario", choices=(*SCENARIOS, "media"))
    return parser.parse_args()


async def generate(name: str, transport: str, number_results: int) -> dict:
    # Every base URL points at the mock, and taskType plus an AIR model are explicit, so the SDK
    # never consults its schema registry online.
    local = required_env("VIDMOCK_HTTP_URL")
    client = Runware(api_key=api_key(name), transport=transport, ws_base_url=required_env("VIDMOCK_WS_URL"),
                     http_base_url=local, serverless_base_url=local.rsplit("/v1", 1)[0],
                     timeout=int(CLIENT_TIMEOUT * 1000), poll_timeout=int(CLIENT_TIMEOUT * 1000))
    try:
        await client.connect()
        if name == "media":
            return await platform_tasks(client)
        results = await client.run({"taskType": "videoInference", **video_params(name, number_results)})
        return {"ok": True, "results": results}
    finally:
        await client.close()


async def platform_tasks(client: Runware) -> dict:
    [upload] = await client.media_storage({"operation": "upload", "media": first_frame_data_uri()})
    params = {**video_params("t2v"), "resolution": "720p", "inputs": {"frameImages": [upload["mediaUUID"]]}}
    del params["width"], params["height"]  # the stored frame's aspect chooses the size
    results = await client.run({"taskType": "videoInference", **params})
    [details] = await client.get_task_details({"taskUUID": upload["taskUUID"]})
    [deleted] = await client.media_storage({"operation": "delete", "media": upload["mediaUUID"]})
    return {"ok": True, "upload": upload, "results": results, "details": details, "deleted": deleted}


async def main() -> int:
    args = arguments()
    try:
        outcome = await asyncio.wait_for(generate(args.scenario, args.transport, args.number_results), CLIENT_TIMEOUT)
    except Exception as exc:  # the outcome under test: report it, do not crash
        outcome = {"ok": False, "error_class": type(exc).__name__, "code": getattr(exc, "code", None),
                   "message": str(exc), "parameter": getattr(exc, "parameter", None),
                   "task_uuid": getattr(exc, "task_uuid", None), "task_type": getattr(exc, "task_type", None)}
    return emit(outcome)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
