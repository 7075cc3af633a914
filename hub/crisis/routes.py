"""``/api/v1/crises``: the crisis workflow's HTTP API (thin handlers around the service).

Each handler reads a request, calls :class:`~hub.crisis.service.CrisisService`
and writes its answer as JSON: the ``*_json`` functions below are the one
place that says how a crisis, an action item or an acknowledgment looks on
the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hub import keys
from hub.crisis import objects, report
from hub.crisis.model import Acknowledgment, AckStatus, ActionItem, Crisis, Revision
from hub.crisis.service import CrisisService
from hub.crisis.sitrep import PlanProgress, StepProgress, render_markdown
from hub.errors import BadRequest
from hub.events import Event
from hub.i18n import LANGUAGES, from_accept_language
from hub.plans.service import RunView
from hub.policy import Principal
from hub.requests import authenticate, int_param, json_response, read_json_object


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
    r.add_get("/api/v1/crises/{id}/report", after_action_report)
    r.add_get("/api/v1/crises/{id}/acks", acknowledgments)
    r.add_post("/api/v1/crises/{id}/acks", acknowledge)
    r.add_get("/api/v1/crises/{id}/actions", actions)
    r.add_post("/api/v1/crises/{id}/actions", assign)
    r.add_patch("/api/v1/crises/{id}/actions/{action_id}", update_action)


async def service_ctx(app: web.Application) -> AsyncIterator[None]:
    """The crisis service, for the routes and the escalation task; it holds nothing to close."""
    app[keys.CRISIS_SERVICE] = CrisisService(
        app[keys.STORE], app[keys.CONFIG], app[keys.AUDIT], app[keys.METRICS], app[keys.PEOPLE]
    )
    yield


def _svc(request: web.Request) -> CrisisService:
    return request.app[keys.CRISIS_SERVICE]


async def _body(request: web.Request) -> dict[str, Any]:
    return await read_json_object(request, "the body must be a JSON object")


def _event_list(events: list[Event]) -> list[dict[str, Any]]:
    return [e.envelope() for e in events]


# the answers ---------------------------------------------------------------------------
def _fields(value: object, names: str) -> dict[str, Any]:
    """``{name: value.name}`` for the space-separated ``names``, in that order (the answer's field order)."""
    return {name: getattr(value, name) for name in names.split()}


def crisis_json(crisis: Crisis) -> dict[str, Any]:
    severity = crisis.severity
    return {
        "id": crisis.id,
        "severity": {"level": severity.level, "name": severity.name, "colour": severity.colour},
        **_fields(crisis, "category subcategory status lead affected_sectors affected_stakeholders name description"),
        "channel": crisis.channel,
        "tlp": crisis.tlp.token,
        **_fields(crisis, "created modified updated updated_by updated_by_person event_id exercise"),
    }


def revision_json(revision: Revision) -> dict[str, Any]:
    return {**_fields(revision, "version time by event_id"), "changes": dict(revision.changes)}


def action_json(action: ActionItem) -> dict[str, Any]:
    """The action item's STIX properties (but its type, spec_version and extensions), then where it stands."""
    out = _fields(action, "id created modified crisis_ref name assignee assigned_by due status escalated")
    if action.assignee_person is not None:
        out["assignee_person"] = dict(action.assignee_person)
    if action.description is not None:
        out["description"] = action.description
    out.update(action.common)
    if action.comment is not None:
        out["comment"] = action.comment
    out.update(
        _fields(action, "overdue channel"),
        tlp=action.tlp.token,
        **_fields(action, "updated updated_by updated_by_person"),
    )
    return out


def ack_json(ack: Acknowledgment) -> dict[str, Any]:
    return _fields(ack, "item version acknowledged_by person time event_id")


def ack_status_json(status: AckStatus) -> dict[str, Any]:
    return {
        **_fields(status, "id type label source version event_id"),
        "acknowledged": [
            {"stakeholder": a.acknowledged_by, "person": a.person, "time": a.time} for a in status.acknowledged
        ],
        "pending": status.pending,
    }


def plan_progress(run: RunView) -> PlanProgress:
    """A plan run as the briefing tells it: its steps done, and those now running or waiting, late first."""
    reached = [s for s in run.steps if s.state != "pending"]
    waiting = [s for s in reached if s.state in ("running", "delayed") and s.type in ("action", "playbook-action")]
    waiting.sort(key=lambda s: (not s.late, s.due or ""))
    return PlanProgress(
        name=run.name,
        status=run.status,
        done=sum(1 for s in reached if s.state in ("completed", "skipped")),
        steps=len(run.steps),
        open=tuple(StepProgress(s.name, s.state, s.due, s.late, s.waiting_on) for s in waiting),
    )


# the handlers --------------------------------------------------------------------------
def _lang_param(request: web.Request) -> str | None:
    """``?lang=en|es``, or None when absent."""
    text = request.query.get("lang")
    if text is not None and text not in LANGUAGES:
        raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, got {text[:10]!r}")
    return text


def _markdown(text: str, lang: str) -> web.Response:
    """A Markdown answer in ``lang``; it may differ by the reader's ``Accept-Language``, which caches must know."""
    headers = {"Content-Language": lang, "Vary": "Accept-Language"}
    return web.Response(text=text, content_type="text/markdown", charset="utf-8", headers=headers)


async def _reader_language(request: web.Request, principal: Principal, asked: str | None) -> str:
    """The language of what the hub writes for this reader: ``?lang``, else the person's own choice, else what
    the request's ``Accept-Language`` prefers, else the hub's (``hub.language``)."""
    if asked is not None:
        return asked
    if principal.person is not None:
        person = await request.app[keys.PEOPLE].get(principal.person.id)
        if person is not None and person.language:
            return person.language
    return from_accept_language(request.headers.get("Accept-Language")) or request.app[keys.CONFIG].hub.language


def _exercise_param(request: web.Request) -> bool | None:
    """``?exercise=true`` (only exercises), ``false`` (only real crises), absent: both."""
    text = request.query.get("exercise")
    if text is None:
        return None
    if text not in ("true", "false"):
        raise BadRequest(f"exercise must be true or false, got {text[:20]!r}")
    return text == "true"


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
        exercise=_exercise_param(request),
    )
    return json_response({"crises": [crisis_json(c) for c in crises]})


async def create_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    return json_response(crisis_json(await _svc(request).create(principal, await _body(request))), status=201)


async def extension_definition(request: web.Request) -> web.Response:
    await authenticate(request)
    return json_response(
        {"type": "bundle", "id": objects.stable_id("bundle", "extension"),
         "objects": [objects.hub_identity(), objects.extension_definition()]}
    )  # fmt: skip


async def get_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    svc, crisis_id = _svc(request), request.match_info["id"]
    crisis = await svc.crisis(principal, crisis_id)
    return json_response(
        {
            "crisis": crisis_json(crisis),
            "updates": _event_list(await svc.updates(principal, crisis_id)),
            "sitreps": _event_list(await svc.sitreps(principal, crisis_id)),
            "actions": [action_json(a) for a in await svc.actions(principal, crisis_id)],
            "acks": [ack_status_json(s) for s in await svc.acknowledgments(principal, crisis_id)],
        }
    )


async def update_crisis(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    crisis = await _svc(request).revise(principal, request.match_info["id"], await _body(request))
    return json_response(crisis_json(crisis))


async def history(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    versions = await _svc(request).history(principal, request.match_info["id"])
    return json_response({"versions": [revision_json(v) for v in versions]})


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
    """The newest sitrep as a STIX bundle of what the caller may read, or ``?format=md`` as a briefing in the
    reader's language (``?lang``)."""
    principal = await authenticate(request)
    svc, crisis_id = _svc(request), request.match_info["id"]
    fmt = request.query.get("format", "stix")
    if fmt not in ("stix", "md"):
        raise BadRequest(f"format must be stix or md, got {fmt[:10]!r}")
    asked = _lang_param(request)
    export = await svc.sitrep_bundle(principal, crisis_id)
    if fmt == "stix":
        exported = [orjson.Fragment(e.raw) for e in export.events]
        bundle = {"type": "bundle", "id": objects.new_id("bundle"), "objects": exported}
        return web.Response(body=orjson.dumps(bundle), content_type="application/stix+json")
    lang = await _reader_language(request, principal, asked)
    text = render_markdown(
        export.crisis,
        export.sitrep,
        export.entries,
        await svc.actions(principal, crisis_id),
        await svc.acknowledgments(principal, crisis_id),
        names=svc.display_names(),
        now=datetime.now(UTC),
        plans=[plan_progress(run) for run in await request.app[keys.PLANS].runs(principal, crisis_id)],
        lang=lang,
        zone=request.app[keys.CONFIG].hub.time_zone,
    )
    return _markdown(text, lang)


async def after_action_report(request: web.Request) -> web.Response:
    """The after-action report of what the caller may read: JSON (the default, the same in every language), or
    ``?format=md`` in the reader's language (``?lang``)."""
    principal = await authenticate(request)
    svc = _svc(request)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "md"):
        raise BadRequest(f"format must be json or md, got {fmt[:10]!r}")
    asked = _lang_param(request)
    found = await svc.report(principal, request.match_info["id"])
    if fmt == "json":
        return json_response(report.report_json(found))
    lang = await _reader_language(request, principal, asked)
    text = report.render_markdown(
        found, names=svc.display_names(), now=datetime.now(UTC), lang=lang, zone=request.app[keys.CONFIG].hub.time_zone
    )
    return _markdown(text, lang)


async def acknowledgments(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    statuses = await _svc(request).acknowledgments(principal, request.match_info["id"])
    return json_response({"items": [ack_status_json(s) for s in statuses]})


async def acknowledge(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await _body(request)
    item = body.get("item")
    version = body.get("version")
    if not isinstance(item, str) or (version is not None and not isinstance(version, str)):
        raise BadRequest("give the item's STIX id as item (and optionally its version)")
    ack = await _svc(request).acknowledge(principal, request.match_info["id"], item, version)
    return json_response(ack_json(ack), status=201)


async def actions(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    items = await _svc(request).actions(principal, request.match_info["id"])
    return json_response({"actions": [action_json(a) for a in items]})


async def assign(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    action = await _svc(request).assign(principal, request.match_info["id"], await _body(request))
    return json_response(action_json(action), status=201)


async def update_action(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    svc = _svc(request)
    action = await svc.update_action(
        principal, request.match_info["id"], request.match_info["action_id"], await _body(request)
    )
    return json_response(action_json(action))
