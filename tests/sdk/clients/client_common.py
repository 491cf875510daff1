"""What the Python SDK client scripts share (stdlib only: they run in the SDKs' own venvs).

A script takes one scenario on argv (optionally after ``--number-results N``, the videos to ask
for), reads where the mock is from the environment, prints ONE
JSON line with the outcome and exits 0 whenever the script itself worked: the test judges the
outcome. With ``VIDMOCK_CLIENT_STRICT=1`` it exits as an application built on the SDK would, the
outcome contract of ``vidmock check``: 0 with usable videos, 1 when the SDK raised or a result
is flagged ``NSFWContent`` (so ``vidmock check --explore`` can judge it). The scripts must never reach Runware's real hosts, so every socket connect and name
lookup that is not for the loopback interface is refused before it leaves the process.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import struct
import sys
import zlib

SCENARIOS = ("t2v", "i2v", "invalid-size", "invalid-key", "drop")
MODEL = "alibaba:wan@2.7"
PROMPT = "a red fox running through fresh snow, cinematic"
INVALID_KEY = "vidmock-not-a-configured-key"


def guard_loopback_only() -> None:
    """Refuse any connection or DNS lookup that is not for 127.0.0.0/8, ::1 or localhost."""

    def is_local(host: object) -> bool:
        if isinstance(host, bytes):
            host = host.decode()
        if host in ("localhost", None):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def audit(event: str, args: tuple) -> None:
        if event == "socket.getaddrinfo" and not is_local(args[0]):
            raise ConnectionRefusedError(f"vidmock client guard: no lookups of {args[0]!r}")
        if event == "socket.connect" and isinstance(args[1], tuple) and not is_local(args[1][0]):
            raise ConnectionRefusedError(f"vidmock client guard: no connections to {args[1][0]!r}")

    sys.addaudithook(audit)


def scenario() -> tuple[str, int]:
    """(scenario, numberResults) from ``[--number-results N] SCENARIO``."""
    args = sys.argv[1:]
    number_results = 1
    if len(args) == 3 and args[0] == "--number-results" and args[1].isdigit() and int(args[1]) > 0:
        number_results, args = int(args[1]), args[2:]
    if len(args) != 1 or args[0] not in SCENARIOS:
        sys.exit(f"usage: {os.path.basename(sys.argv[0])} [--number-results N] {{{'|'.join(SCENARIOS)}}}")
    return args[0], number_results


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set")
    return value


def api_key(name: str) -> str:
    """The configured key, or a key the mock does not know for the invalid-key scenario."""
    return os.environ.get("VIDMOCK_INVALID_API_KEY", INVALID_KEY) if name == "invalid-key" else required_env("VIDMOCK_API_KEY")


def video_params(name: str, number_results: int = 1) -> dict:
    """The videoInference parameters of a scenario, in the wire form all three SDKs pass through."""
    params = {"model": MODEL, "positivePrompt": PROMPT, "width": 1280, "height": 720, "duration": 2,
              "includeCost": True}
    if number_results != 1:
        params["numberResults"] = number_results
    if name == "invalid-size":
        params.update(width=1000, height=1000)
    if name == "i2v":
        params["inputs"] = {"frameImages": [{"image": first_frame_data_uri(), "frame": "first"}]}
    return params


def first_frame_data_uri() -> str:
    """``VIDMOCK_I2V_IMAGE`` (a data URI), else a 16:9 PNG made here."""
    return os.environ.get("VIDMOCK_I2V_IMAGE") or "data:image/png;base64," + base64.b64encode(_png(320, 180)).decode()


def _png(width: int, height: int) -> bytes:
    """A gradient RGB PNG, built by hand so the SDK venvs need no imaging package."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def emit(outcome: dict) -> int:
    """Print the outcome line; returns the script's exit status."""
    print(json.dumps(outcome, default=str), flush=True)
    return strict_status(outcome) if os.environ.get(STRICT) == "1" else 0


STRICT = "VIDMOCK_CLIENT_STRICT"


def strict_status(outcome: dict) -> int:
    if not outcome["ok"]:
        print(f"the SDK raised {outcome.get('error_class')}: {outcome.get('code')}: {outcome.get('message')}",
              file=sys.stderr)
        return 1
    if any(isinstance(result, dict) and result.get("NSFWContent") for result in outcome["results"]):
        print("a result is flagged NSFWContent: not usable", file=sys.stderr)
        return 1
    return 0
