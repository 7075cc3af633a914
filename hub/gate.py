"""Holding producers while the live streams are behind, and sharing each process's load (see :mod:`hub.admission`).

How this works. :func:`watch_load` measures this process's backlog every
``TICK`` seconds (the dispatcher's :meth:`hub.stream.fanout.Dispatcher.backlog`),
tells the other processes its pressure and learns theirs
(:class:`hub.store.load.LoadBoard`). :meth:`IngestGate.admit`,
called by every producer's route before it reads the body, returns at once
while the hub's pressure is below 1; otherwise the request waits — its body
left in the socket, so TCP slows the producer too — until a tick finds the
pressure below 1, for at most ``Limits.hold`` seconds, and is then refused:
:class:`hub.errors.Overloaded`, 503 with ``Retry-After``, and the refusal is
told to ``on_refuse`` (the audit trail and a counter). At most ``MAX_HELD``
requests wait at once; more are refused at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Final

from hub.admission import RETRY_AFTER, Backlog, Limits, hub_pressure, pressure
from hub.errors import Overloaded, StoreUnavailable
from hub.policy import Principal
from hub.store.load import LoadBoard
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

TICK: Final = 0.1
"""Seconds between two measures of this process's backlog, and two exchanges with the other processes."""
SHARE_TIMEOUT: Final = 0.5
"""Seconds an exchange may take; a slower one counts as none (no process holds this one back)."""
HOLDS_MS: Final = 2000
"""How long a shared pressure holds: a process that stops sharing (or dies) no longer holds others back."""
MAX_HELD: Final = 256
"""Requests that may wait at once; past it producers are refused at once."""
LOG_EVERY: Final = 60.0
"""Seconds between two log lines saying producers are held: one line, not one per refused request."""

Refusal = Callable[[Principal, str, str], None]
"""Told of a refused producer: who, on which channel, through what (``api``, ``taxii``, ``taxii-pull``)."""


def _ignore(principal: Principal, channel: str, via: str) -> None:
    return None


class IngestGate:
    """Whether producers may go ahead now; one per hub process."""

    def __init__(self, limits: Limits, measure: Callable[[float], Backlog], on_refuse: Refusal = _ignore) -> None:
        """``measure(now)``: this process's backlog at ``now`` (``time.monotonic()``); ``on_refuse(principal,
        channel, via)``: told of each refused producer."""
        self.limits = limits
        self.measure = measure
        self.on_refuse = on_refuse
        self.process = uuid.uuid4().hex[:12]
        self.own = 0.0
        self.others: tuple[float, ...] = ()
        self.held = 0
        self.refused = 0
        self._said_refused = 0
        self._said_at: float | None = None
        self._calm = asyncio.Event()
        self._calm.set()

    @property
    def pressure(self) -> float:
        """The hub's pressure, as last measured: below 1 producers go ahead."""
        return hub_pressure(self.own, self.others)

    def tick(self, now: float) -> float:
        """Measure this process's backlog again; its pressure."""
        measured = self.measure(now)
        self.own = pressure(measured, self.limits)
        self._settle()
        if self.pressure >= 1 and (self._said_at is None or now - self._said_at >= LOG_EVERY):
            log.warning(
                "the live streams are behind (pressure %.1f; here: median stream %.0f%% full, oldest event %.2fs, "
                "readers %.2fs behind): producers wait, then get 503 (%d refused since the last such line)",
                self.pressure, measured.fill * 100, measured.age, measured.reader_lag,
                self.refused - self._said_refused,
            )  # fmt: skip
            self._said_at, self._said_refused = now, self.refused
        return self.own

    def heard(self, others: Iterable[float]) -> None:
        """The other processes' pressures, as shared just now."""
        self.others = tuple(others)
        self._settle()

    def open(self) -> None:
        """Let producers go ahead whatever was measured last: the measure failed."""
        self.own, self.others = 0.0, ()
        self._settle()

    def _settle(self) -> None:
        if self.pressure < 1:
            self._calm.set()  # the waiting producers go ahead
        else:
            self._calm.clear()

    async def admit(self, principal: Principal, channel: str, via: str) -> None:
        """Return when ``principal``'s write to ``channel`` through ``via`` may go ahead; :class:`Overloaded` if
        the streams stay behind too long."""
        if self._calm.is_set():
            return
        if self.held >= MAX_HELD or self.limits.hold <= 0:
            raise self._refuse(principal, channel, via)
        self.held += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.limits.hold):
                    await self._calm.wait()
                    return
        finally:
            self.held -= 1
        raise self._refuse(principal, channel, via)

    def _refuse(self, principal: Principal, channel: str, via: str) -> Overloaded:
        self.refused += 1
        self.on_refuse(principal, channel, via)
        return Overloaded(
            "the hub's live streams are behind what it accepts; it takes no more objects for now: "
            "retry after the time Retry-After says",
            RETRY_AFTER,
        )


async def watch_load(gate: IngestGate, board: LoadBoard, guard: PassGuard) -> None:
    """Measure this process's backlog every tick and share it with the other processes: runs until cancelled.

    A pass that fails (``guard`` logs and counts it) leaves the gate open: producers go ahead rather
    than be held by a figure no one updates. The exchange waits at most ``SHARE_TIMEOUT`` seconds.
    """
    unshared = False

    async def one_pass() -> bool:
        nonlocal unshared
        own = gate.tick(time.monotonic())
        try:
            async with asyncio.timeout(SHARE_TIMEOUT):
                gate.heard(await board.share(gate.process, own, HOLDS_MS))
            unshared = False
        except (StoreUnavailable, TimeoutError) as exc:
            gate.heard(())  # what no process can share, none holds back
            if not unshared:
                log.warning("cannot share this process's load with the others (%s); going on alone", exc or "timeout")
            unshared = True
        return True

    while True:
        if await guard.run(one_pass) is None:
            gate.open()
        await asyncio.sleep(TICK)
