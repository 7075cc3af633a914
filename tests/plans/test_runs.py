"""Plans running in real hubs: started by hand or by a trigger, moved by action items, over HTTP on a real Redis."""

from __future__ import annotations

import asyncio
import importlib.resources
from dataclasses import replace
from typing import Any

import orjson
import pytest

from hub import keys
from hub.config import Config, PlanTrigger, load_config
from hub.plans.carrier import wrap
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.people.helpers import signed_in
from tests.plans.test_check import small_plan
from tests.timing import LONG_WAIT, SETTLE, WAIT

FAST = {"escalation_interval": 0.2}
PROTOCOL = importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()
PLAYBOOK = orjson.loads(PROTOCOL)["id"]
COMMITTEE = ("cidge", "sspc", "sedena", "cnpc")


def step_id(name: str) -> str:
    workflow: dict[str, dict[str, Any]] = orjson.loads(PROTOCOL)["workflow"]
    return next(k for k, v in workflow.items() if v.get("name") == name)


TRIAGE, CONVENE = step_id("Detection and triage"), step_id("Convene the crisis committee")
ENERGY, FINANCE = step_id("Energy: impact assessment"), step_id("Finance: impact assessment")
ADVISORY = step_id("Public advisory")


async def push_plan(hub: Hub, tlp: TLP = TLP.AMBER) -> dict[str, Any]:
    coa = wrap(PROTOCOL, tlp)
    status, body = await call(hub, "cidge", "POST", "/api/v1/channels/committee/objects", coa)
    assert status in (200, 201, 202) and not body.get("rejected"), body
    return coa


async def runs(hub: Hub, crisis_id: str, who: str = "cidge") -> list[dict[str, Any]]:
    status, body = await call(hub, who, "GET", f"/api/v1/crises/{crisis_id}/plans")
    assert status == 200, body
    result: list[dict[str, Any]] = body["runs"]
    return result


def steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in run["steps"]}


async def until_step(hub: Hub, crisis_id: str, step: str, state: str, run_id: str | None = None) -> dict[str, Any]:
    """Wait until the run's ``step`` is in ``state``; the run then. ``run_id``: which run, when the crisis may
    have more than one (this module's trigger starts one for a crisis of severity 3 or more, besides a run
    started by hand); else the first."""
    async with asyncio.timeout(LONG_WAIT):
        while True:
            found = [r for r in await runs(hub, crisis_id) if run_id is None or r["id"] == run_id]
            if found and steps(found[0])[step]["state"] == state:
                return found[0]
            await asyncio.sleep(0.05)


async def complete(hub: Hub, crisis_id: str, item_id: str, who: str, status: str = "completed") -> None:
    path = f"/api/v1/crises/{crisis_id}/actions/{item_id}"
    code, body = await call(hub, who, "PATCH", path, {"status": status})
    assert code == 200, body


async def test_a_committee_member_starts_the_national_protocol_and_completing_triage_convenes_the_committee(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    status, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    assert status == 201, run
    assert (run["status"], run["trigger"], run["started_by"], run["tlp"]) == ("running", "by-hand", "cidge", "amber")
    triage = steps(run)[TRIAGE]
    assert triage["state"] == "running" and triage["assignees"] == ["cert-mx"] and triage["waiting_on"] == ["cert-mx"]
    assert steps(run)[CONVENE]["state"] == "pending"
    # The step is an ordinary action item of the crisis, assigned by the hub, naming its run and step.
    _, actions = await call(hub, "cert-mx", "GET", f"/api/v1/crises/{crisis['id']}/actions")
    [item] = [a for a in actions["actions"] if a["id"] == triage["items"][0]]
    assert item["assignee"] == "cert-mx" and item["assigned_by"] == "hub" and item["name"] == "Detection and triage"

    await complete(hub, crisis["id"], item["id"], "cert-mx")
    moved = await until_step(hub, crisis["id"], CONVENE, "running", run["id"])
    assert steps(moved)[TRIAGE]["state"] == "completed" and steps(moved)[TRIAGE]["done_by"] == ["cert-mx"]
    assert sorted(steps(moved)[CONVENE]["assignees"]) == sorted(COMMITTEE)


async def test_a_red_run_never_reaches_a_stakeholder_that_may_not_read_red(hub_factory: HubFactory) -> None:
    """A RED crisis: its run and items are RED; the energy operators (AMBER+STRICT) are never assigned its steps."""
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3, tlp="red")
    status, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    assert status == 201 and run["tlp"] == "red", run
    await complete(hub, crisis["id"], steps(run)[TRIAGE]["items"][0], "cert-mx")
    convened = await until_step(hub, crisis["id"], CONVENE, "running", run["id"])
    for member, item in zip(steps(convened)[CONVENE]["assignees"], steps(convened)[CONVENE]["items"], strict=True):
        await complete(hub, crisis["id"], item, member)
    # Every sector step names only AMBER+STRICT readers: each fails, and on_completion goes on regardless,
    # as CACAO says, to the committee's public advisory.
    advising = await until_step(hub, crisis["id"], ADVISORY, "running", run["id"])
    energy, finance = steps(advising)[ENERGY], steps(advising)[FINANCE]
    assert energy["state"] == finance["state"] == "failed" and "may read" in energy["note"]
    assert energy["withheld"] == ["pemex", "cfe"] and finance["withheld"] == ["banxico"]
    assert not energy["assignees"] and not energy["items"] and not finance["items"]
    assert steps(advising)[ADVISORY]["assignees"] == ["cidge"]
    code, _ = await call(hub, "pemex", "GET", f"/api/v1/crises/{crisis['id']}/plans")
    assert code == 404  # the crisis itself is RED: not found for a reader who may not see it
    _, actions = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/actions")
    assert {a["tlp"] for a in actions["actions"]} == {"red"}
    assert not {a["assignee"] for a in actions["actions"]} & {"pemex", "cfe", "banxico"}


async def test_starting_a_plan_is_refused_with_reasons(hub: Hub) -> None:
    crisis = await new_crisis(hub, severity=3)
    path = f"/api/v1/crises/{crisis['id']}/plans"
    code, body = await call(hub, "cidge", "POST", path, {"plan": PLAYBOOK})
    assert code == 404 and "no plan" in body["description"]
    await push_plan(hub)
    code, body = await call(hub, "cidge", "POST", path, {"plan": "course-of-action--1"})
    assert code == 400 and "playbook--" in body["description"]
    code, body = await call(hub, "banxico", "POST", path, {"plan": PLAYBOOK})
    assert code == 403, body


@pytest.fixture
def config() -> Config:
    """The demo committee, with the national protocol bound to declarations at severity 3 or more."""
    base = load_config(None)
    trigger = PlanTrigger("protocol", PLAYBOOK, "committee", frozenset({"declared", "raised"}), 3)
    return replace(base, plans=(trigger,))


async def test_a_trigger_starts_the_plan_once_for_a_crisis_declared_at_its_severity(hub_factory: HubFactory) -> None:
    first = await hub_factory(crisis=FAST)
    second = await hub_factory(crisis=FAST)  # two hub processes on one Redis: still one run
    await push_plan(first)
    low = await new_crisis(first, severity=2)
    high = await new_crisis(first, severity=3)
    run = await until_step(first, high["id"], TRIAGE, "running")
    assert run["trigger"] == "declared" and run["started_by"] == "hub"
    await asyncio.sleep(SETTLE)
    assert len(await runs(second, high["id"])) == 1
    assert await runs(first, low["id"]) == []
    # Raised to 4 later: the trigger's run exists already; raised from 2 to 3: now it starts.
    code, _ = await call(first, "cidge", "PATCH", f"/api/v1/crises/{low['id']}", {"severity": 3})
    assert code == 200
    raised = await until_step(first, low["id"], TRIAGE, "running")
    assert raised["trigger"] == "raised"


async def test_a_hub_process_stopped_mid_run_leaves_the_run_to_another_that_loses_and_doubles_nothing(
    hub_factory: HubFactory,
) -> None:
    first = await hub_factory(crisis=FAST)
    second = await hub_factory(crisis=FAST)
    await push_plan(first)
    crisis = await new_crisis(first, severity=3)
    run = await until_step(first, crisis["id"], TRIAGE, "running")
    await first.client.close()  # the process that held the plans' lease (or not: either way one is left)
    await complete(second, crisis["id"], steps(run)[TRIAGE]["items"][0], "cert-mx")
    convened = await until_step(second, crisis["id"], CONVENE, "running")
    items = steps(convened)[CONVENE]["items"]
    for member, item in zip(steps(convened)[CONVENE]["assignees"], items, strict=True):
        await complete(second, crisis["id"], item, member)
    sector = await until_step(second, crisis["id"], ENERGY, "running")
    assert sorted(steps(sector)[ENERGY]["assignees"]) == ["cfe", "pemex"]
    # Nothing doubled: one item per assignee per step, and the crisis holds exactly those.
    _, actions = await call(second, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/actions")
    planned = [a for a in actions["actions"] if a["assigned_by"] == "hub"]
    expected = sum(len(s["items"]) for s in sector["steps"])
    assert len(planned) == expected == len({a["id"] for a in planned})


async def test_a_run_posted_directly_is_refused_so_no_stakeholder_can_forge_a_plan_step(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    _, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    [stored] = (await call(hub, "cidge", "GET", f"/api/v1/objects/{run['id']}"))[1]["events"][-1:]
    forged = {**stored["object"], "modified": "2099-01-01T00:00:00.000Z", "status": "completed"}
    status, answer = await call(hub, "cidge", "POST", "/api/v1/channels/committee/objects", forged)
    assert status == 400 and "crisis API" in answer["rejected"][0]["reason"]
    assert (await runs(hub, crisis["id"]))[0]["status"] == "running"


async def test_a_run_completes_at_the_workflows_end_and_moves_no_more(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    playbook, ids = small_plan()
    coa = wrap(orjson.dumps(playbook), TLP.AMBER)
    status, body = await call(hub, "cidge", "POST", "/api/v1/channels/committee/objects", coa)
    assert status in (200, 201, 202) and not body.get("rejected"), body
    crisis = await new_crisis(hub, severity=1)
    _, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": playbook["id"]})
    await complete(hub, crisis["id"], steps(run)[ids["action"]]["items"][0], "cert-mx")
    done = await until_step(hub, crisis["id"], ids["end"], "completed")
    assert done["status"] == "completed" and done["finished"] is not None
    assert [s["state"] for s in done["steps"]] == ["completed", "completed", "completed"]
    versions = (await call(hub, "cidge", "GET", f"/api/v1/objects/{run['id']}"))[1]["events"]
    await asyncio.sleep(SETTLE)  # passes after the end write nothing more
    assert len((await call(hub, "cidge", "GET", f"/api/v1/objects/{run['id']}"))[1]["events"]) == len(versions)


async def test_the_sitrep_briefing_tells_where_each_plan_stands_and_on_whom_it_waits(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    _, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    code, _ = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/sitreps", {"name": "Sitrep 1"})
    assert code == 201
    _, briefing = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/sitrep?format=md")
    plans = briefing.split("## Plans\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert plans[0] == f"- **{run['name']}** — running, 1 of {len(run['steps'])} steps done"
    assert plans[1].startswith("  - Detection and triage: running, due ") and plans[1].endswith(
        "waiting on National CERT"
    )


async def test_a_plan_runs_for_an_exercise_and_its_run_and_items_say_exercise(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3, exercise=True)
    status, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    assert status == 201, run
    [stored] = (await call(hub, "cidge", "GET", f"/api/v1/objects/{run['id']}"))[1]["events"][-1:]
    assert stored["object"]["exercise"] is True
    item = steps(run)[TRIAGE]["items"][0]
    [version] = (await call(hub, "cidge", "GET", f"/api/v1/objects/{item}"))[1]["events"][-1:]
    assert version["object"]["exercise"] is True


async def test_when_the_process_moving_the_plans_dies_holding_its_lease_another_takes_over(
    hub_factory: HubFactory,
) -> None:
    """The first hub's plans task dies without releasing the lease (as a killed process would): the second
    takes the lease once it lapses, and the run goes on."""
    first = await hub_factory(crisis=FAST)
    await push_plan(first)
    second = await hub_factory(crisis=FAST)
    crisis = await new_crisis(first, severity=3)
    status, run = await call(first, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    assert status == 201, run
    for hub in (first, second):  # whichever holds the lease now: make it the one that dies
        store = hub.client.app[keys.STORE]
        if await store.plans_lease.renew(60):
            dead, alive = hub, (second if hub is first else first)
            break
    else:
        raise AssertionError("no hub process holds the plans' lease")
    task = dead.client.app[keys.TASKS].task("plans")
    assert task is not None
    task.cancel()
    await asyncio.wait({task}, timeout=WAIT)
    await dead.client.app[keys.STORE].plans_lease.renew(1.0)  # as it stood: lapsing on its own
    await complete(alive, crisis["id"], steps(run)[TRIAGE]["items"][0], "cert-mx")
    moved = await until_step(alive, crisis["id"], CONVENE, "running", run["id"])
    assert len(steps(moved)[CONVENE]["items"]) == len(COMMITTEE)


async def test_a_run_names_the_person_who_started_it_and_the_person_who_did_each_step(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    carla = {"id": "carla", "stakeholder": "cert-mx", "name": "Carla Núñez"}
    async with hub.client.post("/api/v1/admin/people", json=carla, headers=hub.auth("cidge")) as response:
        assert response.status == 201
    ana = await signed_in(hub, "ana")
    status, run = await ana.call("POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": PLAYBOOK})
    assert status == 201, run
    assert run["started_by"] == "cidge" and run["started_by_person"] == {"id": "ana", "name": "Ana Ruiz"}
    assert steps(run)[TRIAGE]["done_by_people"] == []
    item = steps(run)[TRIAGE]["items"][0]
    status, _ = await (await signed_in(hub, "carla")).call(
        "PATCH", f"/api/v1/crises/{crisis['id']}/actions/{item}", {"status": "completed"}
    )
    assert status == 200
    moved = await until_step(hub, crisis["id"], CONVENE, "running", run["id"])
    assert moved["started_by_person"] == {"id": "ana", "name": "Ana Ruiz"}  # kept through every move
    assert steps(moved)[TRIAGE]["done_by_people"] == [
        {"stakeholder": "cert-mx", "person": {"id": "carla", "name": "Carla Núñez"}}
    ]
