"""One WebSocket client: its subscriptions, its bounded queue and its writer task.

How this works. Everything sent to the client goes through one bounded
queue that one writer task drains, so a slow client only ever slows itself.
Queued messages are ready-made WebSocket frames (:func:`text_frame`, built
once per event for all recipients); the writer takes whatever has piled up
and hands it to the socket in one write, so a burst of events costs a
recipient one syscall, not one per event, and it waits only while the
socket's own buffer is full (the transport's flow control).

The dispatcher offers live events with ``push`` (never blocking); when the
queue is full the client is told it fell behind and is closed — it resumes
from its last ids. A replay paces itself on the queue (``_put_replay`` waits
while the queue is half full), keeping the other half for live traffic.

Gap-free resume: each subscription has a ``cursor``, the id of the last event
it has passed (delivered or filtered out by policy). Any event at or before
the cursor is dropped, so replay and live can overlap without duplicates.
While a subscription replays, the dispatcher skips it; the replay reads the
stream until it is empty *and* the dispatcher has read no further than the
cursor, then turns live in the same step (no await in between), so no event
can fall between replay and live.

Positions handed to the client (``subscribed``'s ``position``, ``gap``'s
``oldest``, ``slow-consumer``'s ``resume``) are never the id of an event it
may not read: such an id would tell it when something it may not see was
posted. The cursor itself often is one (the newest event of the channel,
or the last one a replay passed over), so it stays inside. What goes out
instead is the id of an event the client was sent, or its own ``since``,
or, for a subscription from now that has sent nothing, a position made of
the Redis clock alone (:meth:`Connection.subscribe` says why resuming from
it loses and repeats nothing).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiohttp.base_protocol import BaseProtocol

from hub.events import id_key
from hub.policy import Principal, may_read
from hub.stream.protocol import error_message, event_message, message, text_frame

if TYPE_CHECKING:
    from hub.stream.fanout import Dispatcher

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
CLOSE_GRACE = 5.0  # seconds a disconnected slow consumer has to read its error before the socket is cut
WRITE_CHUNK = 256 * 1024  # bytes handed to the socket in one write, at most (one frame may exceed it)


@dataclass(slots=True)
class Subscription:
    channel: str
    cursor: str
    live: bool = False
    delivered: str | None = None
    position: tuple[int, int] = field(init=False)  # id_key(cursor), kept with it: compared for every event

    def __post_init__(self) -> None:
        self.position = id_key(self.cursor)

    def passes(self, event_id: str, position: tuple[int, int]) -> bool:
        """Move the cursor to an event if it is new to this subscription; False if already passed."""
        if position <= self.position:
            return False
        self.cursor, self.position = event_id, position
        return True


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


# Frames, how many messages they hold, and the subscription and event id they deliver (if any).
_Item = tuple[bytes, int, Subscription | None, str | None] | _Close


class Connection:
    """A client's live state; created by the handler once the client is authenticated."""

    def __init__(
        self,
        conn_id: str,
        ws: web.WebSocketResponse,
        principal: Principal,
        dispatcher: Dispatcher,
        queue_size: int,
        peer: str,
        transport: asyncio.Transport,
        protocol: BaseProtocol,
    ) -> None:
        self.id = conn_id
        self.ws = ws
        self.principal = principal
        self.dispatcher = dispatcher
        self.peer = peer
        self.transport = transport
        self.protocol = protocol
        self._closer: asyncio.Task[None] | None = None
        self.opened = time.time()
        self.subs: dict[str, Subscription] = {}
        self.queue_size = queue_size
        self._queue: deque[_Item] = deque()
        self._depth = 0  # messages in the queue (an item may carry several)
        self._queued = asyncio.Event()
        self._replay_high = max(1, queue_size // 2)
        self._drained = asyncio.Event()
        self.overflowed = False
        self.sent = 0
        self.writer = asyncio.create_task(self._write(), name=f"ws-writer-{conn_id}")

    @property
    def depth(self) -> int:
        """Messages waiting to be written."""
        return self._depth

    # sending -------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue a control message (never blocks; a full queue means the client fell behind)."""
        self.push(None, None, text_frame(data))

    def push(self, sub: Subscription | None, event_id: str | None, frames: bytes, count: int = 1) -> None:
        """Queue ``count`` ready-made frames (never blocks); ``sub`` and ``event_id`` say what they deliver.

        The dispatcher queues a whole batch of events as one item, so that a
        client's cost per batch does not grow with the number of events.
        """
        if self.overflowed:
            return
        if self._depth + count > self.queue_size:
            self._overflow()
            return
        self._queue.append((frames, count, sub, event_id))
        self._depth += count
        self._queued.set()

    async def _put_replay(self, sub: Subscription, event_id: str, frame: bytes) -> None:
        while self._depth >= self._replay_high and not self.overflowed:
            self._drained.clear()
            await self._drained.wait()
        self.push(sub, event_id, frame)

    def _overflow(self) -> None:
        """The client fell too far behind: drop what is queued, tell it where to resume, close.

        The writer may be stuck waiting for the client to read, so it is
        cancelled and the error and close frames are written behind whatever
        the socket still holds; a client that does not read them within
        ``CLOSE_GRACE`` seconds has its connection aborted.
        """
        self.overflowed = True
        self._queue.clear()
        self._depth = 0
        self._drained.set()
        log.warning("stream %s (%s) fell behind; closing it", self.id, self.principal.id)
        if self.dispatcher.metrics is not None:
            self.dispatcher.metrics.slow_consumers.inc()
        self.writer.cancel()
        resume = {s.channel: s.delivered for s in self.subs.values() if s.delivered}
        text = "too far behind: reconnect and resume from your last delivered ids"
        self._closer = asyncio.create_task(self._close_after(error_message("slow-consumer", text, resume=resume)))

    async def _close_after(self, data: bytes) -> None:
        await asyncio.wait({self.writer})  # cancelled by _overflow
        try:
            async with asyncio.timeout(CLOSE_GRACE):
                await self.ws.send_frame(data, WSMsgType.TEXT)
                await self.ws.close(code=1013, message=b"slow consumer")
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once (the peer is not reading)."""
        self.transport.abort()

    def close_soon(self, code: int, reason: str, data: bytes | None = None) -> None:
        """Send ``data`` (if any) after what is queued, then close with ``code`` (at once if the queue is full)."""
        if self._depth >= self.queue_size:
            self.writer.cancel()
            asyncio.ensure_future(self.ws.close(code=code, message=reason.encode()))
            return
        if data is not None:
            self._queue.append((text_frame(data), 1, None, None))  # past the bound if need be: the client learns why
            self._depth += 1
        self._queue.append(_Close(code, reason))
        self._queued.set()

    async def _write(self) -> None:
        low = max(1, self._replay_high // 2)
        queue = self._queue
        try:
            while True:
                if not queue:
                    self._queued.clear()
                    await self._queued.wait()
                    continue
                if isinstance(queue[0], _Close):
                    close = queue[0]
                    await self.ws.close(code=close.code, message=close.reason.encode())
                    return
                chunk: list[bytes] = []
                delivered: list[tuple[Subscription, str]] = []
                size = sent = 0
                while queue and size < WRITE_CHUNK and not isinstance(queue[0], _Close):
                    frames, count, sub, event_id = queue.popleft()  # type: ignore[misc]
                    chunk.append(frames)
                    size += len(frames)
                    sent += count
                    if sub is not None and event_id is not None:
                        delivered.append((sub, event_id))
                self._depth -= sent
                if self.transport.is_closing():
                    raise ConnectionResetError("the client's connection is closing")
                self.transport.write(b"".join(chunk) if len(chunk) > 1 else chunk[0])
                self.sent += sent
                for sub, event_id in delivered:  # written: where the client resumes from if it is cut off
                    sub.delivered = event_id
                if self._depth <= low:
                    self._drained.set()
                if self.protocol.writing_paused:
                    # The socket's buffer is full: wait until the client reads (aiohttp's own writer does the same).
                    await self.protocol._drain_helper()
        except (ConnectionError, RuntimeError) as exc:  # the peer went away mid-write
            log.debug("connection %s writer stopped: %s", self.id, exc)

    # subscriptions ---------------------------------------------------------------------
    async def subscribe(self, channel: str, since: str | None) -> None:
        """Replay ``channel`` after ``since`` (or from now), then go live; report how it went."""
        store = self.dispatcher.store
        await self.dispatcher.ready.wait()
        if channel in self.subs:
            self.unsubscribe(channel)
        if since is None:
            clock_ms, last = await store.clock_and_last_id(channel)
            start = last or "0-0"
            # The position a client that receives nothing resumes from. Not ``start``: the channel's newest
            # event may be hidden from it. The channel's Redis clock, read at the same instant as ``start``,
            # says nothing about any event, and Redis numbers every event appended afterwards by its clock
            # (and above the newest id), so at or after ``clock_ms-0``: resuming from just before that
            # millisecond misses none of them. Readable events already there in that millisecond (or later
            # ones, if the clock was behind the ids) come again on a resume: they were never sent on this
            # subscription, which started after them, so that is no duplicate either. Only a Redis clock
            # stepped back by more than a millisecond while the client is away could number an event below
            # the position; a client that received any event resumes from that event instead.
            origin = f"{max(clock_ms - 1, 0)}-0"
        else:
            start = origin = since
        sub = Subscription(channel, start)
        self.subs[channel] = sub
        gap = False
        if since is not None:
            trimmed = await store.trimmed_to(channel)
            gap = trimmed is not None and id_key(since) < id_key(trimmed)
        replayed = 0
        last_sent: str | None = None
        audit = self.dispatcher.audit
        while self.subs.get(channel) is sub and not self.overflowed:
            batch = await store.read(channel, sub.cursor, REPLAY_BATCH)
            if self.subs.get(channel) is not sub:
                return
            sent: list[str] = []
            for event in batch:
                if not sub.passes(event.id, id_key(event.id)):
                    continue
                if may_read(self.principal, event):
                    if gap:  # told right before the first event replayed: the oldest kept may be hidden
                        self.send(message("gap", channel=channel, requested=since, oldest=event.id))
                        gap = False
                    await self._put_replay(sub, event.id, text_frame(event_message(event.to_json())))
                    sent.append(event.id)
            replayed += len(sent)
            last_sent = sent[-1] if sent else last_sent
            if audit is not None and batch:
                withheld = len(batch) - len(sent)
                audit.record("replay", self.principal.id, channel=channel, events=sent, withheld=withheld)
            if batch:
                continue
            if id_key(self.dispatcher.cursor(channel)) <= sub.position:
                sub.live = True  # same step as the check: nothing can be dispatched in between
                self.dispatcher.add(self, channel)
                break
        if sub.live:
            if gap:  # nothing the client may read was kept after ``since``
                self.send(message("gap", channel=channel, requested=since, oldest=None))
            # ``position``: a client that has seen nothing yet resumes from it. Not ``sub.cursor``, which
            # may be an event hidden from the client: the last event sent, else ``since`` or ``origin``.
            # Everything between it and the cursor was sent or is hidden, so resuming from it is exact.
            position = last_sent or origin
            self.send(message("subscribed", channel=channel, resumed_from=since, replayed=replayed, position=position))

    def unsubscribe(self, channel: str) -> bool:
        sub = self.subs.pop(channel, None)
        if sub is None:
            return False
        self.dispatcher.remove(self, channel)
        return True

    def drop(self) -> None:
        """Forget every subscription and stop writing (the socket is gone)."""
        for channel in list(self.subs):
            self.unsubscribe(channel)
        self.writer.cancel()
        if self._closer is not None:
            self._closer.cancel()

    def describe(self) -> dict[str, Any]:
        """What an admin sees of this connection."""
        channels = {}
        for s in self.subs.values():
            head = self.dispatcher.cursor(s.channel)
            channels[s.channel] = {
                "live": s.live,
                "last_delivered": s.delivered,
                "lag_ms": max(0, id_key(head)[0] - id_key(s.delivered or s.cursor)[0]) if s.live else None,
            }
        return {
            "id": self.id,
            "stakeholder": self.principal.id,
            "peer": self.peer,
            "opened_seconds_ago": round(time.time() - self.opened, 1),
            "queue_depth": self.depth,
            "queue_size": self.queue_size,
            "sent": self.sent,
            "channels": channels,
        }
