"""Faulty on purpose: draws its taskUUIDs as UUIDv7 (time-ordered, RFC 9562). The server takes
them, as the live service did, but the documents ask for v4 (caught by VM012)."""

import asyncio
import os
import sys
import time

from reference_client import Client, main


def uuid7() -> str:
    """A UUIDv7 built by hand: Python before 3.14 has no ``uuid.uuid7``."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC variant
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class UuidV7Client(Client):
    def video_task(self) -> dict:
        return {**super().video_task(), "taskUUID": uuid7()}


if __name__ == "__main__":
    sys.exit(asyncio.run(main(UuidV7Client)))
