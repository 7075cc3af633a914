"""Retention: channels configured to keep a bounded history.

By default every channel keeps everything. A channel with ``retain_events``
is trimmed to that many events once a minute by every hub process (trimming
is idempotent, so several processes do no harm); the store records the newest
trimmed id, so a client resuming from before it is told of the gap.

A channel with ``retain_days`` is archived, not trimmed: once a UTC day, the
versions added before midnight minus ``retain_days`` go into
``<data folder>/archive/CHANNEL.YYYY-MM-DD.json.gz`` and then out of the store,
exactly as ``crisis-hub archive`` does (:mod:`hub.archive`: written, verified,
recorded in the audit trail, then removed; a pass stopped midway is finished
by the next). A pass that fails is logged and counted, and the next one runs
all the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from hub import archive, keys
from hub.config import Channel
from hub.events import id_key, iso_millis
from hub.store import Store
from hub.store.audit import AuditLog
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

INTERVAL = 60.0
TASK = "retention"
DAY_MS = 86_400_000
ARCHIVE_BATCH = 500


async def trim_once(store: Store, channels: list[Channel]) -> int:
    """Trim every channel with ``retain_events`` once; returns the number of events removed."""
    removed = 0
    for channel in channels:
        if not channel.retain_events:
            continue
        count = await store.trim(channel.name, max_events=channel.retain_events)
        if count:
            log.info("retention removed %d events from %s", count, channel.name)
        removed += count
    return removed


def archive_bound(now_ms: int, retain_days: float) -> tuple[int, str]:
    """The bound of the day's archive (midnight UTC minus ``retain_days``) and the day, as ``YYYY-MM-DD``."""
    midnight = now_ms - now_ms % DAY_MS
    return midnight - round(retain_days * DAY_MS), datetime.fromtimestamp(midnight / 1000, UTC).strftime("%Y-%m-%d")


async def archive_due(store: Store, audit: AuditLog, channel: Channel, folder: Path, now_ms: int) -> int:
    """Archive ``channel``'s versions older than its ``retain_days`` into ``folder``, once per day; how many went.

    Cheap when nothing is due (one read of the oldest event), so it runs every pass.
    """
    if channel.retain_days is None:
        return 0
    bound, day = archive_bound(now_ms, channel.retain_days)
    oldest = await store.first_id(channel.name)
    if oldest is None or id_key(oldest) >= (bound, 0):
        return 0
    out = folder / f"{channel.name}.{day}.json.gz"
    resumed = out.exists()
    if resumed:  # a pass stopped before it removed everything: finish it
        verified = await asyncio.to_thread(archive.verify, out)
        archive.drop_partial(out)
        missing = await archive.missing_from(store, channel.name, bound, verified.versions, ARCHIVE_BATCH)
        if missing:
            raise archive.ArchiveError(f"{out} lacks {missing} versions of {channel.name} due: nothing removed")
    else:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        verified = await archive.write(store, channel.name, bound, out, ARCHIVE_BATCH, _ignore)
    before = iso_millis(bound)
    audit.record(
        "archive.verified",
        "hub",
        channel=channel.name,
        before=before,
        file=out.name,
        objects=verified.count,
        sha256=verified.sha256,
        resumed=resumed,
    )
    removed = await archive.remove(store, channel.name, bound, verified.versions, ARCHIVE_BATCH, _ignore)
    audit.record("archive.removed", "hub", channel=channel.name, before=before, file=out.name, removed=removed)
    log.info("retention archived %d versions of %s into %s", removed, channel.name, out.name)
    return removed


def _ignore(_: int) -> None:
    pass


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    channels = [c for c in app[keys.CONFIG].channels.values() if c.retain_events or c.retain_days]
    folder = app.get(keys.ARCHIVE_DIR)
    if folder is None and any(c.retain_days for c in channels):
        log.warning("retain_days is set but this process has no data folder to archive into: nothing is archived")
    tasks = app[keys.TASKS]
    if channels:
        tasks.start(TASK, _run(app[keys.STORE], app[keys.AUDIT], channels, folder, tasks.guard(TASK)))
    yield
    await tasks.stop(TASK)


async def _run(store: Store, audit: AuditLog, channels: list[Channel], folder: Path | None, guard: PassGuard) -> None:
    async def one_pass() -> None:
        await trim_once(store, channels)
        if folder is not None:
            for channel in channels:
                await archive_due(store, audit, channel, folder, int(time.time() * 1000))

    while True:
        await guard.run(one_pass)
        await asyncio.sleep(INTERVAL)
