"""One WebSocket client: its bounded queue, its writer task, and the replays of its subscriptions.

How this works. Everything sent to the client goes through one bounded
queue that one writer task drains, so a slow client only ever slows itself.
Queued messages are ready-made WebSocket frames (:func:`text_frame`, built
once per event for all recipients); the writer takes whatever has piled up
and hands it to the response's stream writer in one write, so a burst of
events costs a recipient one syscall, not one per event, and it waits only
while the socket's own buffer is full (the transport's flow control, through
the writer's public ``drain``).

The dispatcher offers live events with ``push`` (never blocking). A client
past its queue's bound is cut off — told it fell behind and closed; it
resumes from its last ids — only when it has stopped: its socket has taken
nothing for ``STALL_SECONDS`` (:meth:`Connection.cut_if_stalled`), or it is
``SLACK`` times past the bound (memory stays bounded whatever happens). A
client that reads, but no faster than a busy machine lets it, is not cut:
when most streams are behind, the hub holds its producers instead
(:mod:`hub.admission`), measuring each stream's queue
(:meth:`Connection.load`) until they catch up. A replay paces itself on the queue
(``_put_replay`` waits while the queue is half full), keeping the other half
for live traffic.

What to send when — replay, gap, going live, positions — is decided by
:mod:`hub.stream.session` (pure); this module reads the store and moves bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from hub.errors import HubError
from hub.events import id_key
from hub.policy import Principal
from hub.stream.protocol import text_frame
from hub.stream.session import Action, Close, Drop, Send, Session, StartReplay, Subscription

if TYPE_CHECKING:
    from hub.stream.fanout import Dispatcher

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
CLOSE_GRACE = 5.0  # seconds a disconnected slow consumer has to read its error before the socket is cut
WRITE_CHUNK = 256 * 1024  # bytes handed to the socket in one write, at most (one frame may exceed it)
STALL_SECONDS = 10.0  # a socket that took nothing for this long, queue past its bound: the client stopped reading
SLACK = 4  # times the queue's bound a reading client may hold while the hub slows its producers


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


# Frames, how many messages they hold, the subscription and event id they deliver (if any), when queued.
_Item = tuple[bytes, int, Subscription | None, str | None, float] | _Close


class Connection:
    """A client's live state; created by the handler once its session is open.

    ``out`` is the response's stream writer (what ``prepare`` returned): the
    ready-made frames are written through it, and its ``drain`` waits while
    the socket's buffer is full. ``transport`` is only ever aborted.
    """

    def __init__(
        self,
        session: Session,
        ws: web.WebSocketResponse,
        dispatcher: Dispatcher,
        queue_size: int,
        peer: str,
        out: AbstractStreamWriter,
        transport: asyncio.Transport,
    ) -> None:
        assert session.principal is not None, "a connection is made for an open session"
        self.session = session
        self.id = session.id
        self.principal: Principal = session.principal
        self.subs: dict[str, Subscription] = session.subscriptions  # the same dict: the session keeps it
        self.ws = ws
        self.dispatcher = dispatcher
        self.peer = peer
        self._out = out
        self._transport = transport
        self._closer: asyncio.Task[None] | None = None
        self.opened = time.time()
        self.queue_size = queue_size
        self._queue: deque[_Item] = deque()
        self._depth = 0  # messages in the queue (an item may carry several)
        self._queued = asyncio.Event()
        self._replay_high = max(1, queue_size // 2)
        self._drained = asyncio.Event()
        # The write under way, if any: when its oldest event was queued, and when the socket last took some of it.
        self._writing_queued: float | None = None
        self._progress_at = 0.0
        self._unsent = 0  # the transport's unsent bytes when last looked at
        self.closing = False
        self.overflowed = False
        self.sent = 0
        self.replays: dict[str, asyncio.Task[None]] = {}
        self.writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.id}")

    @property
    def depth(self) -> int:
        """Messages waiting to be written."""
        return self._depth

    def apply(self, actions: Iterable[Action]) -> None:
        """Carry out what the session decided."""
        for action in actions:
            if isinstance(action, Send):
                self.send(action.data)
            elif isinstance(action, Close):
                self.close_soon(action)
            elif isinstance(action, StartReplay):
                # Subscribing again replaces the previous replay: floods cost one replay per channel.
                previous = self.replays.pop(action.channel, None)
                if previous is not None:
                    previous.cancel()
                self.replays[action.channel] = asyncio.create_task(self._replay(action.channel, action.since))
            elif isinstance(action, Drop):
                self.dispatcher.remove(self, action.subscription.channel)
            # CheckToken: only ever asked before the connection exists

    # sending -------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue a control message (never blocks; a full queue means the client fell behind)."""
        self.push(None, None, text_frame(data))

    def push(
        self, sub: Subscription | None, event_id: str | None, frames: bytes, count: int = 1, now: float | None = None
    ) -> None:
        """Queue ``count`` ready-made frames (never blocks); ``sub`` and ``event_id`` say what they deliver.

        The dispatcher queues a whole batch of events as one item, so that a
        client's cost per batch does not grow with the number of events;
        ``now`` (``time.monotonic()``) is when, given once for all its clients.
        """
        if self.overflowed or self.closing:
            return
        depth = self._depth + count
        if depth > self.queue_size * SLACK:  # the hard bound, whatever the others do
            self._overflow()
            return
        self._queue.append((frames, count, sub, event_id, time.monotonic() if now is None else now))
        self._depth = depth
        self._queued.set()

    def watch_progress(self, now: float) -> None:
        """Note whether the socket took some of what is written; called a few times a second.

        The socket made progress when the transport holds fewer unsent bytes than when last looked at.
        """
        unsent = self._transport.get_write_buffer_size()
        if unsent < self._unsent:
            self._progress_at = now
        self._unsent = unsent

    def cut_if_stalled(self, now: float) -> None:
        """Cut the client off if it stopped reading (:meth:`stalled`) with its queue past the bound."""
        if not self.overflowed and self._depth > self.queue_size and self.stalled(now):
            self._overflow()

    def stalled(self, now: float) -> bool:
        """Whether a write has waited ``STALL_SECONDS`` with the socket taking nothing: the client stopped reading."""
        return self._writing_queued is not None and now - self._progress_at >= STALL_SECONDS

    def load(self, now: float) -> tuple[float, float] | None:
        """How far behind this stream is, for :mod:`hub.admission`: its queue's fill and oldest event's age.

        None when it does not speak for the live streams: it has no live subscription, replays
        (its queue is full of history by design), has stalled (it is cut, not obeyed) or is cut off.
        A stream that has taken nothing for less than ``STALL_SECONDS`` speaks: if most have, the
        machine is behind, not the clients, and the producers are held while they catch up.
        """
        if self.overflowed or self.stalled(now) or not any(s.live for s in self.subs.values()):
            return None
        if any(not replay.done() for replay in self.replays.values()):
            return None
        queue = self._queue
        oldest = self._writing_queued  # what the socket has not taken yet is behind too
        if oldest is None and queue and not isinstance(queue[0], _Close):
            oldest = queue[0][4]
        return self._depth / self.queue_size, (now - oldest if oldest is not None else 0.0)

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
        now = time.monotonic()
        log.warning(
            "stream %s (%s) fell behind (%d messages queued for a bound of %d, %s); closing it",
            self.id, self.principal.id, self._depth, self.queue_size,
            f"its socket took nothing for {now - self._progress_at:.1f}s" if self.stalled(now) else "its socket reads",
        )  # fmt: skip
        self.overflowed = True
        self._queue.clear()
        self._depth = 0
        self._drained.set()
        if self.dispatcher.metrics is not None:
            self.dispatcher.metrics.slow_consumers.inc()
        self.writer.cancel()
        self._closer = asyncio.create_task(self._close_after(self.session.fell_behind()))

    async def _close_after(self, close: Close) -> None:
        await asyncio.wait({self.writer})  # cancelled by _overflow
        try:
            async with asyncio.timeout(CLOSE_GRACE):
                if close.message is not None:
                    await self.ws.send_frame(close.message, WSMsgType.TEXT)
                await self.ws.close(code=close.code, message=close.reason.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once (the peer is not reading)."""
        self._transport.abort()

    def close_soon(self, close: Close) -> None:
        """Send ``close``'s message (if any) after what is queued, then close (at once if the client is far behind)."""
        self.closing = True  # nothing more is queued behind the close
        if self._depth >= self.queue_size * SLACK or self.stalled(time.monotonic()):
            self.writer.cancel()
            asyncio.ensure_future(self.ws.close(code=close.code, message=close.reason.encode()))
            return
        if close.message is not None:
            # Past the bound if need be: the client learns why it is closed.
            self._queue.append((text_frame(close.message), 1, None, None, time.monotonic()))
            self._depth += 1
        self._queue.append(_Close(close.code, close.reason))
        self._queued.set()

    async def _write(self) -> None:
        low = max(1, self._replay_high // 2)
        queue = self._queue
        out = self._out
        try:
            while True:
                if not queue:
                    self._queued.clear()
                    await self._queued.wait()
                    continue
                head = queue[0]
                if isinstance(head, _Close):
                    await self.ws.close(code=head.code, message=head.reason.encode())
                    return
                chunk: list[bytes] = []
                delivered: list[tuple[Subscription, str]] = []
                size = sent = 0
                self._writing_queued, self._progress_at = head[4], time.monotonic()
                while queue and size < WRITE_CHUNK and not isinstance(queue[0], _Close):
                    frames, count, sub, event_id, _ = queue.popleft()  # type: ignore[misc]
                    chunk.append(frames)
                    size += len(frames)
                    sent += count
                    if sub is not None and event_id is not None:
                        delivered.append((sub, event_id))
                self._depth -= sent
                if self._depth <= low:
                    self._drained.set()
                # Counted before the write: the stream writer hands the bytes to the socket before it may
                # wait for the client to read, and a slow consumer is cut off (this task cancelled) during
                # that wait — its resume point must include them. Should the write fail, the socket is gone.
                self.sent += sent
                for sub, event_id in delivered:  # where the client resumes from if it is cut off
                    sub.delivered = event_id
                await out.write(b"".join(chunk) if len(chunk) > 1 else chunk[0])
                await out.drain()  # waits only while the socket's buffer is full
                self._writing_queued = None
        except (ConnectionError, RuntimeError) as exc:  # the peer went away mid-write
            log.debug("connection %s writer stopped: %s", self.id, exc)

    # subscriptions ---------------------------------------------------------------------
    async def _replay(self, channel: str, since: str | None) -> None:
        try:
            await self.subscribe(channel, since)
        except HubError as exc:
            self.apply(self.session.replay_failed(channel, exc.description))

    async def subscribe(self, channel: str, since: str | None) -> None:
        """Replay ``channel`` after ``since`` (or from now), then go live; report how it went."""
        store = self.dispatcher.store
        await self.dispatcher.ready.wait()
        if self.session.leave(channel) is not None:  # a subscription being replaced stops at once
            self.dispatcher.remove(self, channel)
        if since is None:
            clock_ms, last = await store.clock_and_last_id(channel)
            replay = self.session.replay(channel, None, clock_ms=clock_ms, last=last)
        else:
            replay = self.session.replay(channel, since, trimmed=await store.trimmed_to(channel))
        sub = replay.subscription
        audit = self.dispatcher.audit
        while self.session.holds(sub) and not self.overflowed:
            batch = await store.read(channel, replay.cursor, REPLAY_BATCH)
            if not self.session.holds(sub):
                return
            step = replay.take(batch)
            for event_id, frame in step.frames:
                if event_id is None:
                    self.push(None, None, frame)
                else:
                    await self._put_replay(sub, event_id, frame)
            if audit is not None and batch:
                audit.record_for(self.principal, "replay", channel=channel, events=step.sent, withheld=step.withheld)
            if batch:
                continue
            if replay.catch_up(self.dispatcher.cursor(channel)):
                self.dispatcher.add(self, channel)  # same step as the check: nothing can be dispatched in between
                break
        if sub.live:
            for data in replay.finish():
                self.send(data)

    def drop(self) -> None:
        """Forget every subscription and stop writing (the socket is gone)."""
        for channel in list(self.subs):
            del self.subs[channel]
            self.dispatcher.remove(self, channel)
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
