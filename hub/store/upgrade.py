"""Channels written by older hubs, brought to the current key layout once, at start-up.

How this works. Hubs before the channel index kept a hash per object (its
versions), a ``latest`` hash and a type index of every type
(:mod:`hub.store.layout` says what is kept now). A channel that still has the
``latest`` hash is upgraded: every per-object hash is moved into the
channel's index and deleted, a few hundred per atomic script call (so a
channel of millions never blocks Redis for long), then the type indexes no
reader uses are deleted, then ``latest``, and the channel's ``format`` mark
is set. Stream entries are left as they are: they are read in either format.
A channel without ``latest`` has nothing to move (an older hub gave every
object it kept a field there), so a new channel costs two commands.

A crash or a second hub process upgrading at the same moment is harmless:
moving an object is idempotent, and ``latest`` goes only after the last one,
so the next start finishes the work. The upgrade must finish before anything
is appended to the channel (an object still in its old hash would not be
seen as stored): the hub runs it before it serves, and :class:`Store` refuses
appends to a channel that still needs it (503) — which is what happens while
a Redis that did not answer at start-up comes back, until :func:`at_start`'s
retries have done the work. Every process of one store must run the same
version; one that finds an older hub's writes in an upgraded channel moves
them too, and says so.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Final

from hub.errors import StoreUnavailable
from hub.store import scripts
from hub.store.client import guard
from hub.store.events import INDEXED_TYPES, Store
from hub.store.layout import FORMAT

log = logging.getLogger(__name__)

BATCH: Final = 200
"""Objects moved per script call."""
PROGRESS_EVERY: Final = 100_000
RETRY_SECONDS: Final = 2.0


def _glob(text: str) -> str:
    """``text`` matched literally by a SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def upgrade(store: Store, channels: Sequence[str]) -> int:
    """Bring each of ``channels`` to the current layout; returns how many objects were moved."""
    moved = 0
    for channel in channels:
        marked, legacy = await store.layout(channel)
        if legacy:
            if marked:
                log.warning(
                    "channel %s was written by an older hub after it was upgraded: moving those objects too; "
                    "stop every process of the older version",
                    channel,
                )
            moved += await _upgrade(store, channel)
        elif not marked:
            async with guard():
                await store.redis.set(store.keys.format(channel), FORMAT)
    return moved


async def _upgrade(store: Store, channel: str) -> int:
    keys, redis = store.keys, store.redis
    move = redis.register_script(scripts.UPGRADE_VERSIONS)
    versions_prefix = keys.legacy_versions(channel, "")
    moved = 0
    batch: list[str] = []

    async def flush() -> None:
        nonlocal moved
        sids = [key[len(versions_prefix) :] for key in batch]
        moved += int(await move(keys=[keys.objects(channel), *batch], args=sids))
        if moved // PROGRESS_EVERY != (moved - len(batch)) // PROGRESS_EVERY:
            log.info("upgrading channel %s: %d objects moved to its index", channel, moved)
        batch.clear()

    async with guard():
        async for key in redis.scan_iter(match=_glob(versions_prefix) + "*", count=1000):
            batch.append(key.decode())
            if len(batch) >= BATCH:
                await flush()
        if batch:
            await flush()
        type_prefix = keys.of_type(channel, "")
        async for key in redis.scan_iter(match=_glob(type_prefix) + "*", count=1000):
            if key.decode()[len(type_prefix) :] not in INDEXED_TYPES:
                await redis.delete(key)
        await redis.delete(keys.legacy_latest(channel))  # last: until it is gone, the next start goes on
        await redis.set(keys.format(channel), FORMAT)
    log.info("upgraded channel %s to the current store layout: %d objects moved to its index", channel, moved)
    return moved


async def at_start(
    store: Store, channels: Sequence[str], retry_seconds: float = RETRY_SECONDS
) -> asyncio.Task[None] | None:
    """:func:`upgrade` before the hub serves; if Redis does not answer, a task that retries until it is done."""
    try:
        await upgrade(store, channels)
        return None
    except StoreUnavailable as exc:
        log.warning(
            "could not check the store's layout (%s); trying again every %g s (until then, appends to a channel "
            "an older hub wrote are refused)",
            exc,
            retry_seconds,
        )
    return asyncio.create_task(_until_done(store, channels, retry_seconds), name="store-upgrade")


async def _until_done(store: Store, channels: Sequence[str], retry_seconds: float) -> None:
    while True:
        await asyncio.sleep(retry_seconds)
        try:
            await upgrade(store, channels)
        except StoreUnavailable:
            continue
        log.info("the store's layout is checked")
        return
