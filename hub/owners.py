"""Who owns the objects a store held before ownership was recorded: a one-time backfill at start-up.

How this works. Ownership (see :mod:`hub.ingest`) is a Redis hash from STIX id
to owner, filled as objects are first stored. A store written by an older hub
has objects but no owners, and whoever posted one of their ids first after
the upgrade would own it. So at start-up, once per store, every channel's log
is read oldest first, all channels merged by event time, and each id is given
to the source of its oldest event (:func:`owner_of`) unless it already has an
owner. A marker key records that it is done; several hub processes starting
at once do the same work harmlessly (an owner is only ever set if absent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from hub.crisis.objects import is_crisis, is_hub_object
from hub.errors import StoreUnavailable
from hub.events import Event, id_key
from hub.policy import HUB
from hub.store import Store

log = logging.getLogger(__name__)

_BATCH = 1000
_PROGRESS_EVERY = 100_000


def owner_of(event: Event, obj: Any, crises: set[str]) -> str | None:
    """The owner an object stored before ownership was recorded gets, or None if it has no versions.

    The crisis workflow's objects, and the updates and sitreps that refer to a
    crisis, are the hub's (the crisis API made them); anything else is its
    first source's.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("modified"), str):
        return None
    if is_hub_object(obj):
        return HUB
    refs = obj.get("object_refs")
    if obj.get("type") in ("note", "report") and isinstance(refs, list) and any(r in crises for r in refs):
        return HUB
    return event.source


async def backfill(store: Store, channels: Sequence[str]) -> int:
    """Give every stored versioned object without an owner the owner it would have had; returns how many.

    Does nothing once done for this store. Never fails start-up: with Redis
    unreachable it says so and leaves the work for the next start.
    """
    try:
        if await store.owners_recorded():
            return 0
        adopted = await _backfill(store, channels)
        await store.mark_owners_recorded()
    except StoreUnavailable as exc:
        log.warning("could not record the owners of stored objects (%s); will retry at the next start", exc)
        return 0
    if adopted:
        log.info("recorded the owners of %d objects stored before ownership was tracked", adopted)
    return adopted


async def _backfill(store: Store, channels: Sequence[str]) -> int:
    cursors = {channel: "0-0" for channel in channels}
    buffers: dict[str, list[Event]] = {channel: [] for channel in channels}
    crises: set[str] = set()
    seen = adopted = 0
    pending: list[tuple[str, str]] = []
    while True:
        for channel in list(cursors):
            if not buffers[channel]:
                batch = await store.read(channel, cursors[channel], _BATCH)
                if not batch:
                    del cursors[channel]
                    continue
                buffers[channel] = batch[::-1]  # popped from the end: oldest first
                cursors[channel] = batch[-1].id
        if not cursors:
            break
        channel = min(cursors, key=lambda c: id_key(buffers[c][-1].id))  # the oldest head of all channels
        event = buffers[channel].pop()
        seen += 1
        obj = orjson.loads(event.raw)
        if is_crisis(obj):
            crises.add(event.stix_id)
        owner = owner_of(event, obj, crises)
        if owner is not None:
            pending.append((event.stix_id, owner))
        if len(pending) >= _BATCH:
            adopted += await store.adopt(pending)
            pending = []
        if seen % _PROGRESS_EVERY == 0:
            log.info("recording owners of stored objects: %d events read", seen)
    if pending:
        adopted += await store.adopt(pending)
    return adopted
