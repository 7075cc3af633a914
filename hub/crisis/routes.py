"""``/api/v1/crises``: the crisis workflow's HTTP API (thin handlers around the service)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hub import keys
from hub.api import authenticate, int_param, json_response, read_body
from hub.crisis import model
from hub.crisis.service import CrisisService
from hub.crisis.sitrep import render_markdown
from hub.errors import BadRequest, InvalidJson
from hub.events import Event

JSON = frozenset({"application/json"})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/crises", list_crises)
    r.add_post("/api/v1/crises", create_crisis)
    r.add_get("/api/v1/crises/extension-definition", extension_definition)
    r.add_get("/api/v1/crises/{id}", get_crisis)
    r.add_patch("/api/v1/crises/{id}", update_crisis)
    r.add_get("/api/v1/crises/{id}/history", history)
    r.add_get("/api/v1/crises/{id}/updates", updates)
    r.add_post("/api/v1/crises/{id}/updates", add_update)
    r.add_get("/api/v1/crises/{id}/sitreps", sitreps)
    r.add_post("/api/v1/crises/{id}/sitreps", add_sitrep)
    r.add_get("/api/v1/crises/{id}/sitrep", sitrep)
    r.add_get("/api/v1/crises/{id}/acks", acknowledgments)
    r.add_post("/api/v1/crises/{id}/acks", acknowledge)
    r.add_get("/api/v1/crises/{id}/actions", actions)
    r.add_post("/api/v1/crises/{id}/actions", assign)
    r.add_patch("/api/v1/crises/{id}/actions/{action_id}", update_action)


async def service_ctx(app: web.Application) -> AsyncIterator[None]:
    """The crisis service, for the routes and the escalation task; it holds nothing to close."""
    app[keys.CRISIS_SERVICE] = CrisisService(app[keys.STORE], app[keys.CONFIG], app[keys.AUDIT], app[keys.METRICS])
    yield


def _svc(request: web.Request) -> CrisisService:
    return request.app[keys.CRISIS_SERVICE]


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await read_body(request, JSON)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _event_list(found: list[Any]) -> list[dict[str, Any]]:
    return [f.event.envelope() for f in found]


async def list_crises(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    q = request.query
    min_severity = int_param(request, "min_severity", 0, 100, minimum=0) if "min_severity" in q else None
    crises = await _svc(request).list_crises(
        principal,
        status=q.get("status"),
        min_severity=min_severity,
        sector=q.get("sector"),
        include_closed=q.get("include_closed") in ("1", "true"),
    )
    return json_response({"crises": crises})


async def create_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response(await _svc(request).create(principal, await _body(request)), status=201)


async def extension_definition(request: web.Request) -> web.Response:
    await authenticate(request)
    return json_response(
        {"type": "bundle", "id": model.stable_id("bundle", "extension"),
         "objects": [model.hub_identity(), model.extension_definition()]}
    )  # fmt: skip


async def get_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    svc, crisis_id = _svc(request), request.match_info["id"]
    crisis = svc.view(await svc.crisis(principal, crisis_id))
    return json_response(
        {
            "crisis": crisis,
            "updates": _event_list(await svc.updates(principal, crisis_id)),
            "sitreps": _event_list(await svc.sitreps(principal, crisis_id)),
            "actions": await svc.actions(principal, crisis_id),
            "acks": await svc.acknowledgments(principal, crisis_id),
        }
    )


async def update_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response(await _svc(request).revise(principal, request.match_info["id"], await _body(request)))


async def history(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response({"versions": await _svc(request).history(principal, request.match_info["id"])})


async def updates(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response({"events": _event_list(await _svc(request).updates(principal, request.match_info["id"]))})


def _created(event: Event) -> web.Response:
    return json_response(event.envelope(), status=201)


async def add_update(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return _created(await _svc(request).add_update(principal, request.match_info["id"], await _body(request)))


async def sitreps(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response({"events": _event_list(await _svc(request).sitreps(principal, request.match_info["id"]))})


async def add_sitrep(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return _created(await _svc(request).add_sitrep(principal, request.match_info["id"], await _body(request)))


async def sitrep(request: web.Request) -> web.StreamResponse:
    """The newest sitrep as a STIX bundle of what the caller may read, or ``?format=md`` as a briefing."""
    principal = await authenticate(request)
    svc, crisis_id = _svc(request), request.match_info["id"]
    fmt = request.query.get("format", "stix")
    if fmt not in ("stix", "md"):
        raise BadRequest(f"format must be stix or md, got {fmt[:10]!r}")
    crisis, report, refs = await svc.sitrep_bundle(principal, crisis_id)
    if fmt == "stix":
        objects = [orjson.Fragment(report.event.raw), *(orjson.Fragment(f.event.raw) for f in refs)]
        bundle = {"type": "bundle", "id": model.new_id("bundle"), "objects": objects}
        return web.Response(body=orjson.dumps(bundle), content_type="application/stix+json")
    items = [f.event.envelope() for f in refs if f.obj["id"] != crisis_id]
    text = render_markdown(
        svc.view(crisis),
        report.obj,
        [orjson.loads(orjson.dumps(i)) for i in items],
        await svc.actions(principal, crisis_id),
        await svc.acknowledgments(principal, crisis_id),
        names=svc.display_names(),
        now=datetime.now(UTC),
    )
    return web.Response(text=text, content_type="text/markdown", charset="utf-8")


async def acknowledgments(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response({"items": await _svc(request).acknowledgments(principal, request.match_info["id"])})


async def acknowledge(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await _body(request)
    item = body.get("item")
    version = body.get("version")
    if not isinstance(item, str) or (version is not None and not isinstance(version, str)):
        raise BadRequest("give the item's STIX id as item (and optionally its version)")
    ack = await _svc(request).acknowledge(principal, request.match_info["id"], item, version)
    return json_response(ack, status=201)


async def actions(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response({"actions": await _svc(request).actions(principal, request.match_info["id"])})


async def assign(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    action = await _svc(request).assign(principal, request.match_info["id"], await _body(request))
    return json_response(action, status=201)


async def update_action(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    svc = _svc(request)
    action = await svc.update_action(
        principal, request.match_info["id"], request.match_info["action_id"], await _body(request)
    )
    return json_response(action)
