"""A small client for ``/__mock/`` used by the control-plane tests."""

from __future__ import annotations

import aiohttp


class Control:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, key: str | None = "test-key",
                 token: str | None = None) -> None:
        self.session, self.base_url, self.key, self.token = session, base_url, key, token

    def as_key(self, key: str | None) -> "Control":
        return Control(self.session, self.base_url, key, self.token)

    async def call(self, method: str, path: str, body=None, params=None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if self.token:
            headers["X-Vidmock-Control-Token"] = self.token
        async with self.session.request(method, f"{self.base_url}/__mock/{path}", json=body, params=params,
                                        headers=headers) as response:
            return response.status, await response.json()

    async def ok(self, method: str, path: str, body=None, params=None) -> dict:
        status, reply = await self.call(method, path, body, params)
        assert status in (200, 201), (status, reply)
        return reply

    async def fault(self, **spec) -> dict:
        return await self.ok("POST", "faults", spec)

    async def journal(self, **params) -> list[dict]:
        return (await self.ok("GET", "journal", params={k: str(v) for k, v in params.items()}))["entries"]
