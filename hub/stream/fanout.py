"""The dispatcher: one Redis subscription per hub process, fanned out to its clients.

How this works. Appends publish the id of their last new entry on the
channel's ``live`` pub/sub channel. The dispatcher subscribes to all of them
once (:mod:`hub.store.notifications`), and a notification only wakes that channel's reader:
the reader reads the stream itself from its cursor, encodes and frames each
event once, asks the policy once per stakeholder, and queues the frames on
every live subscription allowed to see them. Queuing never waits on a client
(see :mod:`hub.stream.connection`).

Because the stream, not the notification, is the source of truth, a lost
notification (a pub/sub reconnect, a Redis restart) costs latency, not
events: after a reconnect every reader catches up, and readers also poll at a
slow interval as a safety net.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hub.errors import StoreUnavailable
from hub.events import Event, id_key
from hub.metrics import Metrics
from hub.policy import Decision, Principal, may_read, read_key
from hub.store import Store
from hub.store import notifications as live
from hub.store.audit import AuditLog
from hub.stream.protocol import event_message, text_frame
from hub.tasks import cancel_and_wait
from hub.tlp import TLP

if TYPE_CHECKING:
    from hub.stream.connection import Connection, Subscription

log = logging.getLogger(__name__)

READ_BATCH = 1000


class Dispatcher:
    """Reads every channel's new events once per process and offers them to subscribed connections."""

    def __init__(
        self,
        store: Store,
        channels: Iterable[str],
        poll_interval: float = 5.0,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.metrics = metrics
        self.channels = tuple(channels)
        self.poll_interval = poll_interval
        self.connections: set[Connection] = set()
        self._subscribers: dict[str, set[Connection]] = defaultdict(set)
        self._cursors: dict[str, str] = {}
        self._wake: dict[str, asyncio.Event] = {c: asyncio.Event() for c in self.channels}
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()
        self.ready = asyncio.Event()

    def cursor(self, channel: str) -> str:
        """The id of the last event of ``channel`` this dispatcher has read (and so offered)."""
        return self._cursors.get(channel, "0-0")

    def add(self, conn: Connection, channel: str) -> None:
        self._subscribers[channel].add(conn)

    def remove(self, conn: Connection, channel: str) -> None:
        self._subscribers[channel].discard(conn)

    async def start(self) -> None:
        """Start in the background: the hub serves (and reports Redis down) even before Redis answers."""
        self._tasks.append(asyncio.create_task(self._run(), name="stream-dispatcher"))

    async def _run(self) -> None:
        # Read where each channel ends now; no subscription goes live before this is known.
        for channel in self.channels:
            self._cursors[channel] = await self._last_id_when_available(channel)
        self.ready.set()
        self._tasks.append(asyncio.create_task(self._listen(), name="stream-listener"))
        for channel in self.channels:
            self._tasks.append(asyncio.create_task(self._read(channel), name=f"stream-reader-{channel}"))

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()

    async def _last_id_when_available(self, channel: str) -> str:
        delay = 0.2
        while True:
            try:
                return await self.store.last_id(channel) or "0-0"
            except StoreUnavailable:
                log.warning("Redis unavailable; the live stream waits for it")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    async def _listen(self) -> None:
        """Hold the one live subscription (:mod:`hub.store.notifications`); wake a channel's reader on each."""
        names = {self.store.live_channel(channel): channel for channel in self.channels}
        delay = 0.2
        while True:
            subscription: live.Subscription | None = None
            try:
                subscription = await self.store.subscribe(list(names.values()), whole_namespace=True)
                self.listening.set()
                self._wake_all()  # catch up on anything published while we were not listening
                delay = 0.2
                async for note in subscription:
                    name = names[note.live]
                    if not self._subscribers.get(name):
                        # Nobody listens here: just move the cursor, no need to read the events.
                        if id_key(note.event_id) > id_key(self.cursor(name)):
                            self._cursors[name] = note.event_id
                        continue
                    self._wake[name].set()
            except (StoreUnavailable, OSError) as exc:
                self.listening.clear()
                log.warning("live notifications lost (%s); resubscribing in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if subscription is not None:
                    await subscription.aclose()

    async def _read(self, channel: str) -> None:
        """Read ``channel`` after its cursor whenever woken (or every poll interval) and fan out."""
        wake = self._wake[channel]
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see AuditLog._run for why not wait_for
                async with asyncio.timeout(self.poll_interval):
                    await wake.wait()
            wake.clear()
            try:
                await self._drain(channel)
            except StoreUnavailable:
                await asyncio.sleep(0.5)
                wake.set()

    async def _drain(self, channel: str) -> None:
        while True:
            batch = await self.store.read(channel, self.cursor(channel), READ_BATCH)
            if not batch:
                return
            last = batch[-1].id
            if id_key(last) > id_key(self.cursor(channel)):
                self._cursors[channel] = last
            if self._subscribers.get(channel):
                self._fan_out(channel, batch)
            if len(batch) < READ_BATCH:
                return

    def _fan_out(self, channel: str, batch: list[Event]) -> None:
        """Queue ``batch`` on the channel's live subscriptions, as policy allows; audit who got what and who not.

        Costs grow with events × stakeholders for the decisions, and with
        connections (not events × connections) for the delivery: each event
        is framed once, the policy is asked once per stakeholder and TLP, and
        each connection gets the frames allowed to its stakeholder as one
        queued item per batch.
        """
        audiences: dict[str, tuple[Principal, list[tuple[Connection, Subscription]]]] = {}
        for conn in self._subscribers[channel]:
            sub = conn.subs.get(channel)
            if sub is not None and sub.live:
                audiences.setdefault(conn.principal.id, (conn.principal, []))[1].append((conn, sub))
        if not audiences:
            return
        positions = [id_key(event.id) for event in batch]
        frames = [text_frame(event_message(event.to_json())) for event in batch]
        delivered: list[list[str]] = [[] for _ in batch]
        withheld: list[list[dict[str, str]]] = [[] for _ in batch]
        for stakeholder, (principal, members) in sorted(audiences.items()):
            cached: dict[tuple[str, TLP], Decision] = {}  # keyed on what the policy says the answer depends on
            for event in batch:
                if read_key(event) not in cached:
                    cached[read_key(event)] = may_read(principal, event)
            decisions = [cached[read_key(event)] for event in batch]
            # Offered to this stakeholder: every event after the cursor of at least one of its streams.
            for i in range(bisect.bisect_right(positions, min(sub.position for _, sub in members)), len(batch)):
                if decisions[i]:
                    delivered[i].append(stakeholder)
                else:
                    withheld[i].append({"stakeholder": stakeholder, "reason": decisions[i].reason})
            allowed = [i for i, decision in enumerate(decisions) if decision]
            whole: bytes | None = None  # every allowed frame: what a stream behind the whole batch gets
            for conn, sub in members:
                first = bisect.bisect_right(positions, sub.position)
                if first == len(batch):
                    continue
                picked = allowed if first == 0 else [i for i in allowed if i >= first]
                sub.passes(batch[-1].id, positions[-1])  # the whole batch is behind it now
                if not picked:
                    continue
                if first == 0:
                    whole = whole if whole is not None else b"".join(frames[i] for i in allowed)
                    data = whole
                else:
                    data = b"".join(frames[i] for i in picked)
                conn.push(sub, batch[picked[-1]].id, data, len(picked))
        now = time.time()
        for event, to, refused in zip(batch, delivered, withheld, strict=True):
            if not (to or refused):
                continue
            if self.metrics is not None:
                self.metrics.delivery_latency.observe(max(0.0, now - event.millis / 1000))
            if self.audit is not None:
                self.audit.record(
                    "deliver", "hub", channel=channel, event=event.id, tlp=event.tlp.token, to=to, withheld=refused
                )
        if self.metrics is not None:
            self.metrics.deliveries.labels(channel).inc(sum(map(len, delivered)))
            self.metrics.withheld.labels(channel).inc(sum(map(len, withheld)))
