"""One page of a TAXII read: which object versions a reader gets, in stream order, and where to go on.

How this works. Candidates come oldest first from one of two sources: the
channel's stream itself, or — when the query names object ids — the positions
of those objects' versions (their version hashes), so that asking for a few
objects never walks the whole channel. Each batch of candidates goes through,
in order: the filters that need only the entry (id, type, spec_version), the
visibility policy (:func:`hub.policy.may_read`: nothing above the reader's
TLP ceiling is returned or counted), then ``match[version]``.

``first`` and ``last`` are decided among the versions *the reader may see*: a
partner whose ceiling is GREEN gets the newest GREEN version of an object even
when a newer AMBER one exists. The store's per-channel "latest" hash answers
the common case in one round trip (the newest version is in hand and readable);
otherwise the object's versions are looked up (:class:`VersionIndex`).

An object's first and last versions are :func:`hub.versions.oldest` and
:func:`hub.versions.newest` of those the reader may see. How many
candidates one request examines and where the next page starts is
:mod:`hub.paging`'s: a page holds ``limit`` versions and one more is looked
for, so that ``more`` is exact and a client never fetches an empty last page;
a page cut short by the scan budget says ``more`` with a ``next`` after the
last entry examined, so the next request resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.events import Event
from hub.paging import PageScan
from hub.policy import Principal, may_read
from hub.store import Store
from hub.taxii.filters import Query, event_version
from hub.taxii.pagination import StreamId
from hub.versions import newest, oldest, order


def position(event: Event) -> StreamId:
    return StreamId.parse(event.id)


@dataclass(frozen=True, slots=True)
class Page:
    """The versions of one answer, and where the next page starts if there is more."""

    events: list[Event]
    more: bool
    resume_after: StreamId | None
    """The position the ``next`` cursor carries; None when there is no more."""


class VersionIndex:
    """Per request: the versions of objects that one reader may see, and their first and last.

    Caches what it looked up, so that a page never asks Redis twice about
    one object.
    """

    def __init__(self, store: Store, principal: Principal, channel: str) -> None:
        self.store = store
        self.principal = principal
        self.channel = channel
        self._maps: dict[str, dict[str, str]] = {}
        self._events: dict[str, Event] = {}
        self._readable: dict[str, list[Event]] = {}
        self._first: dict[str, str] = {}
        self._last: dict[str, str] = {}

    async def maps(self, stix_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """Each object's stored versions (version → event id), whatever their TLP."""
        wanted = [sid for sid in dict.fromkeys(stix_ids) if sid not in self._maps]
        self._maps.update(await self.store.versions_in(self.channel, wanted))
        return {sid: self._maps[sid] for sid in stix_ids}

    async def readable(
        self, stix_ids: Iterable[str], in_hand: Mapping[str, Event] | None = None
    ) -> dict[str, list[Event]]:
        """Each object's versions the reader may see, oldest first (:func:`hub.versions.order`)."""
        in_hand = in_hand or {}
        wanted = [sid for sid in dict.fromkeys(stix_ids) if sid not in self._readable]
        maps = await self.maps(wanted)
        missing = [eid for m in maps.values() for eid in m.values() if eid not in in_hand and eid not in self._events]
        for event in await self.store.events_by_id(self.channel, missing):
            self._events[event.id] = event
        for sid in wanted:
            versions = [in_hand.get(eid) or self._events.get(eid) for eid in maps[sid].values()]
            visible = order(e for e in versions if e is not None and may_read(self.principal, e))
            self._readable[sid] = visible
            last = newest(visible)
            if last is not None:
                self._first[sid], self._last[sid] = visible[0].id, last.id
        return {sid: self._readable[sid] for sid in stix_ids}

    async def prepare(self, events: Sequence[Event], *, first: bool, last: bool) -> None:
        """Decide first/last for the objects of ``events`` (which the reader may all read)."""
        in_hand = {e.id: e for e in events}
        sids = list(dict.fromkeys(e.stix_id for e in events))
        pending = [sid for sid in sids if (first and sid not in self._first) or (last and sid not in self._last)]
        if last and not first and pending:
            # The overall newest version, when it is one of these readable
            # events, is the newest the reader may see: no further look-up.
            latest = await self.store.latest(self.channel, pending)
            for sid, eid in latest.items():
                if eid in in_hand:
                    self._last[sid] = eid
            pending = [sid for sid in pending if sid not in self._last]
        if pending:
            await self.readable(pending, in_hand)

    def is_first(self, event: Event) -> bool:
        return self._first.get(event.stix_id) == event.id

    def is_last(self, event: Event) -> bool:
        return self._last.get(event.stix_id) == event.id


class _Source(Protocol):
    async def read(self, start: StreamId, count: int) -> tuple[list[Event], StreamId | None, bool]:
        """Events from ``start`` on, the position of the last entry examined, and whether that was the end."""
        ...


class _StreamSource:
    def __init__(self, store: Store, channel: str) -> None:
        self.store = store
        self.channel = channel

    async def read(self, start: StreamId, count: int) -> tuple[list[Event], StreamId | None, bool]:
        events = await self.store.read(self.channel, str(start), count, inclusive=True)
        return events, (position(events[-1]) if events else None), len(events) < count


class _IdSource:
    """The versions of a few named objects, in stream order, from their version hashes."""

    def __init__(self, index: VersionIndex, stix_ids: Iterable[str]) -> None:
        self.index = index
        self.stix_ids = list(stix_ids)
        self._positions: list[StreamId] | None = None

    async def read(self, start: StreamId, count: int) -> tuple[list[Event], StreamId | None, bool]:
        if self._positions is None:
            maps = await self.index.maps(self.stix_ids)
            self._positions = sorted(StreamId.parse(eid) for m in maps.values() for eid in m.values())
        chosen = [p for p in self._positions if p >= start][:count]
        events = await self.index.store.events_by_id(self.index.channel, [str(p) for p in chosen])
        exhausted = not chosen or chosen[-1] == self._positions[-1]
        return events, (chosen[-1] if chosen else None), exhausted


async def select_page(index: VersionIndex, query: Query, start: StreamId, limit: int) -> Page:
    """The versions matching ``query`` that ``index``'s reader may see, from ``start`` on: one page."""
    source: _Source = (
        _IdSource(index, query.ids) if query.ids is not None else _StreamSource(index.store, index.channel)
    )
    scan = PageScan(limit, look_ahead=True)
    page = None
    while page is None:
        batch, examined_to, exhausted = await source.read(start, scan.want)
        kept = {event.id for event in await _keep(index, query, batch)}
        if examined_to is None:  # nothing was left to examine
            page = scan.feed(batch, kept_in(kept), end=True)
        else:
            page = scan.feed(batch, kept_in(kept), end=exhausted, examined_to=str(examined_to))
            start = examined_to.successor()
    return Page(page.events, page.more, None if page.after is None else StreamId.parse(page.after))


def kept_in(kept: set[str]) -> Callable[[Event], bool]:
    """The decision that keeps the events whose ids are in ``kept``."""
    return lambda event: event.id in kept


async def _keep(index: VersionIndex, query: Query, batch: Sequence[Event]) -> list[Event]:
    """The events of ``batch`` that pass every filter and the policy, in order."""
    candidates = [e for e in batch if query.matches(e.stix_id, e.type) and may_read(index.principal, e)]
    versions = query.versions
    if versions.all:
        return candidates
    stamped = [versions.matches_stamp(event_version(e)) for e in candidates]
    undecided = [e for e, hit in zip(candidates, stamped, strict=True) if not hit]
    if versions.needs_ranking and undecided:
        await index.prepare(undecided, first=versions.first, last=versions.last)
    return [
        e
        for e, hit in zip(candidates, stamped, strict=True)
        if hit or (versions.first and index.is_first(e)) or (versions.last and index.is_last(e))
    ]


def matching_versions(versions: Sequence[Event], query: Query) -> list[Event]:
    """Of one object's versions that the reader may see (oldest first), those ``query`` keeps."""
    wanted = query.versions
    first, last = oldest(versions), newest(versions)
    return [
        e
        for e in versions
        if query.matches(e.stix_id, e.type)
        and (
            wanted.all
            or wanted.matches_stamp(event_version(e))
            or (wanted.first and e is first)
            or (wanted.last and e is last)
        )
    ]
