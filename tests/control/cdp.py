"""Headless Chromium driven over the Chrome DevTools Protocol, for the dashboard tests.

Why this and not a browser-automation package: the machine's Debian ``chromium`` is all that
.ci/run installs, and nothing may be downloaded at test time (playwright and selenium fetch a
browser or a driver of their own). The protocol is a WebSocket speaking JSON, and aiohttp, already
a dependency, speaks WebSocket: ``Page`` below is the dozen calls the tests need.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium") or shutil.which("chromium-browser")
STARTUP_TIMEOUT = 30.0


class DevToolsError(RuntimeError):
    """The browser answered a command with an error, or a page expression threw."""


class Page:
    """One browser tab: ``evaluate`` JavaScript, ``wait_for`` a condition, ``screenshot``."""

    def __init__(self, process: asyncio.subprocess.Process, session: aiohttp.ClientSession,
                 socket: aiohttp.ClientWebSocketResponse) -> None:
        self.process, self.session, self.socket = process, session, socket
        self._ids = itertools.count(1)
        self.errors: list[str] = []  # uncaught exceptions and console errors of the page

    @classmethod
    async def launch(cls, profile: Path, width: int = 1400, height: int = 900) -> "Page":
        process = await asyncio.create_subprocess_exec(
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        session = aiohttp.ClientSession()
        try:
            port = await _devtools_port(profile / "DevToolsActivePort", process)
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            url = next(target["webSocketDebuggerUrl"] for target in targets if target["type"] == "page")
            page = cls(process, session, await session.ws_connect(url, max_msg_size=0))
            await page.send("Runtime.enable")
            await page.send("Page.enable")
            await page.send("Emulation.setDeviceMetricsOverride",
                            width=width, height=height, deviceScaleFactor=1, mobile=False)
            return page
        except BaseException:
            await session.close()
            process.kill()
            await process.wait()
            raise

    async def close(self) -> None:
        await self.socket.close()
        await self.session.close()
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def __aenter__(self) -> "Page":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def send(self, method: str, **params: Any) -> dict:
        """One command and its result; events arriving meanwhile are read for page errors."""
        command_id = next(self._ids)
        await self.socket.send_json({"id": command_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.socket.receive_json(), STARTUP_TIMEOUT)
            if message.get("id") == command_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note(message)

    def _note(self, event: dict) -> None:
        if event.get("method") == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(event["params"]["exceptionDetails"])[:2000])
        elif event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
            self.errors.append(json.dumps(event["params"]["args"])[:2000])

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll until the expression is truthy; its value."""
        async with asyncio.timeout(timeout):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(0.1)

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data


async def _devtools_port(active_port_file: Path, process: asyncio.subprocess.Process) -> int:
    """Chromium writes the port it picked (``--remote-debugging-port=0``) to this file."""
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with {process.returncode}")
            try:
                return int(active_port_file.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                await asyncio.sleep(0.05)
