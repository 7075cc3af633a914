"""The live-stream client: receive a hub's events over WebSocket, resuming after any drop.

:class:`StreamClient` keeps the id of the last event it yielded per channel;
after a dropped connection (or a slow-consumer disconnect) it reconnects with
backoff and subscribes with ``since`` set to those ids, so the caller sees
every event once, in order, with no gap. ``crisis-hub watch`` is built on it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger(__name__)

FATAL_CODES = frozenset({"unauthorized", "forbidden", "unknown-channel", "bad-message"})


class StreamError(Exception):
    """The hub refused the stream for a reason reconnecting cannot fix (bad token, forbidden channel)."""


def stream_url(url: str) -> str:
    """``http://host:port`` → ``ws://host:port/api/v1/stream`` (https → wss)."""
    base = url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + "/api/v1/stream"


class StreamClient:
    """Events of ``channels`` as an async iterator: ``async for event in client.events(): …``.

    ``url`` may list several hub processes: each reconnect tries the next.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        token: str,
        channels: Sequence[str],
        since: Mapping[str, str] | None = None,
        *,
        reconnect: bool = True,
        max_delay: float = 10.0,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        # Several hub processes behind no load balancer: try them in turn on each reconnect.
        self.urls = [stream_url(u) for u in ([url] if isinstance(url, str) else url)]
        self._next = 0
        self.token = token
        self.channels = list(channels)
        self.last_ids: dict[str, str] = dict(since or {})
        self.reconnect = reconnect
        self.max_delay = max_delay
        self.on_message = on_message
        self.connections = 0

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        delay = 0.2
        while True:
            try:
                async for event in self._session():
                    delay = 0.2
                    yield event
                if not self.reconnect:
                    return
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    raise StreamError(f"the hub refused the stream: HTTP {exc.response.status_code}") from None
                if not self.reconnect:
                    raise
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                if not self.reconnect:
                    raise
                log.info("stream dropped (%s); reconnecting in %.1fs", exc, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.max_delay)

    async def _session(self) -> AsyncIterator[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"}
        url = self.urls[self._next % len(self.urls)]
        self._next += 1
        async with connect(url, additional_headers=headers, compression=None, max_size=None) as ws:
            self.connections += 1
            since = {c: self.last_ids[c] for c in self.channels if c in self.last_ids}
            await ws.send(orjson.dumps({"op": "subscribe", "channels": self.channels, "since": since}).decode())
            async for raw in ws:
                msg = orjson.loads(raw)
                op = msg.get("op")
                if op == "event":
                    event = msg["event"]
                    self.last_ids[event["channel"]] = event["id"]
                    yield event
                    continue
                if op == "subscribed":
                    # Nothing seen yet on this channel: a reconnect must still resume from here, not from "now".
                    self.last_ids.setdefault(msg["channel"], msg["position"])
                if self.on_message is not None:
                    self.on_message(msg)
                if op == "error" and msg.get("code") in FATAL_CODES:
                    raise StreamError(f"{msg.get('code')}: {msg.get('message')}")
