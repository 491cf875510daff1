"""``vidmock cache``: where the render cache is, what it holds, and ``--clear`` to empty it.

The cache is not bounded by vidmock: it holds one file per distinct video a request named a seed
for (and its GOP, poster and audio track), under one folder per ffmpeg build. Videos of drawn seeds
never enter it. Clearing it while a server uses it is safe for files but not for that server, which
remembers what it has rendered: restart it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from mockserver.config import NO_CACHE, ServerConfig
from mockserver.media.synth import SynthesisError, Synthesizer
from mockserver.media.synth_build import BUILD_FILE

MIB = 1024 * 1024


def current_build(cache: Path) -> str | None:
    """The folder name this machine's ffmpeg and fonts render into (None if ffmpeg cannot run)."""
    try:
        return asyncio.run(Synthesizer(cache).build()).name
    except SynthesisError:
        return None


def builds(cache: Path) -> list[dict]:
    """Each build folder of the cache: its name, what build.json says, files and bytes."""
    found = []
    for folder in sorted(path for path in cache.iterdir() if path.is_dir()):
        files = [path for path in folder.rglob("*")  # not the lock files, nor a render's part file
                 if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)]
        described = folder / BUILD_FILE
        facts = json.loads(described.read_text()) if described.exists() else {}
        found.append({"name": folder.name, "ffmpeg": facts.get("ffmpeg", {}).get("version"), "text": facts.get("text"),
                      "files": len(files), "bytes": sum(path.stat().st_size for path in files)})
    return found


def run(config: ServerConfig, clear: bool) -> int:
    if config.cache_dir == NO_CACHE:
        print("render cache: none (cache_dir = none: each server keeps its renders in its data dir)")
        return 0
    cache = config.render_cache(Path("."))
    if not cache.exists():
        print(f"render cache: {cache} (empty)")
        return 0
    if clear:
        listed = builds(cache)
        for build in listed:
            shutil.rmtree(cache / build["name"])
        freed = sum(build["bytes"] for build in listed)
        print(f"render cache: {cache}: removed {len(listed)} build folder(s), {freed / MIB:.1f} MiB "
              f"(restart servers that use it)")
        return 0
    current = current_build(cache)
    listed = builds(cache)
    print(f"render cache: {cache}")
    for build in listed:
        mark = "  (this machine's ffmpeg and fonts)" if build["name"] == current else ""
        print(f"  {build['name']}: {build['files']} files, {build['bytes'] / MIB:.1f} MiB{mark}")
    total = sum(build["bytes"] for build in listed)
    print(f"total: {sum(build['files'] for build in listed)} files, {total / MIB:.1f} MiB; "
          f"`vidmock cache --clear` empties it")
    return 0
