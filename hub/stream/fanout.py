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
import contextlib
import itertools
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hub.admission import Backlog, backlog
from hub.errors import StoreUnavailable
from hub.events import Event, id_key
from hub.metrics import Metrics
from hub.store import Store
from hub.store import notifications as live
from hub.store.audit import AuditLog
from hub.stream.plan import plan
from hub.tasks import cancel_and_wait

if TYPE_CHECKING:
    from hub.stream.connection import Connection

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
        self._listeners: list[Callable[[str], None]] = []
        self._cursors: dict[str, str] = {}
        self._behind_since: dict[str, float] = {}  # per channel: since when (monotonic) an announced append is unread
        self._wake: dict[str, asyncio.Event] = {c: asyncio.Event() for c in self.channels}
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()
        self.ready = asyncio.Event()
        self._connection_ids = itertools.count(1)

    def next_connection_id(self) -> str:
        """An id for a new connection: its hub process's pid and a count of that dispatcher's connections."""
        return f"{os.getpid():x}-{next(self._connection_ids)}"

    def cursor(self, channel: str) -> str:
        """The id of the last event of ``channel`` this dispatcher has read (and so offered)."""
        return self._cursors.get(channel, "0-0")

    def backlog(self, now: float) -> Backlog:
        """How far this process's live streams are behind at ``now`` (``time.monotonic()``): see :mod:`hub.admission`.

        Asked a few times a second (:func:`hub.gate.watch_load`), it first notes each socket's progress and
        cuts off the streams that stopped reading with their queue past its bound: a stalled stream is cut even
        when nothing more is sent to it, and never holds the producers back.
        The readers' lag is, on the most behind channel, how long an announced append has waited to be read.
        """
        for conn in list(self.connections):
            conn.watch_progress(now)
            conn.cut_if_stalled(now)
        loads = [load for conn in self.connections if (load := conn.load(now)) is not None]
        lag = max((now - since for since in self._behind_since.values()), default=0.0)
        return backlog((fill for fill, _ in loads), (age for _, age in loads), lag)

    def on_append(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(channel)`` at each announcement of an append, from this process's one subscription.

        For the process's other tasks that wake on appends (the plans' runner): they share the
        subscription rather than hold one more per channel. ``listener`` must not block.
        """
        self._listeners.append(listener)

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

    def poll_every(self, seconds: float) -> None:
        """Read each channel at least every ``seconds`` even with no notification (the safety net's period).

        The readers' current waits end at once, so the new period applies from now.
        """
        self.poll_interval = seconds
        self._wake_all()

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
                    for listener in self._listeners:
                        listener(name)
                    if not self._subscribers.get(name):
                        # Nobody listens here: just move the cursor, no need to read the events.
                        if id_key(note.event_id) > id_key(self.cursor(name)):
                            self._cursors[name] = note.event_id
                        continue
                    if id_key(note.event_id) > id_key(self.cursor(name)):
                        self._behind_since.setdefault(name, time.monotonic())
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
                self._behind_since.pop(channel, None)  # an announced append already removed: nothing to wait for
                return
            last = batch[-1].id
            if id_key(last) > id_key(self.cursor(channel)):
                self._cursors[channel] = last
            if self._subscribers.get(channel):
                self._fan_out(channel, batch)
            if len(batch) < READ_BATCH:
                self._behind_since.pop(channel, None)  # read up to the end: nothing announced is unread
                return

    def _fan_out(self, channel: str, batch: list[Event]) -> None:
        """Queue ``batch`` on the channel's live subscriptions as :func:`hub.stream.plan.plan` says; audit, count."""
        audience = [
            (conn, conn.principal, sub)
            for conn in self._subscribers[channel]
            if (sub := conn.subs.get(channel)) is not None and sub.live
        ]
        if not audience:
            return
        fan = plan(batch, audience)
        last, position = batch[-1].id, id_key(batch[-1].id)
        for sub in fan.passed:
            sub.passes(last, position)  # the whole batch is behind it now
        queued = time.monotonic()
        for conn, sub, frames, count, last_id in fan.deliveries:
            conn.push(sub, last_id, frames, count, queued)
        now = time.time()
        for offer in fan.offers:
            event = offer.event
            if self.metrics is not None:
                self.metrics.delivery_latency.observe(max(0.0, now - event.millis / 1000))
            if self.audit is not None:
                self.audit.record(
                    "deliver",
                    "hub",
                    channel=channel,
                    event=event.id,
                    tlp=event.tlp.token,
                    to=offer.to,
                    withheld=offer.withheld,
                )
        if self.metrics is not None:
            self.metrics.deliveries.labels(channel).inc(fan.delivered)
            self.metrics.withheld.labels(channel).inc(fan.withheld)
