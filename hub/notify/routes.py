"""Notifications in the hub process: the notifier's task, and what administrators see of it.

The task runs in every hub process when ``[notifications]`` has an SMTP
server or a webhook; the outbox's lease lets one of them notify at a time.
It makes a pass when something is appended to a channel (heard through the
stream dispatcher's one subscription) and every :data:`TICK` seconds (for
retries, digests and the end of quiet hours).

``GET /api/v1/admin/notifications`` (administrators): the newest
notifications with their state, attempts and last error, and how many wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
from aiohttp import web

from hub import keys
from hub.auth import require_admin
from hub.events import iso_millis
from hub.notify.service import DeliveryError, Notifier
from hub.policy import Level, Principal, may_read
from hub.requests import authenticate, int_param, json_response
from hub.store.outbox import Outgoing
from hub.tasks import PassGuard
from hub.tlp import TLP

log = logging.getLogger(__name__)

TASK: Final = "notifications"
TICK: Final = 1.0
SETTLE: Final = 0.05


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/notifications", admin_notifications)


async def notify_ctx(app: web.Application) -> AsyncIterator[None]:
    """The notifier's task, when anything can be sent."""
    config = app[keys.CONFIG]
    outbox = app[keys.OUTBOX]
    if not config.notifications.enabled:
        yield
        return
    settings = config.notifications
    # A pass may wait on a slow SMTP server or webhook: the lease outlives several of their timeouts.
    lease_ttl = max(30.0, 3 * (settings.smtp.timeout_seconds if settings.smtp else 10.0))
    async with aiohttp.ClientSession() as http:

        async def post_json(url: str, payload: dict[str, Any], timeout: float) -> None:
            try:
                async with http.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    if response.status >= 300:
                        raise DeliveryError(f"answered HTTP {response.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(f"could not be reached ({exc or type(exc).__name__})") from exc

        notifier = Notifier(config, app[keys.STORE], outbox, app[keys.PEOPLE], post_json, app[keys.METRICS], lease_ttl)
        tasks = app[keys.TASKS]
        tasks.start(TASK, _run(app, notifier, tasks.guard(TASK)))
        yield
        await tasks.stop(TASK)
        with contextlib.suppress(Exception):
            await outbox.lease.release()


async def _run(app: web.Application, notifier: Notifier, guard: PassGuard) -> None:
    appended = asyncio.Event()
    app[keys.DISPATCHER].on_append(lambda _channel: appended.set())
    while True:
        appended.clear()
        if await guard.run(lambda: notifier.outbox.lease.acquire(notifier.lease_ttl)):
            queued = await guard.run(notifier.scan)
            sent = await guard.run(notifier.deliver)
            if queued or sent:
                log.info("notifications: %d queued, %d sent", queued or 0, sent or 0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TICK):
                await appended.wait()
                await asyncio.sleep(SETTLE)  # let a burst of appends end


def _json(item: Outgoing, reader: Principal) -> dict[str, object]:
    """One notification as an administrator sees it: its subject (which may quote the item) only if they may
    read what it tells of."""
    readable = bool(may_read(reader, Level(item.channel, TLP(item.tlp))))
    return {
        "id": item.id, "via": item.via, "to": item.address, "person": item.person or None, "kinds": list(item.kinds),
        "crisis": item.crisis, "severity": item.severity, "subject": item.subject if readable else None,
        "content": item.full,
        "status": item.status, "attempts": item.attempts, "error": item.error or None,
        "created": iso_millis(int(item.created * 1000)),
        "sent": iso_millis(int(item.sent * 1000)) if item.sent else None, "digest_of": len(item.digest) or None,
    }  # fmt: skip


async def admin_notifications(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    require_admin(principal)
    outbox = request.app[keys.OUTBOX]
    limit = int_param(request, "limit", 100, 1000)
    recent = await outbox.recent(limit)
    return json_response(
        {
            "enabled": request.app[keys.CONFIG].notifications.enabled,
            "pending": await outbox.pending(),
            "notifications": [_json(item, principal) for item in recent],
        }
    )
