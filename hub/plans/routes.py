"""Plans over HTTP, and the background task that moves them.

``GET /api/v1/crises/{id}/plans`` lists the crisis's runs the caller may
read, each step as it stands (done, running, late, waiting on whom);
``POST`` starts a plan by hand: ``{"plan": "playbook--<UUID>"}``.

The runner: every hub process runs the task, and the plans' lease lets one
of them move the plans at a time; another takes over within the lease's
lifetime if that one dies. It makes a pass when something is appended to a
channel (a crisis declared or raised, an action item moved: the store's
notifications, heard through the stream dispatcher's one subscription) and
at least every ``crisis.escalation_interval`` seconds (delays and timeouts
end without anyone acting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from hub import keys
from hub.plans.service import PlanService, RunView, StepView
from hub.requests import authenticate, json_response, read_json_object
from hub.tasks import PassGuard

log = logging.getLogger(__name__)

TASK: Final = "plans"
SETTLE: Final = 0.1
"""Seconds to let a burst of appends end before a pass."""
MIN_GAP: Final = 0.25
"""Seconds between passes at least: a flood of indicators on some channel wakes the task, it must not spin."""


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/crises/{id}/plans", list_runs)
    app.router.add_post("/api/v1/crises/{id}/plans", start_run)


async def plans_ctx(app: web.Application) -> AsyncIterator[None]:
    """The plans' service, and the runner task in this process."""
    app[keys.PLANS] = PlanService(app[keys.CRISIS_SERVICE])
    tasks = app[keys.TASKS]
    tasks.start(TASK, _run(app, tasks.guard(TASK)))
    yield
    await tasks.stop(TASK)
    with contextlib.suppress(Exception):
        await app[keys.STORE].plans_lease.release()


async def _run(app: web.Application, guard: PassGuard) -> None:
    service, store = app[keys.PLANS], app[keys.STORE]
    interval = app[keys.CONFIG].crisis.escalation_interval
    lease_ttl = max(3 * interval, 1.0)  # renewed at every pass, at least every interval
    appended = asyncio.Event()
    app[keys.DISPATCHER].on_append(lambda _channel: appended.set())
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        appended.clear()
        if await guard.run(lambda: store.plans_lease.acquire(lease_ttl)):
            moved = await guard.run(service.reconcile)
            if moved:
                log.info("plans: %d move(s)", moved)
        try:
            async with asyncio.timeout(interval):
                await appended.wait()
        except TimeoutError:
            continue
        await asyncio.sleep(max(SETTLE, MIN_GAP - (loop.time() - began)))


def _svc(request: web.Request) -> PlanService:
    return request.app[keys.PLANS]


def step_json(step: StepView) -> dict[str, Any]:
    out = {
        "id": step.id, "name": step.name, "type": step.type, "state": step.state, "visits": step.visits,
        "started": step.started, "due": step.due, "finished": step.finished, "late": step.late,
        "assignees": list(step.assignees), "waiting_on": list(step.waiting_on), "done_by": list(step.done_by),
        "withheld": list(step.withheld), "items": list(step.items),
        "done_by_people": [
            {"stakeholder": holder, "person": {"id": who.id, "name": who.name}} for holder, who in step.done_by_people
        ],
    }  # fmt: skip
    if step.note is not None:
        out["note"] = step.note
    return out


def run_json(view: RunView) -> dict[str, Any]:
    person = view.started_by_person
    return {
        "started_by_person": {"id": person.id, "name": person.name} if person is not None else None,
        "id": view.id, "crisis": view.crisis, "name": view.name, "plan": view.plan, "playbook": view.playbook,
        "playbook_version": view.playbook_version, "trigger": view.trigger, "started_by": view.started_by,
        "started": view.started, "status": view.status, "note": view.note, "finished": view.finished,
        "tlp": view.tlp.token, "parent": view.parent, "steps": [step_json(s) for s in view.steps],
    }  # fmt: skip


async def list_runs(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    runs = await _svc(request).runs(principal, request.match_info["id"])
    return json_response({"runs": [run_json(r) for r in runs]})


async def start_run(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await read_json_object(request, "the body must be a JSON object")
    view = await _svc(request).start_by_hand(principal, request.match_info["id"], body)
    return json_response(run_json(view), status=201)
