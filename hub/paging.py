"""One page of a channel read through the policy: which events go on it, and where the next one starts.

Pure: no I/O. The caller reads; this module decides.

How this works. A reader of history (the events API, TAXII, the stream
replay) reads a channel oldest first, in batches, and keeps only the events
its decision accepts (:func:`hub.policy.may_read`, and for TAXII its
filters). :func:`take` is that step for one batch. :class:`PageScan` adds
what a paged answer needs on top: it asks for batches big enough to fill the
page (:attr:`PageScan.want`), stops once ``limit`` events are kept, and says
whether there is more and after which event id to go on.

Since hidden events are skipped, filling a page may take many reads, so one
request examines at most :func:`scan_budget` events. A page cut short by that
budget says ``more`` and continues after the last event *examined*, which may
be one the reader may not see: callers that show that position seal it.

``more`` comes in two strengths. With ``look_ahead`` (TAXII) one event
beyond the page is looked for, so ``more`` is exact and a client never
fetches an empty last page. Without it (the events API) a full page says
``more`` unless the read that filled it reached the end of the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from hub.events import Event

MIN_BATCH: Final = 100
"""The fewest events asked of one read: a few kept events still cost one round trip."""

Keep = Callable[[Event], object]
"""Whether an event goes on the page: anything truthy (a :class:`hub.policy.Decision`) keeps it."""


def scan_budget(limit: int) -> int:
    """How many events one request may examine: enough for pages where most events are hidden."""
    return 10 * limit + 1000


@dataclass(frozen=True, slots=True)
class Taken:
    """What :func:`take` kept of one batch, and how many of its events it looked at."""

    events: list[Event]
    examined: int


def take(batch: Sequence[Event], keep: Keep, room: int | None = None) -> Taken:
    """The events of ``batch`` that ``keep`` accepts, in order, stopping once ``room`` of them are kept.

    Without ``room`` every event is examined. Events after the one that
    filled the room are neither examined nor counted.
    """
    kept: list[Event] = []
    examined = 0
    for event in batch:
        if room is not None and len(kept) >= room:
            break
        examined += 1
        if keep(event):
            kept.append(event)
    return Taken(kept, examined)


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: its events, whether there is more, and after which event id the next page starts."""

    events: list[Event]
    more: bool
    after: str | None
    """The event id the next page starts after (the last event of a full page, else the last examined); None
    when there is no more."""
    scanned: int
    """How many events were examined."""


class PageScan:
    """The paging of one request: feed it each batch read, until it answers the page.

    ``limit`` events at most go on the page; at most ``budget`` events are
    examined (:func:`scan_budget` of ``limit`` unless given). ``look_ahead``:
    look for one event beyond the page, so that ``more`` is exact.
    """

    def __init__(self, limit: int, *, look_ahead: bool = False, budget: int | None = None) -> None:
        if limit < 1:
            raise ValueError(f"a page holds at least one event, not {limit}")
        self.limit = limit
        self.look_ahead = look_ahead
        self.budget = scan_budget(limit) if budget is None else budget
        self.scanned = 0
        self._target = limit + 1 if look_ahead else limit
        self._events: list[Event] = []
        self._after: str | None = None
        self._page: Page | None = None

    @property
    def want(self) -> int:
        """How many events to ask of the next read."""
        return max(self._target - len(self._events), MIN_BATCH)

    @property
    def after(self) -> str | None:
        """The event id the next read starts after; None until an event was examined."""
        return self._after

    def feed(self, batch: Sequence[Event], keep: Keep, *, end: bool, examined_to: str | None = None) -> Page | None:
        """Take the next batch read (oldest first); the page once it is decided, else None: read on.

        ``end``: this read reached the end of what there is to read (fewer
        events than :attr:`want`, for a plain read of the channel).
        ``examined_to``: the position the read examined up to, when that is
        not the id of its last event (a read by ids that found some deleted).
        """
        if self._page is not None:
            raise RuntimeError("this page is already decided")
        taken = take(batch, keep, self._target - len(self._events))
        self._events += taken.events
        self.scanned += taken.examined
        if len(self._events) == self._target:
            page = self._full(stopped_early=taken.examined < len(batch), end=end)
        else:
            self._after = examined_to or (batch[-1].id if batch else self._after)
            if end:
                page = Page(self._events, False, None, self.scanned)
            elif self.scanned >= self.budget:
                page = Page(self._events, True, self._after, self.scanned)
            else:
                return None
        self._page = page
        return page

    def _full(self, *, stopped_early: bool, end: bool) -> Page:
        if self.look_ahead:  # the event beyond the page proves there is more
            shown = self._events[: self.limit]
            return Page(shown, True, shown[-1].id, self.scanned)
        # Without looking ahead, only a read that reached the end right at the page's last event says no more.
        more = stopped_early or not end
        return Page(self._events, more, self._events[-1].id if more else None, self.scanned)
