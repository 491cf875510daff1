"""Safe by default: loopback bind, no file outside the media dir, a guarded control plane, and
deliveries only to allowed hosts when an allowlist is set."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from benchmarks.serverproc import start_vidmock
from conformance.client import MockClient
from conftest import KEY, data_uri, new_uuid, png_bytes, video_task
from mockserver.config import ServerConfig
from mockserver.state import CONFIG

SECRET = b"vidmock-secret-outside-the-media-dir"
LISTEN = "0A"  # TCP state code of a listening socket in /proc/net/tcp


# -- default bind ------------------------------------------------------------------------------

def test_config_binds_loopback_by_default():
    assert ServerConfig().host == "127.0.0.1"


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == LISTEN and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_serve_without_host_listens_on_loopback_only():
    env = {name: "" for name in os.environ if name == "VIDMOCK_HOST"}  # the default, not the environment's
    server = start_vidmock(env=env)
    try:
        url = urlsplit(server.base_url)
        assert url.hostname == "127.0.0.1"
        if Path("/proc/net/tcp").exists():
            assert listening_addresses(url.port) == {"0100007F"}  # 127.0.0.1, and nothing else
    finally:
        server.stop()


# -- no path traversal under /media --------------------------------------------------------------

async def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """A GET whose request target goes on the wire byte for byte (no client-side normalising)."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.fixture
async def media_server(make_server, tmp_path):
    """A server with one real upload, a secret file next to its media dir and one in /tmp."""
    server = await make_server()
    data_dir = Path(server.app[CONFIG].data_dir)
    (data_dir / "secret.txt").write_bytes(SECRET)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    async with aiohttp.ClientSession() as session:
        status, body = await MockClient(server.base_url, KEY, session=session).post(
            [{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(png_bytes(64, 64))}])
    assert status == 200
    image_url = body["data"][0]["imageURL"]
    return server, data_dir, tmp_path, urlsplit(image_url).path


def traversal_targets(image_path: str, outside: Path) -> list[str]:
    name = image_path.rsplit("/", 1)[1]
    return [
        "/media/../secret.txt", "/media/..%2fsecret.txt", "/media/..%2Fsecret.txt", "/media/%2e%2e/secret.txt",
        "/media/%2e%2e%2fsecret.txt", "/media/%252e%252e%252fsecret.txt", "/media/..%5csecret.txt",
        "/media/..\\secret.txt", "/media/%5c..%5csecret.txt", "/media/....//secret.txt",
        "/media/secret.txt", f"/media/{outside}/secret.txt", f"/media/{str(outside).replace('/', '%2f')}%2fsecret.txt",
        "/media//etc/passwd", "/media/%2fetc%2fpasswd", "/media/C:%5cWindows%5cwin.ini",
        f"/media/{name}%00", f"/media/{name}%00.txt", f"/media/%00{name}", f"{image_path}/../secret.txt",
        f"{image_path}%2f..%2fsecret.txt", f"{image_path}/..%2f..%2fsecret.txt", f"/media/./{name}/..",
        f"/media/{name.upper()}", f"/media/{name}.part", f"/media/{name}::$DATA", f"/media/{name};.txt",
        "/media/cache", "/media/cache%2fvideos", "/media/..", "/media/.", "/media/%2e%2e", "/media/~",
        "/media/link.png",
    ]


async def test_no_path_reaches_a_file_outside_the_media_dir(media_server):
    server, data_dir, outside, image_path = media_server
    symlink_name = f"{new_uuid()}.png"
    media_dir = data_dir / "media"
    (media_dir / symlink_name).symlink_to(data_dir / "secret.txt")  # a valid-looking name, never registered
    (media_dir / "link.png").symlink_to(outside / "secret.txt")
    targets = traversal_targets(image_path, outside) + [f"/media/{symlink_name}"]
    for target in targets:
        status, body = await raw_get(server.base_url, target)
        assert SECRET not in body, target
        assert status == 404, (target, status, body[:200])
    status, body = await raw_get(server.base_url, image_path)  # the real file is still served
    assert status == 200 and body.startswith(b"\x89PNG")


async def test_a_null_byte_or_backslash_in_a_raw_path_never_serves_a_file(media_server):
    """Bytes the HTTP parser may refuse before routing: a 400 is as safe as a 404, never a 200."""
    server, _data_dir_, _outside, image_path = media_server
    for target in ("/media/\x00", f"{image_path}\x00.txt", "/media/..\\..\\secret.txt"):
        try:
            status, body = await raw_get(server.base_url, target)
        except (ConnectionError, IndexError, ValueError):
            continue  # the server closed the connection: nothing was served
        assert status in (400, 404) and SECRET not in body, (target, status)


# -- the control plane's token -------------------------------------------------------------------



async def test_control_plane_requires_the_token_when_one_is_set(make_server, http):
    server = await make_server(control_token="s3cret-token")
    async with http.get(f"{server.base_url}/__mock/journal") as response:
        assert response.status == 401
    async with http.get(f"{server.base_url}/__mock/journal", headers={"X-Vidmock-Control-Token": "wrong"}) as response:
        assert response.status == 401
    async with http.get(f"{server.base_url}/__mock/journal",
                        headers={"X-Vidmock-Control-Token": "s3cret-token"}) as response:
        assert response.status == 200
    async with http.get(f"{server.base_url}/__mock/health") as response:
        assert response.status == 200


# -- delivery allowlist ---------------------------------------------------------------------------

@pytest.fixture
async def receiver():
    """A loopback HTTP server that records every request it gets."""
    received: list[tuple[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        await request.read()
        received.append((request.method, request.path))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"127.0.0.1:{runner.addresses[0][1]}", received
    await runner.cleanup()


async def test_webhook_and_upload_outside_the_allowlist_are_refused(make_server, http, receiver):
    netloc, received = receiver
    server = await make_server(delivery_allow_hosts=("allowed.example",))
    api = MockClient(server.base_url, KEY, session=http)
    task = video_task(seed=5, webhookURL=f"http://{netloc}/hook", uploadEndpoint=f"http://{netloc}/put")
    status, _ = await api.post([task])
    assert status == 200
    assert (await api.wait_done(task["taskUUID"]))[1]["data"][0]["status"] == "success"
    async with http.get(f"{server.base_url}/__mock/deliveries/wait",
                        params={"taskUUID": task["taskUUID"], "count": 2, "timeout": 30},
                        headers={"Authorization": "Bearer test-key"}) as response:
        assert response.status == 200
        records = (await response.json())["deliveries"]
    assert sorted((r["kind"], r["state"]) for r in records) == [("upload", "refused"), ("webhook", "refused")]
    assert all("allowlist" in r["reason"] and r["attempts"] == [] for r in records)
    await asyncio.sleep(0.2)
    assert received == []


async def test_delivery_to_an_allowed_host_goes_through(make_server, http, receiver):
    netloc, received = receiver
    server = await make_server(delivery_allow_hosts=("127.0.0.1",))
    api = MockClient(server.base_url, KEY, session=http)
    task = video_task(seed=5, webhookURL=f"http://{netloc}/hook")
    await api.post([task])
    async with http.get(f"{server.base_url}/__mock/deliveries/wait",
                        params={"taskUUID": task["taskUUID"], "timeout": 30},
                        headers={"Authorization": "Bearer test-key"}) as response:
        records = (await response.json())["deliveries"]
    assert [r["state"] for r in records] == ["delivered"]
    assert received == [("POST", "/hook")]
