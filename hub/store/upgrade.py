"""Channels written by older hubs, brought to the current key layout once, at start-up.

How this works. Hubs before the channel index kept a hash per object (its
versions), a ``latest`` hash and a type index of every type
(:mod:`hub.store.layout` says what is kept now). A channel whose ``format``
key is not :data:`FORMAT` is upgraded: every per-object hash is moved into the
channel's index and deleted, a few hundred per atomic script call (so a
channel of millions never blocks Redis for long), then the ``latest`` hash and
the type indexes no reader uses are deleted, and the mark is set. Stream
entries are left as they are: they are read in either format.

A crash or a second hub process upgrading at the same moment is harmless:
moving an object is idempotent, and the mark is set only after the last one.
A channel without the old ``latest`` hash has nothing to move (an older hub
gave every object it kept a field there), so a new channel costs two
commands. The upgrade must finish before anything is appended to the channel (an object
still in its old hash would not be seen as stored), which is why the hub runs
it before it serves; every process of one store must run the same version.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Final

from hub.errors import StoreUnavailable
from hub.store import scripts
from hub.store.client import guard
from hub.store.events import INDEXED_TYPES, Store

log = logging.getLogger(__name__)

FORMAT: Final = b"2"
BATCH: Final = 200
"""Objects moved per script call."""
PROGRESS_EVERY: Final = 100_000


def _glob(text: str) -> str:
    """``text`` matched literally by a SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def upgrade(store: Store, channels: Sequence[str]) -> int:
    """Bring each of ``channels`` to the current layout; returns how many objects were moved."""
    moved = 0
    for channel in channels:
        async with guard():
            done = await store.redis.get(store.keys.format(channel)) == FORMAT
        if not done:
            moved += await _upgrade(store, channel)
    return moved


async def _upgrade(store: Store, channel: str) -> int:
    keys, redis = store.keys, store.redis
    async with guard():
        legacy = await redis.exists(keys.legacy_latest(channel))
    if not legacy:  # every object an older hub kept had a field there: nothing to move
        async with guard():
            await redis.set(keys.format(channel), FORMAT)
        return 0
    move = redis.register_script(scripts.UPGRADE_VERSIONS)
    versions_prefix = keys.legacy_versions(channel, "")
    moved = 0
    batch: list[str] = []

    async def flush() -> None:
        nonlocal moved
        sids = [key[len(versions_prefix) :] for key in batch]
        async with guard():
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
        await redis.delete(keys.legacy_latest(channel))
        type_prefix = keys.of_type(channel, "")
        async for key in redis.scan_iter(match=_glob(type_prefix) + "*", count=1000):
            if key.decode()[len(type_prefix) :] not in INDEXED_TYPES:
                await redis.delete(key)
        await redis.set(keys.format(channel), FORMAT)
    if moved:
        log.info("upgraded channel %s to the current store layout: %d objects moved to its index", channel, moved)
    return moved


async def at_start(store: Store, channels: Sequence[str]) -> None:
    """:func:`upgrade`, but a Redis that does not answer yet leaves it for the next start, with a warning."""
    try:
        await upgrade(store, channels)
    except StoreUnavailable as exc:
        log.warning("could not check the store's layout (%s); it is checked again at the next start", exc)
