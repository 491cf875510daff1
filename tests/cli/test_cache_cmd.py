"""``vidmock cache``: the render cache's folder, its builds and sizes, and ``--clear``."""

from __future__ import annotations

import asyncio
import re

from cli_run import clean_env, vidmock
from mockserver.media.synth import Synthesizer, VideoSpec


def test_cache_lists_the_build_folders_and_clears_them(tmp_path):
    cache = tmp_path / "renders"
    synth = Synthesizer(cache)
    asyncio.run(synth.render(VideoSpec(1280, 720, 2, "MP4", 95, True, seed=3)))
    build = synth.stats()["build"]
    (cache / "n1.0-plain-000000000000").mkdir()  # another machine's folder, restored with the cache

    done = vidmock("cache", "--cache-dir", str(cache))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"render cache: {cache}"
    # the video, its GOP and poster, the audio track and build.json
    assert lines[1] == "  n1.0-plain-000000000000: 0 files, 0.0 MiB"  # folders by name
    assert re.fullmatch(rf"  {build}: 5 files, \d+\.\d MiB  \(this machine's ffmpeg and fonts\)", lines[2]), lines
    assert lines[3].startswith("total: 5 files, ")

    done = vidmock("cache", "--clear", env=clean_env(VIDMOCK_CACHE_DIR=str(cache)))
    assert done.returncode == 0 and re.fullmatch(
        rf"render cache: {cache}: removed 2 build folder\(s\), \d+\.\d MiB \(restart servers that use it\)\n", done.stdout)
    assert list(cache.iterdir()) == []


def test_cache_none_and_a_missing_folder(tmp_path):
    assert vidmock("cache", "--cache-dir", "none").stdout.startswith("render cache: none")
    assert vidmock("cache", "--cache-dir", str(tmp_path / "nothing")).stdout == f"render cache: {tmp_path / 'nothing'} (empty)\n"
