"""Stream test clients: an aiohttp WebSocket that checks every message, and a raw one that can stop reading."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any

import aiohttp
import orjson

from tests.conftest import Hub
from tests.schemas import conforms
from tests.stixgen import bundle
from tests.timing import WAIT

STIX = {"Content-Type": "application/stix+json;version=2.1"}


class Ws:
    """A test client of the stream: every message it receives is checked against the schema."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **message: Any) -> None:
        conforms("stream-client", message)
        await self.ws.send_str(orjson.dumps(message).decode())

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            # The code the hub's close frame carried: the socket's own may say 1006 when the hub dropped the
            # connection before this client, reading late, could answer the close.
            code = msg.data if msg.type == aiohttp.WSMsgType.CLOSE else self.ws.close_code
            return {"op": "_closed", "type": msg.type, "code": code}
        message: dict[str, Any] = conforms("stream-server", orjson.loads(msg.data))
        return message

    async def until(self, op: str, timeout: float = WAIT, **fields: Any) -> dict[str, Any]:
        """Receive until a message with this op (and fields) arrives; returns it."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv()
                if msg["op"] == "_closed" and op != "_closed":
                    raise AssertionError(f"closed while waiting for {op}")
                if msg["op"] == op and all(msg.get(k) == v for k, v in fields.items()):
                    return msg

    async def events_until(self, marker_id: str, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Every event received up to and including the one carrying STIX id ``marker_id``."""
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv()
                if msg["op"] == "_closed":
                    raise AssertionError("closed")
                if msg["op"] == "event":
                    events.append(msg["event"])
                    if msg["event"]["object"]["id"] == marker_id:
                        return events

    async def subscribe(self, *channels: str, since: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Subscribe and wait for every channel's ``subscribed``, in whatever order the replays finish."""
        await self.send(op="subscribe", channels=list(channels), since=since or {})
        done: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(WAIT):
            while len(done) < len(channels):
                msg = await self.recv()
                if msg["op"] == "_closed":
                    raise AssertionError(f"closed while subscribing to {channels}")
                if msg["op"] == "subscribed" and msg["channel"] in channels:
                    done[msg["channel"]] = msg
        return [done[c] for c in channels]


class RawWs:
    """A stream client on a plain socket, for a test to stop reading (a client that hangs without closing).

    Its reader holds at most a few KB: while the test does not read, the socket's buffers fill up and the
    hub's writes to it wait, as they would for a real client that stopped reading.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, hub: Hub, who: str, window: int | None = None) -> RawWs:
        """``window``: the socket's receive buffer in bytes (a client on a slow link), else the system's."""
        url = hub.client.make_url("/api/v1/stream")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if window is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)  # before connecting: it sets the window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (url.host, url.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {url.path} HTTP/1.1",
            f"Host: {url.host}:{url.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Authorization: {hub.auth(who)['Authorization']}",
        ]
        writer.write("\r\n".join([*lines, "", ""]).encode())
        async with asyncio.timeout(WAIT):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send(self, **message: Any) -> None:
        conforms("stream-client", message)
        payload = orjson.dumps(message)
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes((0x81, 0x80 | len(payload))) + mask + masked)
        await self.writer.drain()

    async def recv(self) -> dict[str, Any]:
        """The next message (a close frame as ``{"op": "_closed", "code": …}``); pings are left unanswered."""
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                return {"op": "_closed", "code": int.from_bytes(payload[:2], "big")}
            if opcode == 0x1:
                decoded: dict[str, Any] = conforms("stream-server", orjson.loads(payload))
                return decoded

    async def until(self, op: str, timeout: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv()
                if msg["op"] == op:
                    return msg
                if msg["op"] == "_closed":
                    raise AssertionError(f"closed while waiting for {op}")

    def close(self) -> None:
        self.writer.close()


async def open_ws(hub: Hub, who: str | None, **kwargs: Any) -> Ws:
    headers = hub.auth(who) if who else {}
    ws = await hub.client.ws_connect("/api/v1/stream", headers=headers, **kwargs)
    client = Ws(ws)
    if who:
        welcome = await client.until("welcome")
        assert welcome["stakeholder"] == who
    return client


async def post(hub: Hub, who: str, channel: str, *objects: dict[str, Any]) -> dict[str, Any]:
    async with hub.client.post(
        f"/api/v1/channels/{channel}/objects", data=orjson.dumps(bundle(*objects)), headers={**STIX, **hub.auth(who)}
    ) as response:
        assert response.status in (200, 201), await response.text()
        result: dict[str, Any] = await response.json()
        return result
