"""Faulty on purpose: checks that its video is exactly the size and length it asked for, and gives
up when it is not. vidmock's videos are exact by default, so it passes; live videos were seen a
few pixels and frames off (1284x716 and 5.125 s for 1280x720 and 5 s), and ``vidmock check
--scenario inexact-media -- python assumes_exact_media.py`` (or ``--behaviour '{"inexactMedia":
true}'``) catches it before production does."""

import asyncio
import sys
import tempfile
from pathlib import Path

from reference_client import Client, GaveUp, main

from mockserver.media.video_probe import probe_video


class AssumesExactMedia(Client):
    async def use(self, task: dict, videos: list[dict]) -> None:
        for video in videos:
            async with self.session.get(video["videoURL"]) as response:
                data = await response.read()
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "video.mp4"
                path.write_bytes(data)
                facts = probe_video(path)
            # the bug: the request's numbers taken for the file's
            if facts is None or (facts.width, facts.height) != (task["width"], task["height"]) \
                    or facts.duration != task["duration"]:
                raise GaveUp(f"unexpected video: {facts}, asked for {task['width']}x{task['height']}, "
                             f"{task['duration']} s")
            print(video["videoURL"])


if __name__ == "__main__":
    sys.exit(asyncio.run(main(AssumesExactMedia)))
