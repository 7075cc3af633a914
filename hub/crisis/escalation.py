"""The background task that escalates overdue action items, in every hub process.

Escalations are idempotent (see :func:`hub.crisis.model.escalated`), so
several processes checking at once write each escalation once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub import app as hub_app
from hub.crisis.routes import CRISIS_SERVICE
from hub.errors import HubError
from hub.tasks import cancel_and_wait

log = logging.getLogger(__name__)


async def escalation_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_run(app))
    yield
    await cancel_and_wait(task)


async def _run(app: web.Application) -> None:
    interval = app[hub_app.CONFIG].crisis.escalation_interval
    while CRISIS_SERVICE not in app:
        await asyncio.sleep(0.05)
    while True:
        await asyncio.sleep(interval)
        try:
            count = await app[CRISIS_SERVICE].escalate_overdue()
            if count:
                log.info("escalated %d overdue action item(s)", count)
        except HubError as exc:
            log.warning("escalation check failed: %s", exc.description)
