"""One WebSocket client: its subscriptions, its bounded queue and its writer task.

How this works. Everything sent to the client goes through one bounded
queue that one writer task drains, so a slow client only ever slows itself.
The dispatcher offers live events with ``offer`` (never blocking); when the
queue is full the client is told it fell behind and is closed — it resumes
from its last ids. A replay paces itself on the queue (``put_replay`` waits
while the queue is half full), keeping the other half for live traffic.

Gap-free resume: each subscription has a ``cursor``, the id of the last event
it has passed (delivered or filtered out by policy). Any event at or before
the cursor is dropped, so replay and live can overlap without duplicates.
While a subscription replays, the dispatcher skips it; the replay reads the
stream until it is empty *and* the dispatcher has read no further than the
cursor, then turns live in the same step (no await in between), so no event
can fall between replay and live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from hub.events import Event, id_key
from hub.policy import Decision, Principal, may_read
from hub.stream.protocol import error_message, event_message, message

if TYPE_CHECKING:
    from hub.stream.fanout import Dispatcher

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
CLOSE_GRACE = 5.0  # seconds a disconnected slow consumer has to read its error before the socket is cut


@dataclass(slots=True)
class Subscription:
    channel: str
    cursor: str
    live: bool = False
    delivered: str | None = None
    delivered_at: float = 0.0


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Connection:
    """A client's live state; created by the handler once the client is authenticated."""

    def __init__(
        self,
        conn_id: str,
        ws: web.WebSocketResponse,
        principal: Principal,
        dispatcher: Dispatcher,
        queue_size: int,
        peer: str = "",
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.id = conn_id
        self.ws = ws
        self.principal = principal
        self.dispatcher = dispatcher
        self.peer = peer
        self.transport = transport
        self._closer: asyncio.Task[None] | None = None
        self.opened = time.time()
        self.subs: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[tuple[Subscription | None, str | None, bytes] | _Close] = asyncio.Queue(queue_size)
        self._replay_high = max(1, queue_size // 2)
        self._drained = asyncio.Event()
        self.overflowed = False
        self.sent = 0
        self.writer = asyncio.create_task(self._write(), name=f"ws-writer-{conn_id}")

    # sending -------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue a control message (never blocks; a full queue means the client fell behind)."""
        self._put(None, None, data)

    def offer(self, sub: Subscription, event: Event, data: bytes) -> Decision | None:
        """Pass a live event to this client if it is new to it and the policy allows; the decision, if one was made."""
        if id_key(event.id) <= id_key(sub.cursor):
            return None
        sub.cursor = event.id
        decision = may_read(self.principal, event)
        if decision:
            self._put(sub, event.id, data)
        return decision

    def _put(self, sub: Subscription | None, event_id: str | None, data: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((sub, event_id, data))
        except asyncio.QueueFull:
            self._overflow()

    async def _put_replay(self, sub: Subscription, event_id: str, data: bytes) -> None:
        while self.queue.qsize() >= self._replay_high and not self.overflowed:
            self._drained.clear()
            await self._drained.wait()
        self._put(sub, event_id, data)

    def _overflow(self) -> None:
        """The client fell too far behind: drop what is queued, tell it where to resume, close.

        The writer may be stuck waiting for the client to read, so it is
        cancelled and the error and close frames are written behind whatever
        the socket still holds; a client that does not read them within
        ``CLOSE_GRACE`` seconds has its connection aborted.
        """
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
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
        if self.transport is not None:
            self.transport.abort()

    def close_soon(self, code: int, reason: str, data: bytes | None = None) -> None:
        """Send ``data`` (if any) after what is queued, then close with ``code``."""
        if data is not None:
            try:
                self.queue.put_nowait((None, None, data))
            except asyncio.QueueFull:
                pass
        try:
            self.queue.put_nowait(_Close(code, reason))
        except asyncio.QueueFull:
            self.writer.cancel()
            asyncio.ensure_future(self.ws.close(code=code, message=reason.encode()))

    async def _write(self) -> None:
        low = max(1, self._replay_high // 2)
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, _Close):
                    await self.ws.close(code=item.code, message=item.reason.encode())
                    return
                sub, event_id, data = item
                await self.ws.send_frame(data, WSMsgType.TEXT)
                self.sent += 1
                if sub is not None and event_id is not None:
                    sub.delivered = event_id
                    sub.delivered_at = time.time()
                if self.queue.qsize() <= low:
                    self._drained.set()
        except (ConnectionError, RuntimeError) as exc:  # the peer went away mid-write
            log.debug("connection %s writer stopped: %s", self.id, exc)

    # subscriptions ---------------------------------------------------------------------
    async def subscribe(self, channel: str, since: str | None) -> None:
        """Replay ``channel`` after ``since`` (or from now), then go live; report how it went."""
        store = self.dispatcher.store
        await self.dispatcher.ready.wait()
        if channel in self.subs:
            self.unsubscribe(channel)
        start = since if since is not None else (await store.last_id(channel) or "0-0")
        sub = Subscription(channel, start)
        self.subs[channel] = sub
        if since is not None:
            trimmed = await store.trimmed_to(channel)
            if trimmed is not None and id_key(since) < id_key(trimmed):
                oldest = await store.first_id(channel)
                self.send(message("gap", channel=channel, requested=since, oldest=oldest))
        replayed = 0
        audit = self.dispatcher.audit
        while self.subs.get(channel) is sub and not self.overflowed:
            batch = await store.read(channel, sub.cursor, REPLAY_BATCH)
            if self.subs.get(channel) is not sub:
                return
            sent: list[str] = []
            for event in batch:
                if id_key(event.id) <= id_key(sub.cursor):
                    continue
                sub.cursor = event.id
                if may_read(self.principal, event):
                    await self._put_replay(sub, event.id, event_message(event.to_json()))
                    sent.append(event.id)
            replayed += len(sent)
            if audit is not None and batch:
                withheld = len(batch) - len(sent)
                audit.record("replay", self.principal.id, channel=channel, events=sent, withheld=withheld)
            if batch:
                continue
            if id_key(self.dispatcher.cursor(channel)) <= id_key(sub.cursor):
                sub.live = True  # same step as the check: nothing can be dispatched in between
                self.dispatcher.add(self, channel)
                break
        if sub.live:
            # ``position``: where live delivery starts; a client that has seen nothing yet resumes from it.
            self.send(
                message("subscribed", channel=channel, resumed_from=since, replayed=replayed, position=sub.cursor)
            )

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
            "queue_depth": self.queue.qsize(),
            "queue_size": self.queue.maxsize,
            "sent": self.sent,
            "channels": channels,
        }
