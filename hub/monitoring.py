"""What administrators watch: the metrics (Prometheus), the audit trail (query, export, verify), the store's memory.

The store's memory is read every :data:`CAPACITY_INTERVAL` seconds by the
``capacity`` lifecycle (:func:`capacity_ctx`), which first refuses to start on
a Redis that would evict stored objects; the readings feed the metrics, the
health check and one warning per crossing of 80 % and 95 % of the limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric

from hub import keys
from hub.auth import require_admin
from hub.capacity import Memory, Watermarks, eviction_problem, size_text, warning
from hub.errors import ConfigError, StoreUnavailable
from hub.events import parse_event_id
from hub.metrics import gauge
from hub.policy import Principal
from hub.requests import authenticate, int_param, json_response
from hub.store.capacity import Capacity
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

CAPACITY_TASK = "capacity"
CAPACITY_INTERVAL = 15.0
"""Seconds between two readings of the store's memory (two INFO sections: microseconds of Redis's time)."""


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/admin/audit", audit_entries)
    app.router.add_get("/api/v1/admin/audit/verify", audit_verify)


async def admin(request: web.Request) -> Principal:
    principal = await authenticate(request)
    require_admin(principal)
    return principal


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; for admins, or for anyone where ``metrics_public`` says the network is trusted."""
    if not request.app[keys.CONFIG].hub.metrics_public:
        await admin(request)
    body = generate_latest(request.app[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _matches(record: dict[str, Any], request: web.Request) -> bool:
    q = request.query
    if "action" in q and record.get("action") != q["action"]:
        return False
    if "actor" in q and record.get("actor") != q["actor"]:
        return False
    if "person" in q and record.get("person") != q["person"]:
        return False
    if "event" in q and q["event"] != record.get("event") and q["event"] not in record.get("events", []):
        return False
    return True


async def audit_entries(request: web.Request) -> web.Response:
    """A page of the trail, oldest first, optionally filtered by action, actor, person or event id."""
    actor = await admin(request)
    limit = int_param(request, "limit", 100, 10_000)
    cursor = parse_event_id(request.query.get("after", "0"))
    audit = request.app[keys.AUDIT]
    await audit.flush()  # include what this process has queued
    entries: list[dict[str, Any]] = []
    budget = 20 * limit
    more = True
    while len(entries) < limit and budget > 0:
        batch = await audit.entries(cursor, min(1000, budget))
        budget -= len(batch)
        for entry_id, body, previous, digest in batch:
            cursor = entry_id
            record = orjson.loads(body)
            if _matches(record, request):
                entries.append({"id": entry_id, "record": record, "previous": previous, "hash": digest})
                if len(entries) == limit:
                    break
        if len(batch) < 1000 and len(entries) < limit:
            more = False
            break
    audit.record_for(actor, "audit.read", entries=len(entries))
    return json_response({"entries": entries, "next": cursor if more else None})


async def audit_verify(request: web.Request) -> web.Response:
    await admin(request)
    audit = request.app[keys.AUDIT]
    await audit.flush()
    verdict = await audit.verify()
    return json_response(
        {"ok": verdict.ok, "entries": verdict.entries, "problem": verdict.problem or None, "entry": verdict.entry_id}
    )


class CapacityMonitor:
    """The latest reading of the store's memory, and the warnings its changes call for."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self.latest: Memory | None = None
        self.watermarks = Watermarks()
        self.policy_checked = False

    async def check_policy(self, *, at_start: bool = False) -> None:
        """Read Redis's ``maxmemory-policy``: at start, an evicting one is a ConfigError; later, an error line.

        Where ``CONFIG`` is not allowed (managed Redis), one warning and the hub goes on.
        """
        policy = await self.capacity.eviction_policy()
        self.policy_checked = True
        if policy is None:
            log.warning(
                "cannot read Redis's maxmemory-policy (CONFIG is not allowed here): make sure it is noeviction, "
                "or Redis will silently delete stored objects once it is full"
            )
            return
        problem = eviction_problem(policy)
        if problem is None:
            return
        if at_start:
            raise ConfigError(problem)
        log.error("%s", problem)  # Redis was unreachable at start: the hub runs already, and says so loudly

    async def check(self) -> Memory | None:
        """Read the store's memory now, log a mark newly crossed; None if Redis does not say or cannot be reached."""
        try:
            memory = await self.capacity.memory()
        except StoreUnavailable:
            return None  # the health check and the requests say so; a warning every pass would add nothing
        self.latest = memory
        if memory is not None:
            mark = self.watermarks.observe(memory)
            if mark is not None:
                log.warning("%s", warning(mark, memory))
        return memory

    def full(self, memory: Memory | None) -> bool:
        """Whether the store is full: at its limit, or this process's last write was refused for memory."""
        return self.capacity.refused_last_write or (memory is not None and memory.at_limit)

    def metrics(self) -> Iterator[Metric]:
        """Refused writes, and the latest reading of the memory (once one was made, and where Redis allows INFO)."""
        refused = CounterMetricFamily(
            "chub_store_writes_refused",
            "Writes of objects (claims and appends) of this hub process that Redis refused, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(self.capacity.refusals.items()):
            refused.add_metric([reason], count)
        yield refused
        memory = self.latest
        if memory is not None:
            yield gauge("chub_store_memory_used_bytes", "Memory Redis uses (INFO memory: used_memory)", memory.used)
            yield gauge(
                "chub_store_memory_limit_bytes",
                "Redis's memory limit (maxmemory; 0: none): at it, Redis refuses writes",
                memory.limit,
            )


async def capacity_ctx(app: web.Application) -> AsyncIterator[None]:
    """Refuse an evicting Redis, then read the store's memory every :data:`CAPACITY_INTERVAL` seconds."""
    monitor = app[keys.CAPACITY] = CapacityMonitor(app[keys.STORE].capacity)
    try:
        await monitor.check_policy(at_start=True)
    except StoreUnavailable:
        log.warning("Redis does not answer yet: its maxmemory-policy is checked once it does")
    memory = await monitor.check()
    if memory is not None:
        limit = size_text(memory.limit) if memory.limit else "none (maxmemory 0)"
        log.info("store memory: %s used, limit %s", size_text(memory.used), limit)
    app[keys.METRICS].observe_state(monitor.metrics)
    tasks = app[keys.TASKS]
    tasks.start(CAPACITY_TASK, _watch(monitor, tasks.guard(CAPACITY_TASK)))
    yield
    await tasks.stop(CAPACITY_TASK)


async def _watch(monitor: CapacityMonitor, guard: PassGuard) -> None:
    while True:
        await asyncio.sleep(CAPACITY_INTERVAL)
        if not monitor.policy_checked:
            await guard.run(monitor.check_policy)
        await guard.run(monitor.check)
