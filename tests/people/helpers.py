"""A person's browser, as the hub sees it: a session cookie, its anti-CSRF token, and nothing else."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import orjson

from hub import credentials
from tests.conftest import Hub

PASSWORD = "correct horse battery staple"
JSON = {"Content-Type": "application/json"}


@dataclass
class Browser:
    """Requests to one hub with only the cookies this browser was given (no shared cookie jar)."""

    hub: Hub
    cookie: str = ""
    csrf: str = ""
    set_cookies: list[SimpleCookie] = field(default_factory=list)

    async def call(
        self, method: str, path: str, body: Any = None, *, csrf: bool = True, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if self.cookie:
            sent["Cookie"] = f"chub_session={self.cookie}"
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.request(method, self.hub.client.make_url(path), data=data, headers=sent) as response:
                for header in response.headers.getall("Set-Cookie", ()):
                    cookie: SimpleCookie = SimpleCookie()
                    cookie.load(header)
                    self.set_cookies.append(cookie)
                    if "chub_session" in cookie:
                        self.cookie = cookie["chub_session"].value
                raw = await response.read()
                try:
                    return response.status, orjson.loads(raw) if raw else None
                except orjson.JSONDecodeError:
                    return response.status, raw.decode()

    async def sign_in(self, person: str, password: str = PASSWORD, code: str = "") -> tuple[int, Any]:
        status, body = await self.call(
            "POST", "/api/v1/session", {"person": person, "password": password, "code": code}
        )
        if status == 200:
            self.csrf = body["csrf"]
        return status, body


async def signed_in(hub: Hub, person: str, *, password: str = PASSWORD) -> Browser:
    """A browser where ``person`` (whose password is set to ``password`` now) has signed in, code and all."""
    secret = await hub.set_password(person, password)
    browser = Browser(hub)
    code = credentials.code_at(secret, time.time()) if secret else ""
    status, body = await browser.sign_in(person, password, code)
    assert status == 200, body
    return browser
