"""What administrators watch: the metrics (Prometheus) and the audit trail (query, export, verify)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub import keys
from hub.auth import require_admin
from hub.events import parse_event_id
from hub.policy import Principal
from hub.requests import authenticate, int_param, json_response


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
    if "event" in q and q["event"] != record.get("event") and q["event"] not in record.get("events", []):
        return False
    return True


async def audit_entries(request: web.Request) -> web.Response:
    """A page of the trail, oldest first, optionally filtered by action, actor or event id."""
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
    audit.record("audit.read", actor.id, entries=len(entries))
    return json_response({"entries": entries, "next": cursor if more else None})


async def audit_verify(request: web.Request) -> web.Response:
    await admin(request)
    audit = request.app[keys.AUDIT]
    await audit.flush()
    verdict = await audit.verify()
    return json_response(
        {"ok": verdict.ok, "entries": verdict.entries, "problem": verdict.problem or None, "entry": verdict.entry_id}
    )
