"""Admission control, the pure part: how far behind the live streams are, and whether producers must wait.

How this works. When the hub accepts objects faster than its watchers can
read them, the streams' queues grow until one is cut as a slow consumer; if
every stream is behind (the whole machine is busy), cutting them only makes
the committee's screens reconnect in a storm. So the hub slows the producers
instead, before any healthy stream reaches its bound.

Each hub process measures its :class:`Backlog`: for the *median* live stream
(most streams, not the worst one: a lone stalled client is cut, not obeyed),
how full its queue is and how long its oldest queued event has waited; and
how far its readers of the store are behind the last append they were told
of. :func:`pressure` makes one number of it, against the configured
:class:`Limits`: below 1 producers go ahead, at 1 or above they wait, and
past ``Limits.hold`` seconds of waiting they are refused with ``Retry-After``
(:class:`hub.errors.Overloaded`). Processes share their pressure through
Redis, so the producers of one process wait while the streams of another are
behind; the hub's pressure is the highest of them.

Pure: the measures come in as numbers; :mod:`hub.gate` holds producers and
shares the figures, :mod:`hub.stream.fanout` measures them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

RETRY_AFTER: Final = 1.0
"""Seconds a refused producer is told to wait: the delay at which a backlog is measured again, rounded up."""


@dataclass(frozen=True, slots=True)
class Limits:
    """From ``[hub]``: ``ingest_hold_fill``, ``ingest_hold_lag_ms`` (in seconds here), ``ingest_hold_seconds``."""

    fill: float = 0.25
    """The median live stream's queue, as a fraction of ``stream_queue``, from which producers wait."""
    lag: float = 0.5
    """Seconds the median stream's oldest queued event (or a reader) may be behind before producers wait."""
    hold: float = 2.0
    """Seconds a producer waits for the streams to catch up before it is refused; 0: refused at once."""


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far one hub process's live streams are behind, now."""

    streams: int = 0
    """Live streams measured (stalled ones, about to be cut, are not)."""
    fill: float = 0.0
    """The median stream's queued events, as a fraction of its queue's bound."""
    age: float = 0.0
    """Seconds the median stream's oldest queued event has waited."""
    reader_lag: float = 0.0
    """Seconds the process's readers are behind the last append announced to them, on the most behind channel."""


def lower_median(values: Iterable[float]) -> float:
    """The median of ``values``, the lower of the middle two when they are even in number; 0 for none.

    The lower one, so that of two streams, one stalled and one reading, the reading one speaks.
    """
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0.0


def backlog(fills: Iterable[float], ages: Iterable[float], reader_lag: float) -> Backlog:
    """A process's :class:`Backlog` from each measured stream's queue fill and oldest event's age."""
    fills, ages = list(fills), list(ages)
    return Backlog(len(fills), lower_median(fills), lower_median(ages), max(0.0, reader_lag))


def pressure(measured: Backlog, limits: Limits) -> float:
    """How near ``measured`` is to its limits: below 1 producers go ahead, from 1 they wait."""
    return max(measured.fill / limits.fill, measured.age / limits.lag, measured.reader_lag / limits.lag)


def hub_pressure(own: float, others: Iterable[float]) -> float:
    """The hub's pressure: the highest of its processes' (each process's streams get every event)."""
    return max([own, *others])
