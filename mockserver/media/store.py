"""The media store: every file served at ``GET /media/<uuid>.<ext>``, with TTLs and a disk cap.

Generated videos are served straight from the synthesizer's cache (the store does not own those
files, so expiring a URL never deletes them, and publishing one costs no disk and no thread hop),
and so is each video's poster frame, at the video's name with ``.jpg`` (``/media/<videoUUID>.jpg``)
for as long as the video is.
Uploaded media (imageUpload, mediaStorage) are written from their bytes and owned by the store. Disk use is
bounded twice: expired entries are deleted by the periodic sweep, and beyond the cap the oldest
finished ones go first. Adding a file costs O(1) unless the cap is passed: a running byte total and
the insertion order of the entries (oldest first) make a full scan unnecessary, and the sweep
pops due entries off a heap of expiry times instead of visiting every entry.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from mockserver.core.clock import Clock
from mockserver.core.expiry import ExpiryHeap
from mockserver.core.namespaces import owned
from mockserver.media.formats import MEDIA_TYPES

CONTENT_TYPES = dict(MEDIA_TYPES.values())  # extension -> Content-Type of every file served
MEDIA_NAME = re.compile(rf"^([0-9a-f-]{{36}})\.({'|'.join(CONTENT_TYPES)})$")
POSTER_EXTENSION = "jpg"


def media_url(base_url: str, media_uuid: str, extension: str) -> str:
    return f"{base_url}/media/{media_uuid}.{extension}"


@dataclass
class MediaEntry:
    namespace: str  # the API key whose task or upload made it
    media_uuid: str
    extension: str
    path: Path
    size: int
    added_at: float
    expires_at: float | None  # None: the TTL has not started (the task is not finished yet)
    owned: bool = True  # False: a file of the synthesizer's cache, never deleted from here
    poster: Path | None = None  # a video's first frame (JPEG), from the synthesizer's cache too

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class MediaStore:
    def __init__(self, root: Path, clock: Clock, cap_bytes: int) -> None:
        self.root = Path(root)
        self.clock = clock
        self.cap_bytes = cap_bytes
        self._entries: dict[str, MediaEntry] = {}  # insertion order = oldest first
        self._references: dict[Path, int] = {}  # entries per file: many results can share one cached video
        self._used_bytes = 0  # bytes of the distinct files served: a shared file counts once
        self._doomed: list[MediaEntry] = []  # evicted by a synchronous add_file: deleted at the next sweep
        self._expiries: ExpiryHeap[MediaEntry] = ExpiryHeap()  # the sweep looks only at what is due

    def add_file(self, namespace: str, media_uuid: str, extension: str, source: Path,
                 size: int | None = None, poster: Path | None = None) -> MediaEntry:
        """Publish a rendered file in place; it stays pending (no TTL, never evicted) until ``start_ttl``.

        Synchronous, so a submit whose video is already cached finishes without a task. Files the
        cap evicts meanwhile are deleted by the next sweep.
        """
        source = source if isinstance(source, Path) else Path(source)  # re-wrapping a Path costs a parse
        if size is None:
            size = source.stat().st_size
        entry = MediaEntry(namespace, media_uuid, extension, source, size, self.clock.now(), None, owned=False,
                           poster=poster)
        self._doomed += self._register(entry)
        return entry

    async def add_bytes(self, namespace: str, media_uuid: str, extension: str, data: bytes,
                        ttl: float) -> MediaEntry:
        target = self._path(media_uuid, extension)
        await asyncio.to_thread(_write_atomically, target, data)
        now = self.clock.now()
        entry = MediaEntry(namespace, media_uuid, extension, target, len(data), now, now + ttl)
        doomed = self._register(entry)
        self._schedule_expiry(entry)
        await self._unlink(doomed)
        return entry

    def start_ttl(self, media_uuid: str, ttl: float) -> None:
        """The URL becomes visible now and lives ``ttl`` seconds from here."""
        entry = self._entries.get(media_uuid)
        if entry is not None:
            entry.expires_at = self.clock.now() + ttl
            self._schedule_expiry(entry)

    async def discard(self, media_uuid: str) -> bool:
        """Stop serving a file now (a mediaStorage delete) and delete it if the store owns it;
        False when nothing was served under that UUID."""
        entry = self._entries.get(media_uuid)
        if entry is None:
            return False
        await self._unlink([self._forget(entry)])
        return True

    def lookup(self, name: str) -> MediaEntry | None:
        """The live entry for a file name, or None (bad name, wrong extension, unknown, expired)."""
        match = MEDIA_NAME.fullmatch(name)  # fullmatch: a final newline is not "the end" either
        if not match:
            return None
        entry = self._entries.get(match.group(1))
        if entry is None or entry.extension != match.group(2) or entry.expired(self.clock.now()):
            return None
        return entry

    def file_for(self, name: str) -> tuple[Path, str] | None:
        """(path, Content-Type) served at ``/media/<name>``: a live entry's file, or its poster."""
        entry = self.lookup(name)
        if entry is not None:
            return entry.path, CONTENT_TYPES[entry.extension]
        video_uuid, _, extension = name.partition(".")
        entry = self._entries.get(video_uuid) if extension == POSTER_EXTENSION else None
        if entry is None or entry.poster is None or entry.expired(self.clock.now()):
            return None
        return entry.poster, CONTENT_TYPES[POSTER_EXTENSION]

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's media (all when None) at once; their files go at the next sweep."""
        doomed = [entry for entry in self._entries.values() if owned(namespace, entry.namespace)]  # _forget drops them
        self._doomed += [self._forget(entry) for entry in doomed]
        self._expiries.compact(self._is_stored, len(self._entries))
        return len(doomed)

    def stats(self) -> dict:
        return {"files": len(self._entries), "distinct_files": len(self._references), "bytes": self._used_bytes,
                "cap_bytes": self.cap_bytes}

    async def sweep(self) -> None:
        """Delete expired files, then the oldest finished ones while over the cap (periodic)."""
        doomed, self._doomed = self._doomed, []
        await self._unlink(doomed + self._forget_expired() + self._over_cap())

    def _schedule_expiry(self, entry: MediaEntry) -> None:
        self._expiries.push(entry.expires_at, entry)
        self._expiries.compact(self._is_stored, len(self._entries))

    def _forget_expired(self) -> list[MediaEntry]:
        """Forget the entries whose time is up, oldest expiry first. A heap item is stale when its
        entry was forgotten or given a new expiry since; that entry's current item decides."""
        now, expired = self.clock.now(), []
        for entry in self._expiries.due(now):
            if self._is_stored(entry) and entry.expired(now):
                expired.append(self._forget(entry))
        return expired

    def _is_stored(self, entry: MediaEntry) -> bool:
        return self._entries.get(entry.media_uuid) is entry

    def _over_cap(self) -> list[MediaEntry]:
        """Over the cap: drop expired entries, then the oldest finished ones until the distinct
        bytes fit; pending ones stay. Dropping one of several entries of a shared file frees
        nothing, so the loop watches the byte count rather than the entries' sizes."""
        if self._used_bytes <= self.cap_bytes:
            return []
        doomed = self._forget_expired()
        for entry in list(self._entries.values()):
            if self._used_bytes <= self.cap_bytes:
                break
            if entry.expires_at is not None:
                doomed.append(self._forget(entry))
        return doomed

    def _forget(self, entry: MediaEntry) -> MediaEntry:
        """Drop an entry from the books; its file is released when no other entry serves it."""
        if self._entries.pop(entry.media_uuid, None) is not None:
            remaining = self._references[entry.path] - 1
            if remaining:
                self._references[entry.path] = remaining
            else:
                del self._references[entry.path]
                self._used_bytes -= entry.size
        return entry

    async def _unlink(self, entries: list[MediaEntry]) -> None:
        """Delete the files vidmock owns (uploads) that no entry serves any more."""
        paths = [e.path for e in entries if e.owned and e.path not in self._references]
        if paths:
            await asyncio.to_thread(_unlink_all, paths)

    def _register(self, entry: MediaEntry) -> list[MediaEntry]:
        """Book the entry; the entries the cap evicts for it, whose files are still to delete."""
        previous = self._entries.get(entry.media_uuid)
        doomed = [self._forget(previous)] if previous is not None else []
        self._entries[entry.media_uuid] = entry
        if entry.path not in self._references:
            self._used_bytes += entry.size
        self._references[entry.path] = self._references.get(entry.path, 0) + 1
        return doomed + self._over_cap()

    def _path(self, media_uuid: str, extension: str) -> Path:
        return self.root / f"{media_uuid}.{extension}"


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def add_media_routes(app: web.Application, store: MediaStore) -> None:
    """``GET``/``HEAD /media/<uuid>.<ext>``; Range, ETag and If-None-Match come from FileResponse."""

    async def serve_media(request: web.Request) -> web.StreamResponse:
        found = store.file_for(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="media not found or expired\n")
        path, content_type = found
        return web.FileResponse(path, headers={"Content-Type": content_type})

    app.router.add_get("/media/{name}", serve_media)  # add_get also answers HEAD
