"""Driving the situation room in a real browser: Debian's Chromium, headless, through Playwright.

Playwright's own browser downloads are never used (``playwright install`` is not run): the
tests launch ``/usr/bin/chromium``, which ``.ci/run`` installs from Debian when missing.
Every page opened here records what would betray a broken or leaky page — console errors,
uncaught exceptions, any request to another origin — and the frames its WebSocket received,
so a test can check what the hub actually sent, not only what the page shows.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    ViewportSize,
    WebSocket,
    expect,
)

from tests.conftest import Hub
from tests.timing import WAIT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
WAIT_MS = round(WAIT * 1000)  # an upper bound for "shows up", never a speed requirement
LIVE = re.compile(r"^(live|resumed)$")

expect.set_options(timeout=WAIT_MS)


@dataclass
class Room:
    """One browser tab on the situation room, and what it did."""

    context: BrowserContext
    page: Page
    origin: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)

    def record(self) -> None:
        """From now on, keep what the page logs, what it requests and what its WebSocket receives."""
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        self.page.on("request", self._request)
        self.page.on("websocket", self._websocket)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console_errors.append(f"{message.type}: {message.text}")

    def _check_url(self, url: str) -> None:
        same_origin = (self.origin + "/", "ws" + self.origin.removeprefix("http") + "/")
        if not url.startswith(same_origin):
            self.foreign_requests.append(url)

    def _request(self, request: Request) -> None:
        self._check_url(request.url)

    def _websocket(self, ws: WebSocket) -> None:
        self._check_url(ws.url)
        ws.on("framereceived", lambda payload: self.frames.append(payload if isinstance(payload, str) else ""))

    def assert_clean(self, allowed: Iterable[str] = ()) -> None:
        """No request left the hub's origin; no console error or uncaught exception but ``allowed`` ones."""
        assert self.foreign_requests == [], self.foreign_requests
        unexpected = [e for e in self.console_errors if not any(a in e for a in allowed)]
        assert unexpected == [], unexpected

    async def sign_in(self, token: str, *, live: bool = True) -> None:
        await self.page.fill("#token", token)
        await self.page.click("#signin-submit")
        if live:
            await self.wait_live()

    async def sign_in_person(self, person: str, password: str, code: str = "", *, live: bool = True) -> None:
        """Sign in with the password form, as a committee member does."""
        await self.page.fill("#person", person)
        await self.page.fill("#password", password)
        if code:
            await self.page.fill("#code", code)
        await self.page.click("#password-submit")
        if live:
            await self.wait_live()

    async def wait_live(self) -> None:
        await expect(self.page.locator("#connection")).to_have_attribute("data-state", LIVE)

    def event_row(self, stix_id: str) -> Locator:
        return self.page.locator(f'#timeline li[data-stix-id="{stix_id}"]')


async def open_room(
    browser: Browser,
    hub: Hub,
    who: str | None = None,
    origin: str | None = None,
    viewport: ViewportSize | None = None,
    prepare: Callable[[Page], Awaitable[None]] | None = None,
    locale: str | None = None,
    timezone_id: str | None = None,
) -> Room:
    """A fresh browser context (its own sessionStorage) on the hub's page, signed in as ``who``.

    ``origin``: where the browser finds the hub, when not at the hub's own address (a proxy in between).
    ``viewport``: the screen, 1280×800 unless given. ``prepare``: what to do to the page before it loads
    (install a controllable clock, say). ``locale`` and ``timezone_id``: the browser's language and time
    zone ("es-MX", "Asia/Tokyo"), Chromium's own (en-US, the machine's zone) unless given.
    """
    origin = origin or str(hub.client.make_url("")).rstrip("/")
    context = await browser.new_context(viewport=viewport or VIEWPORT, locale=locale, timezone_id=timezone_id)
    page = await context.new_page()
    if prepare is not None:
        await prepare(page)
    room = Room(context, page, origin)
    room.record()
    await page.goto(origin + "/")
    if who is not None:
        await room.sign_in(hub.tokens[who])
    return room
