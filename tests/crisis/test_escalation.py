"""The escalation task outlives any bad pass, and health says when a background task has died.

Against a real hub and Redis. The bad data is written straight to Redis (the
crisis API refuses malformed crisis objects), as a crash or an older hub could
have left it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from hub import keys
from hub.crisis import objects
from hub.stix import StixItem
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.test_observability import sample, scrape
from tests.timing import SETTLE, WAIT

FAST = {"escalation_interval": 0.2}
PAST = "2026-01-01T00:00:00Z"


async def health(hub: Hub) -> tuple[int, Any]:
    async with hub.client.get("/api/v1/health") as response:
        return response.status, await response.json()


async def failures(hub: Hub, task: str = "escalation") -> float:
    try:
        return sample(await scrape(hub), "chub_background_task_failures_total", task=task)
    except AssertionError:  # no failure of that task yet: no sample
        return 0.0


async def overdue_action_is_escalated(hub: Hub, name: str) -> None:
    """Declare a crisis with an overdue action, and wait until the task escalates it."""
    crisis = await new_crisis(hub)
    path = f"/api/v1/crises/{crisis['id']}/actions"
    status, action = await call(hub, "cidge", "POST", path, {"assignee": "cert-mx", "name": name, "due": PAST})
    assert status == 201, action
    async with asyncio.timeout(WAIT):
        while True:
            _, actions = await call(hub, "cidge", "GET", path)
            if [a for a in actions["actions"] if a["id"] == action["id"] and a["escalated"]]:
                return
            await asyncio.sleep(0.05)


async def test_a_malformed_stored_action_does_not_stop_later_escalations(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    now = objects.now_stix()
    # No status: reading it raised KeyError, which ended the task for good. Its id sorts after every other
    # action's, so that a pass that stops at it has escalated the good ones first.
    bad: dict[str, Any] = {
        "type": objects.ACTION_TYPE, "spec_version": "2.1", "id": "crisis-action--ffffffff-ffff-4fff-bfff-ffffffffffff",
        "created": now, "modified": now, "crisis_ref": objects.new_id("incident"), "name": "Broken",
        "assignee": "pemex", "assigned_by": "cidge", "due": "2026-01-01T00:00:00.000Z", "escalated": False,
        "extensions": {objects.EXTENSION_ID: {"extension_type": "new-sdo"}},
    }  # fmt: skip
    item = StixItem(0, bad["id"], bad["type"], now, TLP.AMBER, orjson.dumps(bad), bad)
    await hub.client.app[keys.STORE].append(hub.config.crisis.channel, "cidge", [item])
    await asyncio.sleep(SETTLE)  # several passes over the bad item
    await overdue_action_is_escalated(hub, "Share IOCs")
    status, body = await health(hub)
    assert status == 200 and body["tasks"]["escalation"] == "running", body


async def test_a_pass_that_raises_is_logged_counted_and_followed_by_the_next(
    hub_factory: HubFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Not an item the service could skip: the whole pass raises (Redis answers WRONGTYPE for the action index)."""
    hub = await hub_factory(crisis=FAST)
    store = hub.client.app[keys.STORE]
    index = store.keys.of_type(hub.config.crisis.channel, objects.ACTION_TYPE)
    await store.redis.set(index, "not a set")
    async with asyncio.timeout(WAIT):
        while await failures(hub) < 3:
            await asyncio.sleep(0.1)
    status, body = await health(hub)
    assert status == 200 and body["tasks"]["escalation"] == "running", body
    logged = [r for r in caplog.records if r.exc_info and "escalation" in r.getMessage()]
    assert len(logged) == 1, "the same failure pass after pass: its traceback once, then a line each"
    exc_info = logged[0].exc_info
    assert exc_info is not None and "WRONGTYPE" in str(exc_info[1]) and logged[0].levelno == logging.ERROR
    assert [r for r in caplog.records if "the same failure again" in r.getMessage()]

    await store.redis.delete(index)
    await overdue_action_is_escalated(hub, "Restore backups")


async def test_health_reports_a_dead_background_task(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    status, body = await health(hub)
    running = dict.fromkeys(("audit", "capacity", "escalation", "ingest-gate", "plans"), "running")
    assert (status, body["status"], body["redis"], body["tasks"]) == (200, "ok", "ok", running)

    task = hub.client.app[keys.TASKS].task("escalation")
    assert task is not None
    task.cancel()  # as if it had died: nothing but the hub's own stop may end it
    await asyncio.wait({task}, timeout=WAIT)
    status, body = await health(hub)
    assert status == 503
    assert (body["status"], body["redis"], body["tasks"]) == ("degraded", "ok", {**running, "escalation": "dead"})
    assert await failures(hub) == 1


async def test_a_stopped_hub_reports_no_dead_task(hub: Hub) -> None:
    """Stopping is not dying: the hub's own stop takes its tasks off the watch first."""
    tasks = hub.client.app[keys.TASKS]
    running = [tasks.task(name) for name in ("audit", "escalation")]
    await hub.client.close()
    assert all(t is not None and t.done() for t in running)
    assert tasks.states() == {}
    assert await failures_in(hub) == 0


async def failures_in(hub: Hub) -> float:
    """The failures counted, read from the registry itself (the hub no longer serves /metrics)."""
    registry = hub.client.app[keys.METRICS].registry
    return sum(
        float(s.value)
        for metric in registry.collect()
        if metric.name == "chub_background_task_failures"
        for s in metric.samples
        if s.name.endswith("_total")
    )
