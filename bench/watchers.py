"""A watcher worker: many WebSocket clients of the hub's live stream in one process.

Run by bench/hub.py as ``python -m bench.watchers``; it reads one JSON command
per line on stdin and answers one JSON line on stdout:

* ``{"cmd": "connect", "urls": [...], "token": T, "channel": C, "count": N}``:
  open N streams (round robin over the hub URLs), subscribe each to C, and
  answer once every one is live (``{"connected": n, "failed": k}``);
* ``{"cmd": "reset"}``: zero the event counts and the latency histogram;
* ``{"cmd": "stall", "count": N}``: stop reading N of the open streams (a
  client that hangs without closing); the others go on, and ``wait`` no
  longer waits for (nor counts) the stalled ones;
* ``{"cmd": "wait", "expected": E, "timeout": S}``: wait until every open
  stream has received E events since the reset (or S seconds), then answer
  the counts, the time of the last receipt and the latency histogram;
* ``{"cmd": "close"}``: close every stream and exit.

Why not the websockets package or aiohttp's client: on this 2-core machine the
watchers share the CPU with the hub, so they must cost as little as possible
per message. A server-to-client frame is unmasked and never fragmented by the
hub, so a client that only counts events can read frames with a few slices:
about a microsecond per event. It still speaks real WebSocket: an HTTP/1.1
upgrade with a ``Sec-WebSocket-Key`` (the accept hash is checked), masked
client frames, pong for every ping, close for close.

Latency: each event's object carries its POST's send time (see
:mod:`bench.stixgen`); the receipt time is taken once per chunk read from the
socket. Latencies go into a histogram of 100 µs buckets.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from bench.stixgen import MARK

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_EVENT_PREFIX: Final = b'{"op":"event"'
_MARK: Final = MARK.encode()
_DIGITS: Final = 19
BUCKET_NS: Final = 100_000


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (FIN set), masked as RFC 6455 requires of clients."""
    key = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return header + key + masked


class Stats:
    """What one worker's watchers received since the last reset."""

    def __init__(self) -> None:
        self.hist: dict[int, int] = {}
        self.last_ns = 0
        self.untimed = 0

    def reset(self) -> None:
        self.hist = {}
        self.last_ns = 0
        self.untimed = 0


class Watcher(asyncio.Protocol):
    """One stream client: upgrade, subscribe, then count events and time them."""

    def __init__(self, host: str, port: int, token: str, channel: str, stats: Stats) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.channel = channel
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.key = base64.b64encode(os.urandom(16))
        self.live: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.events = 0
        self.closed = False
        self.stalled = False
        self.errors: list[str] = []

    # asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = (
            f"GET /api/v1/stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            if not self._accepted(head):
                self._fail("upgrade refused: " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            self.upgraded = True
            subscribe = orjson.dumps({"op": "subscribe", "channels": [self.channel]})
            self._write(mask_frame(0x1, subscribe))
        now = time.monotonic_ns()
        pos = 0
        size = len(buf)
        stats = self.stats
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            pos = end
            if opcode == 0x1 and buf.startswith(_EVENT_PREFIX, start):
                self.events += 1
                at = buf.find(_MARK, start, end)
                if at >= 0:
                    digits = at + len(_MARK)
                    bucket = (now - int(buf[digits : digits + _DIGITS])) // BUCKET_NS
                    stats.hist[bucket] = stats.hist.get(bucket, 0) + 1
                else:
                    stats.untimed += 1
                stats.last_ns = now
            else:
                self._control(opcode, bytes(buf[start:end]))
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.live.done():
            self.live.set_exception(ConnectionError(f"closed before subscribing: {self.errors or exc}"))

    # helpers ----------------------------------------------------------------------
    def _accepted(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        if b" 101 " not in lines[0] + b" ":
            return False
        want = base64.b64encode(hashlib.sha1(self.key + _GUID).digest())
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        return headers.get(b"sec-websocket-accept") == want

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # ping
            self._write(mask_frame(0xA, payload))
        elif opcode == 0x8:  # close: answer it and let the server end the TCP connection
            self.closed = True
            self._write(mask_frame(0x8, payload[:2]))
        elif opcode == 0x1:
            msg = orjson.loads(payload)
            op = msg.get("op")
            if op == "subscribed" and not self.live.done():
                self.live.set_result(None)
            elif op == "error":
                self.errors.append(str(msg.get("code")))
                if not self.live.done():
                    self.live.set_exception(ConnectionError(f"error {msg.get('code')}: {msg.get('message')}"))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _fail(self, reason: str) -> None:
        self.errors.append(reason)
        if not self.live.done():
            self.live.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def stall(self) -> None:
        """Stop reading: the hub's writes pile up in the socket buffers, then in its queue for us."""
        self.stalled = True
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:  # a small window: the hub's side fills sooner, as with a client on a bad link
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            self.transport.pause_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(mask_frame(0x8, (1000).to_bytes(2, "big")))
            self.transport.close()


class Worker:
    def __init__(self) -> None:
        self.stats = Stats()
        self.watchers: list[Watcher] = []

    async def connect(self, urls: list[str], token: str, channel: str, count: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(50)  # at most this many handshakes at once: the hub's listen backlog is finite
        failures: list[str] = []

        retries = 0

        async def one(i: int) -> None:
            nonlocal retries
            parts = urlsplit(urls[i % len(urls)])
            host, port = parts.hostname or "127.0.0.1", parts.port or 80
            async with gate:
                for attempt in range(3):  # a refused subscription (e.g. Redis busy) is retried, and counted
                    watcher: Watcher | None = None
                    try:
                        _, watcher = await loop.create_connection(
                            lambda: Watcher(host, port, token, channel, self.stats), host, port
                        )
                        await asyncio.wait_for(watcher.live, 30)
                        self.watchers.append(watcher)
                        return
                    except (OSError, ConnectionError, TimeoutError) as exc:
                        if watcher is not None:
                            watcher.close()
                        if attempt == 2:
                            failures.append(f"{type(exc).__name__}: {exc}")
                        else:
                            retries += 1
                            await asyncio.sleep(0.5)

        start = len(self.watchers)
        await asyncio.gather(*(one(start + i) for i in range(count)))
        return {"connected": count - len(failures), "failed": len(failures), "retries": retries, "why": failures[:3]}

    def reset(self) -> dict[str, Any]:
        self.stats.reset()
        for w in self.watchers:
            w.events = 0
        return {"ok": True}

    def stall(self, count: int) -> dict[str, Any]:
        for w in self.watchers[:count]:
            w.stall()
        return {"stalled": min(count, len(self.watchers))}

    async def wait(self, expected: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        active = [w for w in self.watchers if not w.stalled]
        while time.monotonic() < deadline:
            if all(w.events >= expected for w in active if not w.closed):
                break
            await asyncio.sleep(0.01)
        counts = [w.events for w in active]
        return {
            "watchers": len(active),
            "closed": sum(1 for w in active if w.closed),
            "errors": sorted({e for w in self.watchers for e in w.errors}),
            "min": min(counts, default=0),
            "total": sum(counts),
            "last_ns": self.stats.last_ns,
            "untimed": self.stats.untimed,
            "hist": [[k, v] for k, v in self.stats.hist.items()],
        }

    def close(self) -> dict[str, Any]:
        for w in self.watchers:
            w.close()
        return {"ok": True}


async def serve(reply: Callable[[dict[str, Any]], None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()
    while True:
        line = await reader.readline()
        if not line:
            worker.close()
            return
        cmd = orjson.loads(line)
        name = cmd["cmd"]
        if name == "connect":
            reply(await worker.connect(cmd["urls"], cmd["token"], cmd["channel"], cmd["count"]))
        elif name == "reset":
            reply(worker.reset())
        elif name == "stall":
            reply(worker.stall(cmd["count"]))
        elif name == "wait":
            reply(await worker.wait(cmd["expected"], cmd["timeout"]))
        elif name == "close":
            reply(worker.close())
            await asyncio.sleep(0.2)  # let the close frames leave
            return
        else:
            reply({"error": f"unknown command {name!r}"})


def main() -> None:
    out = sys.stdout.buffer

    def reply(data: dict[str, Any]) -> None:
        out.write(orjson.dumps(data) + b"\n")
        out.flush()

    asyncio.run(serve(reply))


if __name__ == "__main__":
    main()
