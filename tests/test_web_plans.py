"""Crisis plans in the situation room: a checklist per plan on the board, the whole flow in the crisis view.

Real headless Chromium against a real hub and Redis, as in tests/test_web.py (whose fixtures these
tests share). Plans are pushed, started and moved over the HTTP API as the committee and the
institutions would; the page is only watched.
"""

from __future__ import annotations

from typing import Any

import orjson
from playwright.async_api import Locator, Page, expect

from hub.plans.carrier import wrap
from hub.tlp import TLP
from tests.browser import ARTIFACTS
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.plans.test_check import small_plan
from tests.plans.test_runs import (
    CONVENE,
    ENERGY,
    FAST,
    FINANCE,
    PLAYBOOK,
    TRIAGE,
    complete,
    push_plan,
    steps,
    until_step,
)
from tests.test_web import OpenRoom, browser, rooms

__all__ = ["browser", "rooms"]  # the fixtures of tests/test_web.py, shared

PROTOCOL_NAME = "National cyber crisis protocol"
COMMITTEE_NAMES = [
    "Inter-ministerial Cyber Crisis Committee",
    "Ministry of Security and Civil Protection",
    "Ministry of National Defence",
    "National Civil Protection Coordination",
]


async def start(hub: Hub, crisis: dict[str, Any], playbook: str = PLAYBOOK) -> dict[str, Any]:
    """Start ``playbook`` for ``crisis`` by hand, as the committee's secretariat: the run as it stands."""
    status, run = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/plans", {"plan": playbook})
    assert status == 201, run
    return dict(run)


async def push_late_plan(hub: Hub) -> tuple[dict[str, Any], dict[str, str]]:
    """The smallest plan, its one action due 1 ms after it is assigned: late as soon as anyone looks."""
    playbook, ids = small_plan()
    playbook["workflow"][ids["action"]]["timeout"] = 1
    status, body = await call(hub, "cidge", "POST", "/api/v1/channels/committee/objects",
                              wrap(orjson.dumps(playbook), TLP.AMBER))  # fmt: skip
    assert status in (200, 201, 202) and not body.get("rejected"), body
    return playbook, ids


def done_count(run: dict[str, Any]) -> int:
    return sum(1 for s in run["steps"] if s["state"] in ("completed", "skipped"))


def card(page: Page, crisis: dict[str, Any]) -> Locator:
    return page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')


def checklist_step(scope: Locator, step_id: str) -> Locator:
    return scope.locator(f'.plan-checklist .plan-step[data-step-id="{step_id}"]')


def flow_step(scope: Locator, step_id: str) -> Locator:
    return scope.locator(f'.plan-run .flow-step[data-step-id="{step_id}"]')


async def test_the_board_shows_where_the_plan_stands_and_follows_it_live_when_triage_is_done(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    run = await start(hub, crisis)
    room = await rooms(hub, "cidge")
    page = room.page
    await page.evaluate("window.notReloaded = true")
    checklist = card(page, crisis).locator(".plan-checklist")
    await expect(checklist.locator(".plan-name")).to_have_text(PROTOCOL_NAME)
    await expect(checklist.locator(".plan-progress")).to_have_text(
        f"{done_count(run)} of {len(run['steps'])} steps done"
    )
    triage = checklist_step(card(page, crisis), TRIAGE)
    await expect(triage).to_have_attribute("data-state", "running")
    await expect(triage.locator(".step-name")).to_have_text("Detection and triage")
    await expect(triage.locator(".step-state")).to_have_text("running")
    await expect(triage).to_contain_text("waiting on National CERT")
    await expect(triage.locator(".step-waiting")).to_have_attribute("data-stakeholder", "cert-mx")
    await expect(triage).to_contain_text("due in 30 min")  # the protocol gives triage 30 minutes: not late
    await expect(triage.locator(".badge-late")).to_have_count(0)
    await expect(checklist_step(card(page, crisis), CONVENE)).to_have_count(0)  # not reached: not on the board
    await page.screenshot(path=str(ARTIFACTS / "plans-board.png"))

    # The National CERT completes its item over the API: the board follows without a reload.
    await complete(hub, crisis["id"], steps(run)[TRIAGE]["items"][0], "cert-mx")
    await expect(triage).to_have_attribute("data-state", "completed")
    await expect(triage.locator(".step-mark")).to_have_text("✓")
    await expect(triage.locator(".step-state")).to_have_text("done")
    await expect(triage).to_contain_text("by National CERT")
    convene = checklist_step(card(page, crisis), CONVENE)
    await expect(convene).to_have_attribute("data-state", "running")
    await expect(convene.locator(".step-name")).to_have_text("Convene the crisis committee")
    await expect(convene.locator(".step-waiting")).to_have_text(COMMITTEE_NAMES)
    moved = (await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/plans"))[1]["runs"][0]
    await expect(checklist.locator(".plan-progress")).to_have_text(
        f"{done_count(moved)} of {len(moved['steps'])} steps done"
    )
    assert done_count(moved) > done_count(run)
    assert await page.evaluate("window.notReloaded") is True


async def test_a_run_that_moves_without_any_action_item_reaches_the_board_live(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    """Only the run's own versions are written (its one step can assign nobody): the run's events alone show it."""
    hub = await hub_factory(crisis=FAST)
    playbook, ids = small_plan()
    playbook["agent_definitions"][ids["agent"]]["name"] = "Central Bank"  # AMBER+STRICT: may not read RED
    status, body = await call(hub, "cidge", "POST", "/api/v1/channels/committee/objects",
                              wrap(orjson.dumps(playbook), TLP.AMBER))  # fmt: skip
    assert status in (200, 201, 202) and not body.get("rejected"), body
    crisis = await new_crisis(hub, severity=3, tlp="red")
    room = await rooms(hub, "cidge")
    page = room.page
    await expect(card(page, crisis)).to_be_visible()
    await expect(card(page, crisis).locator(".plan-checklist")).to_have_count(0)

    run = await start(hub, crisis, playbook["id"])
    # The step fails; the plan goes on regardless (on_completion, as CACAO says) to its end.
    assert run["status"] == "completed" and steps(run)[ids["action"]]["state"] == "failed", run
    assert not steps(run)[ids["action"]]["items"], run
    checklist = card(page, crisis).locator(f'.plan-checklist[data-run-id="{run["id"]}"]')
    await expect(checklist.locator(".plan-progress")).to_have_text(
        f"completed, {done_count(run)} of {len(run['steps'])} steps done"
    )
    failed = checklist_step(card(page, crisis), ids["action"])
    await expect(failed.locator(".step-mark")).to_have_text("✕")
    await expect(failed.locator(".step-state")).to_have_text("failed")
    await expect(failed).to_contain_text(steps(run)[ids["action"]]["note"])


async def test_a_step_past_its_due_time_says_late_on_the_board_and_in_the_crisis_view(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    playbook, ids = await push_late_plan(hub)
    late_crisis = await new_crisis(hub, name="Payment switch outage", severity=3)
    on_time_crisis = await new_crisis(hub, name="Refinery ransomware", severity=3)
    late_run = await start(hub, late_crisis, playbook["id"])
    await start(hub, on_time_crisis)
    assert steps(late_run)[ids["action"]]["state"] == "running"
    room = await rooms(hub, "cidge")
    page = room.page

    late = checklist_step(card(page, late_crisis), ids["action"])
    await expect(late).to_have_attribute("data-late", "true")
    await expect(late.locator(".badge-late")).to_have_text("LATE")  # in words, not by colour alone
    await expect(late.locator(".step-state")).to_have_text("running")
    await expect(late).to_contain_text("overdue")
    on_time = checklist_step(card(page, on_time_crisis), TRIAGE)
    await expect(on_time).to_have_attribute("data-state", "running")
    await expect(on_time).not_to_have_attribute("data-late", "true")
    await expect(card(page, on_time_crisis).locator(".badge-late")).to_have_count(0)

    await card(page, late_crisis).locator(".crisis-open").click()
    dialog = page.locator("#crisis-dialog")
    in_view = flow_step(dialog, ids["action"])
    await expect(in_view.locator(".badge-late")).to_have_text("LATE")
    await expect(in_view.locator(".step-due")).to_contain_text("overdue")


async def test_the_crisis_view_shows_every_step_of_the_flow_and_who_was_not_assigned_and_why(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    """A RED crisis: the energy and finance operators may not read RED, so their steps fail and the view says why."""
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3, tlp="red")
    run = await start(hub, crisis)
    await complete(hub, crisis["id"], steps(run)[TRIAGE]["items"][0], "cert-mx")
    convened = await until_step(hub, crisis["id"], CONVENE, "running")
    for member, item in zip(steps(convened)[CONVENE]["assignees"], steps(convened)[CONVENE]["items"], strict=True):
        await complete(hub, crisis["id"], item, member)
    await until_step(hub, crisis["id"], ENERGY, "failed")
    _, answer = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/plans")
    [now] = answer["runs"]
    assert any(s["state"] == "pending" for s in now["steps"])

    room = await rooms(hub, "cidge")
    page = room.page
    await card(page, crisis).locator(".crisis-open").click()
    dialog = page.locator("#crisis-dialog")
    flow = dialog.locator(f'.plan-run[data-run-id="{run["id"]}"] .flow-step')
    # Every step, in the playbook's order, each in the state the hub gives it; those not reached included.
    await expect(flow.locator(".step-name")).to_have_text([s["name"] for s in now["steps"]])
    for i, step in enumerate(now["steps"]):
        await expect(flow.nth(i)).to_have_attribute("data-state", step["state"])
    pending = [s for s in now["steps"] if s["state"] == "pending"]
    await expect(dialog.locator('.flow-step[data-state="pending"] .step-state')).to_have_text(
        ["not reached"] * len(pending)
    )
    await expect(dialog.locator(".plan-run .plan-progress")).to_have_text(
        f"{done_count(now)} of {len(now['steps'])} steps done"
    )
    await expect(dialog.locator(".plan-run .tlp")).to_have_text("TLP:RED")

    triage = flow_step(dialog, TRIAGE)
    await expect(triage.locator(".step-type")).to_have_text("Action")
    await expect(triage.locator(".step-mark")).to_have_text("✓")
    await expect(triage.locator(".flow-meta")).to_contain_text("Assigned to National CERT")
    await expect(triage.locator(".flow-meta")).to_contain_text("Done by National CERT")
    await expect(triage.locator(".step-due")).to_have_text(f"due {await due_text(page, steps(run)[TRIAGE]['due'])}")
    energy = flow_step(dialog, ENERGY)
    await expect(energy.locator(".step-state")).to_have_text("failed")
    await expect(energy.locator(".flow-withheld")).to_have_text(
        "Not assigned: State Oil Company, Federal Electricity Commission — may not read TLP:RED"
    )
    await expect(energy.locator(".flow-note")).to_have_text(steps(now)[ENERGY]["note"])
    await expect(flow_step(dialog, FINANCE).locator(".flow-withheld")).to_have_text(
        "Not assigned: Central Bank — may not read TLP:RED"
    )
    await page.screenshot(path=str(ARTIFACTS / "plans-crisis.png"), full_page=True)


async def due_text(page: Page, iso: str) -> str:
    """A due time as the page writes times elsewhere: its own shortTime (format.js), on the hub's clock now."""
    script = "async iso => (await import('/static/js/format.js')).shortTime(Date.parse(iso), Date.now())"
    return str(await page.evaluate(script, iso))


async def test_a_committee_member_starts_a_stored_plan_from_the_crisis_view_and_an_institution_cannot(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    crisis = await new_crisis(hub, severity=3)
    bank = await rooms(hub, "banxico")  # reads the crisis, but may not change it
    await card(bank.page, crisis).locator(".crisis-open").click()
    await expect(bank.page.locator("#crisis-dialog #crisis-dialog-title")).to_have_text(crisis["name"])
    await expect(bank.page.locator("#crisis-dialog .plan-start, #crisis-dialog .detail-plans")).to_have_count(0)

    room = await rooms(hub, "cidge")
    page = room.page
    dialog = page.locator("#crisis-dialog")
    # The stored plans are listed over TAXII (match[type]), not only taken from the last day's stream.
    listing = "/taxii2/api/collections/committee/objects?match%5Btype%5D=course-of-action"
    async with page.expect_response(lambda r: listing in r.url) as listed:
        await card(page, crisis).locator(".crisis-open").click()
    response = await listed.value
    assert response.status == 200 and PLAYBOOK in await response.text()
    choice = dialog.locator(".plan-start select")
    await expect(choice.locator("option")).to_have_text([PROTOCOL_NAME])
    await expect(choice).to_have_value(PLAYBOOK)
    await expect(dialog.locator(".detail-plans .empty")).to_have_text("No plan runs for this crisis.")
    await dialog.get_by_role("button", name="Start plan").click()

    triage = flow_step(dialog, TRIAGE)
    await expect(triage).to_have_attribute("data-state", "running")
    await expect(triage.locator(".flow-meta")).to_contain_text("Waiting on National CERT")
    await expect(dialog.locator(".plan-run-meta")).to_contain_text(
        "by Inter-ministerial Cyber Crisis Committee by hand"
    )
    _, answer = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/plans")
    [run] = answer["runs"]
    assert (run["trigger"], run["started_by"]) == ("by-hand", "cidge")
    # The institution's page follows live: the run is in its view too, still without a start control.
    await expect(flow_step(bank.page.locator("#crisis-dialog"), TRIAGE)).to_have_attribute("data-state", "running")
    await expect(bank.page.locator("#crisis-dialog .plan-start")).to_have_count(0)


async def test_an_exercise_plan_says_exercise_and_a_real_one_does_not(hub_factory: HubFactory, rooms: OpenRoom) -> None:
    hub = await hub_factory(crisis=FAST)
    await push_plan(hub)
    real = await new_crisis(hub, name="Refinery ransomware", severity=3)
    drill = await new_crisis(hub, name="Grid blackout drill", severity=3, exercise=True)
    await start(hub, real)
    await start(hub, drill)
    room = await rooms(hub, "cidge")
    page = room.page
    await expect(card(page, drill).locator(".plan-checklist .plan-head .badge-exercise")).to_have_text("EXERCISE")
    await expect(checklist_step(card(page, real), TRIAGE)).to_have_attribute("data-state", "running")
    await expect(card(page, real).locator(".plan-checklist .badge-exercise")).to_have_count(0)
    await card(page, drill).locator(".crisis-open").click()
    await expect(page.locator("#crisis-dialog .plan-run-head .badge-exercise")).to_have_text("EXERCISE")
