"""Retention: trim channels configured to keep a bounded history.

By default every channel keeps everything. A channel with ``retain_events``
or ``retain_days`` is trimmed once a minute by every hub process (trimming is
idempotent, so several processes do no harm). The store records the newest
trimmed id, so a client resuming from before it is told of the gap. A pass
that fails is logged and counted, and the next one runs all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.config import Channel
from hub.store import Store
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

INTERVAL = 60.0
TASK = "retention"
DAY_MS = 86_400_000


async def trim_once(store: Store, channels: list[Channel]) -> int:
    """Apply every channel's retention once; returns the number of events removed."""
    removed = 0
    for channel in channels:
        max_age = int(channel.retain_days * DAY_MS) if channel.retain_days is not None else None
        count = await store.trim(channel.name, max_events=channel.retain_events, max_age_ms=max_age)
        if count:
            log.info("retention removed %d events from %s", count, channel.name)
        removed += count
    return removed


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    channels = [c for c in app[keys.CONFIG].channels.values() if c.retain_events or c.retain_days]
    tasks = app[keys.TASKS]
    if channels:
        tasks.start(TASK, _run(app[keys.STORE], channels, tasks.guard(TASK)))
    yield
    await tasks.stop(TASK)


async def _run(store: Store, channels: list[Channel], guard: PassGuard) -> None:
    while True:
        await guard.run(lambda: trim_once(store, channels))
        await asyncio.sleep(INTERVAL)
