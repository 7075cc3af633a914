"""The background task that escalates overdue action items, in every hub process.

Escalations are idempotent (see :func:`hub.crisis.model.escalated`), so
several processes checking at once write each escalation once. A pass that
fails, whatever the cause, is logged, counted and followed by the next one
(see :class:`hub.tasks.PassGuard`): an overdue action must never go
unescalated because of an earlier bad one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

TASK = "escalation"


async def escalation_ctx(app: web.Application) -> AsyncIterator[None]:
    tasks = app[keys.TASKS]
    tasks.start(TASK, _run(app, tasks.guard(TASK)))
    yield
    await tasks.stop(TASK)


async def _run(app: web.Application, guard: PassGuard) -> None:
    interval = app[keys.CONFIG].crisis.escalation_interval
    while True:
        await asyncio.sleep(interval)
        count = await guard.run(app[keys.CRISIS_SERVICE].escalate_overdue)
        if count:
            log.info("escalated %d overdue action item(s)", count)
