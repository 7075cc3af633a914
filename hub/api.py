"""The hub's HTTP API under ``/api/v1``: thin handlers around the store and the policy."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from hub import keys
from hub.crisis.objects import hub_identity, stable_id
from hub.crisis.service import HUB_SOURCE
from hub.errors import BadRequest, Forbidden, NotFound
from hub.events import Event
from hub.identities import identity_id, identity_object
from hub.ingest import check_channel_write, ingest
from hub.paging import Page, PageScan
from hub.policy import (
    Level,
    channel_rights,
    highest_ceiling,
    interfaces,
    may_administer,
    may_list_stakeholders,
    may_read,
    may_read_channel,
    readable_channels,
    rights_key,
)
from hub.requests import authenticate, int_param, json_response, known_channel, read_body
from hub.stix import Rejection, StixItem
from hub.taxii.cursors import events_after, events_next
from hub.versions import newest, order

STIX_MEDIA_TYPES = frozenset({"application/json", "application/stix+json"})
DEFAULT_PAGE = 100


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/channels", channels)
    app.router.add_get("/api/v1/stakeholders", stakeholders)
    app.router.add_get("/api/v1/identities", identities)
    app.router.add_post("/api/v1/channels/{channel}/objects", post_objects)
    app.router.add_get("/api/v1/channels/{channel}/events", channel_events)
    app.router.add_get("/api/v1/objects/{stix_id}", get_object)


async def health(request: web.Request) -> web.Response:
    """200 if Redis answers and every background task runs; 503 ``unavailable`` without Redis, else ``degraded``.

    A full store (at Redis's ``maxmemory``, or this process's last write refused for memory) is
    ``full``, still 200: reads go on, and a load balancer must not take every hub out for it.
    ``memory`` says Redis's ``used`` bytes and its ``limit`` (null: none), read now.
    """
    tasks = request.app[keys.TASKS].states()
    if not await request.app[keys.STORE].ping():
        return json_response({"status": "unavailable", "redis": "down", "tasks": tasks}, status=503)
    monitor = request.app[keys.CAPACITY]
    memory = await monitor.check()
    redis = "full" if monitor.full(memory) else "ok"
    body: dict[str, Any] = {"status": redis, "redis": redis, "tasks": tasks}
    if memory is not None:
        body["memory"] = {"used": memory.used, "limit": memory.limit or None}
    if "dead" in tasks.values():
        return json_response({**body, "status": "degraded"}, status=503)
    return json_response(body)


async def me(request: web.Request) -> web.Response:
    """The caller's rights, as the policy gives them: overall and per channel."""
    principal = await authenticate(request)
    config = request.app[keys.CONFIG]
    ceiling = highest_ceiling(principal)
    rights = [channel_rights(principal, name) for name in config.channels]
    person = await request.app[keys.PEOPLE].get(principal.person.id) if principal.person else None
    return json_response(
        {
            "language": person.language if person is not None else None,
            "hub_language": config.hub.language,
            "time_zone": config.hub.time_zone,
            "stakeholder": principal.id,
            "name": principal.name,
            "sector": principal.sector,
            "roles": list(principal.roles),
            "admin": bool(may_administer(principal)),
            "tlp_ceiling": ceiling.token if ceiling is not None else None,
            "access": interfaces(principal),
            "person": {"id": principal.person.id, "name": principal.person.name} if principal.person else None,
            "channels": {
                r.channel: {
                    "read": r.read,
                    "write": r.write,
                    "tlp_ceiling": r.ceiling.token if r.ceiling is not None else None,
                }
                for r in rights
            },
        }
    )


async def channels(request: web.Request) -> web.Response:
    """The channels that exist for the caller (it may read or write them), with its rights on each."""
    principal = await authenticate(request)
    config = request.app[keys.CONFIG]
    rights = [(c, channel_rights(principal, c.name)) for c in config.channels.values()]
    return json_response(
        {
            "channels": [
                {
                    "name": c.name,
                    "title": c.title,
                    "description": c.description,
                    "sector": c.sector,
                    "default_tlp": c.default_tlp.token,
                    "max_tlp": c.max_tlp.token,
                    "can_read": r.read,
                    "can_write": r.write,
                }
                for c, r in rights
                if r.visible
            ]
        }
    )


async def stakeholders(request: web.Request) -> web.Response:
    """Who is on the hub, by name, with the hub's title and its crisis severity scale: what a screen labels with.

    Only what the config says openly about each stakeholder (id, display name,
    sector); roles and rights stay out (see :func:`hub.policy.may_list_stakeholders`).
    Like ``me`` and ``channels`` this reads configuration, not events, so it
    is not an audited read.
    """
    principal = await authenticate(request)
    decision = may_list_stakeholders(principal)
    if not decision:
        raise Forbidden(decision.reason)
    config = request.app[keys.CONFIG]
    return json_response(
        {
            "title": config.hub.title,
            "hub_source": HUB_SOURCE,
            "stakeholders": [
                {"id": s.id, "name": s.name, "sector": s.sector, "identity": identity_id(s.id)}
                for s in sorted(config.stakeholders.values(), key=lambda s: s.id)
            ],
            "severity_scale": [
                {"level": s.level, "name": s.name, "colour": s.colour, "description": s.description}
                for s in config.crisis.severity
            ],
        }
    )


async def identities(request: web.Request) -> web.Response:
    """Every stakeholder's STIX identity and the hub's, as a STIX bundle: what ``created_by_ref`` may name.

    The same directory as :func:`stakeholders`, in STIX, under the same decision.
    """
    principal = await authenticate(request)
    decision = may_list_stakeholders(principal)
    if not decision:
        raise Forbidden(decision.reason)
    config = request.app[keys.CONFIG]
    objects = [hub_identity(), *(identity_object(s.id, s.name, s.sector) for s in config.stakeholders.values())]
    bundle = {"type": "bundle", "id": stable_id("bundle", "identities", *config.stakeholders), "objects": objects}
    return web.Response(body=orjson.dumps(bundle), content_type="application/stix+json")


def item_summary(item: StixItem, event_id: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "modified": item.version or None, "event_id": event_id}


def rejection_summary(rejection: Rejection) -> dict[str, Any]:
    return {"index": rejection.index, "id": rejection.id, "reason": rejection.reason}


async def post_objects(request: web.Request) -> web.Response:
    """Validate, authorise and append a bundle (or one object) to a channel."""
    principal = await authenticate(request)
    channel = known_channel(request)
    check_channel_write(principal, channel)
    await request.app[keys.GATE].admit(principal, channel.name, "api")  # held, unread, while the streams are behind
    body = await read_body(request, STIX_MEDIA_TYPES)
    # Validation is CPU-bound (the STIX pattern grammar): off the event loop, in a worker process or a thread.
    submission = await request.app[keys.VALIDATOR].parse(body, channel.default_tlp)
    app = request.app
    result = await ingest(
        app[keys.STORE], app[keys.CONFIG].principals, principal, channel, submission, app[keys.AUDIT],
        metrics=app[keys.METRICS],
    )  # fmt: skip
    status = 201 if result.accepted else 200 if result.duplicates else 400
    return json_response(
        {
            "accepted": [item_summary(a.item, a.event_id) for a in result.accepted],
            # A duplicate's event id says when and where it was stored first: only for those who may read it.
            "duplicates": [
                item_summary(a.item, a.event_id if may_read(principal, Level(channel.name, a.tlp)) else None)
                for a in result.duplicates
            ],
            "rejected": [rejection_summary(r) for r in result.rejected],
        },
        status=status,
    )


async def channel_events(request: web.Request) -> web.Response:
    """A page of a channel's events the caller may read, oldest first."""
    principal = await authenticate(request)
    channel = known_channel(request)
    decision = may_read_channel(principal, channel.name)
    if not decision:
        raise Forbidden(decision.reason)
    limit = int_param(request, "limit", DEFAULT_PAGE, request.app[keys.CONFIG].hub.page_limit)
    store = request.app[keys.STORE]
    # `after`: an event id, or a `next` this route gave the caller (sealed: see below).
    cursor = await events_after(
        request.app, store, channel.name, rights_key(principal), request.query.get("after", "0")
    )
    # Events above the caller's TLP are skipped, so a page may take several reads; the scan is
    # bounded (hub.paging), and `next` lets the caller continue where it stopped.
    scan = PageScan(limit)
    page: Page | None = None
    while page is None:
        want = scan.want
        batch = await store.read(channel.name, scan.after or cursor, want)
        page = scan.feed(batch, lambda event: may_read(principal, event), end=len(batch) < want)
    events = page.events
    request.app[keys.AUDIT].record_for(
        principal, "read", via="api", channel=channel.name, events=[e.id for e in events], scanned=page.scanned
    )
    following: str | None = None
    if page.after is not None:
        # A full page ends on an event returned; a page cut short by the scan budget may end on one
        # hidden from the caller, whose id would say when it was posted: that position goes sealed.
        full = bool(events) and page.after == events[-1].id
        following = (
            page.after
            if full
            else await events_next(request.app, store, channel.name, rights_key(principal), page.after)
        )
    return json_response(
        {"events": [e.envelope() for e in events], "next": following},
    )


async def get_object(request: web.Request) -> web.Response:
    """The newest readable version of a STIX object (``?versions=all``: every readable version)."""
    principal = await authenticate(request)
    stix_id = request.match_info["stix_id"]
    every = request.query.get("versions", "last")
    if every not in ("last", "all"):
        raise BadRequest(f"versions must be 'last' or 'all', got {every[:20]!r}")
    store = request.app[keys.STORE]
    found: list[Event] = []
    by_channel = await store.versions(readable_channels(principal), stix_id)
    for channel, versions in by_channel.items():
        candidates = await store.events_by_id(channel, list(versions.values()))
        found.extend(e for e in candidates if may_read(principal, e))
    last = newest(found)
    if last is None:
        raise NotFound(f"no object {stix_id} that you may read")
    chosen = order(found) if every == "all" else [last]
    for channel in {e.channel for e in chosen}:
        request.app[keys.AUDIT].record_for(
            principal, "read", via="api", channel=channel, events=[e.id for e in chosen if e.channel == channel]
        )
    return json_response({"id": stix_id, "events": [e.envelope() for e in chosen]})
