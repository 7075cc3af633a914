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
import socket
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

log = logging.getLogger(__name__)

FATAL_CODES = frozenset({"unauthorized", "forbidden", "unknown-channel", "bad-message"})


class StreamError(Exception):
    """The hub refused the stream for a reason reconnecting cannot fix (bad token, forbidden channel)."""


@dataclass(frozen=True)
class StreamState:
    """A change of the connection, for a caller that shows it: ``connecting`` to ``url``,
    ``connected``, or ``disconnected`` for ``reason``, with the next try in ``retry_in`` seconds."""

    state: Literal["connecting", "connected", "disconnected"]
    url: str
    reason: str = ""
    retry_in: float = 0.0


def refusal(status: int, body: bytes | bytearray) -> str:
    """What a refused handshake says, worded as the HTTP client words it: ``401 Unauthorized: unknown token``."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict) and data.get("description"):
        return f"{status} {data.get('title', 'Error')}: {data['description']}"
    return f"the hub refused the stream: HTTP {status}"


def drop_reason(exc: BaseException) -> str:
    """Why a connection failed or dropped, in a few words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionClosed):
        return "the connection was lost"
    if isinstance(exc, InvalidStatus):
        return f"the hub answered HTTP {exc.response.status_code}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


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
        on_state: Callable[[StreamState], None] | None = None,
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
        self.on_state = on_state
        self.connections = 0

    async def events(self) -> AsyncGenerator[dict[str, Any]]:
        """Every event of the channels, in order; reconnects until a :class:`StreamError` (or forever)."""
        delay = 0.2
        while True:
            url = self.urls[self._next % len(self.urls)]
            self._next += 1
            self._state(StreamState("connecting", url))
            try:
                # aclosing: a caller that stops (a closed pipe, Ctrl-C) closes the connection at once.
                async with aclosing(self._session(url)) as session:
                    async for event in session:
                        delay = 0.2
                        yield event
                if not self.reconnect:
                    return
                reason = "the hub closed the stream"
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    raise StreamError(refusal(status, exc.response.body)) from None
                if status == 404 and not self.connections:
                    raise StreamError(f"no live stream at {url} (HTTP 404): is --url the hub's address?") from None
                if not self.reconnect:
                    raise
                reason = drop_reason(exc)
            except InvalidURI:
                raise StreamError(f"{url} is not a URL the stream can use: give --url http://HOST:PORT") from None
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                if not self.reconnect:
                    raise
                reason = drop_reason(exc)
            wait = delay * (0.5 + random.random())
            log.info("stream from %s dropped (%s); reconnecting in %.1fs", url, reason, wait)
            self._state(StreamState("disconnected", url, reason, wait))
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.max_delay)

    def _state(self, state: StreamState) -> None:
        if self.on_state is not None:
            self.on_state(state)

    async def _session(self, url: str) -> AsyncGenerator[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(url, additional_headers=headers, compression=None, max_size=None) as ws:
            self.connections += 1
            self._state(StreamState("connected", url))
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
                if op == "error" and msg.get("code") in FATAL_CODES:
                    # Said once, by the exception: not also to on_message.
                    raise StreamError(f"{msg.get('code')}: {msg.get('message')}")
                if self.on_message is not None:
                    self.on_message(msg)
