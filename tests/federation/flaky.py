"""A partner that fails for a while: a real aiohttp server in front of a real TAXII server.

Its first ``errors`` requests get a 500; the next ``stalls`` are forwarded to the
upstream, which handles them, but answered only after ``stall`` seconds — later
than the connector waits, so the connector sees a timeout for a request the
partner did carry out (the worst case for duplicates). After that it proxies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

_PASSED_HEADERS = ("Content-Type", "X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last")


class FlakyPartner:
    def __init__(self, upstream: str, errors: int, stalls: int, stall: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.errors, self.stalls, self.stall = errors, stalls, stall
        self.requests = 0
        self.failed = 0
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.errors:
            self.errors -= 1
            self.failed += 1
            return web.json_response({"title": "boom", "http_status": "500"}, status=500)
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body or None, headers=headers
        ) as answer:
            payload = await answer.read()
            passed = {k: answer.headers[k] for k in _PASSED_HEADERS if k in answer.headers}
            status = answer.status
        if self.stalls:
            self.stalls -= 1
            self.failed += 1
            await asyncio.sleep(self.stall)  # the upstream has done it; the client has given up waiting
        return web.Response(body=payload, status=status, headers=passed)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on a loopback port; yields the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        server = TestServer(app, host="127.0.0.1")
        async with aiohttp.ClientSession() as session:
            self._session = session
            await server.start_server()
            try:
                yield str(server.make_url("")).rstrip("/")
            finally:
                await server.close()
