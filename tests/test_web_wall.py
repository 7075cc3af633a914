"""The situation room on a wall: 1920×1080, large type, nobody at the keyboard, nothing scrolled.

Real headless Chromium against a real hub and Redis, as in tests/test_web.py (whose fixtures these
tests share). What the room must get right on a wall: the timeline is not buried under repeated
sightings, labels keep the fact that tells two things apart, nothing stale or contradictory is
shown, the board carries its own clock and who is late with what, the charts say something, and
it all fits. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, ViewportSize, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from hub.tlp import TLP
from tests.browser import ARTIFACTS, WAIT_MS, Room
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.stixgen import indicator
from tests.stream.clients import post
from tests.test_web import OpenRoom, browser, rooms

__all__ = ["browser", "rooms"]  # the fixtures of tests/test_web.py, shared

WALL: ViewportSize = {"width": 1920, "height": 1080}
NARROW: ViewportSize = {"width": 800, "height": 1000}


def sighting(of: str, count: int = 1) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}", "created": now,
        "modified": now, "sighting_of_ref": of, "count": count, "first_seen": now, "last_seen": now,
    }  # fmt: skip


def stix(type_: str, **fields: Any) -> dict[str, Any]:
    now = "2026-11-27T10:00:00.000Z"
    return {"type": type_, "spec_version": "2.1", "id": f"{type_}--{uuid.uuid4()}", "created": now, "modified": now,
            **fields}  # fmt: skip


def ago_iso(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def large_type(room: Room) -> None:
    await room.page.click("#large-type")
    await expect(room.page.locator("html")).to_have_class(re.compile("large-type"))


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / name)
    assert (ARTIFACTS / name).stat().st_size > 10_000


# Whether an element is entirely on screen: inside the viewport and inside every ancestor that clips it.
FULLY_SHOWN = """el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5) return false;
  for (let p = el.parentElement; p; p = p.parentElement) {
    const style = getComputedStyle(p);
    if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
    const c = p.getBoundingClientRect();
    if (r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5) return false;
    if (r.left < c.left - 0.5 || r.right > c.right + 0.5) return false;
  }
  return true;
}"""
NOT_CUT = "el => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1"


# 12 -----------------------------------------------------------------------------------------------
async def test_repeated_sightings_are_one_live_row_decisions_can_be_shown_alone_and_a_row_opens_its_object(
    hub: Hub, rooms: OpenRoom
) -> None:
    crisis = await new_crisis(hub)
    c2 = indicator(TLP.AMBER, name="Ransomware C2 203.0.113.77", pattern="[ipv4-addr:value = '203.0.113.77']")
    await post(hub, "pemex", "sector.energy", c2)
    for _ in range(5):
        await post(hub, "pemex", "sector.energy", sighting(c2["id"], 3))
    await post(hub, "cert-mx", "sector.energy", sighting(c2["id"], 2))
    status, update = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/updates",
                                {"content": "Refinery OT isolated from IT.", "abstract": "OT isolated"})  # fmt: skip
    assert status == 201
    room = await rooms(hub, "cidge", viewport=WALL)
    page = room.page
    group = page.locator(f'#timeline li[data-sighting-of="{c2["id"]}"]')
    await expect(group).to_have_count(1)  # six sightings, one row
    await expect(group).to_have_attribute("data-reports", "6")
    await expect(group.locator(".tl-detail")).to_contain_text(
        re.compile(r"6 reports · 17× · first seen \S+ · last seen \S+")
    )
    await expect(group.locator(".tl-where")).to_contain_text("State Oil Company")
    await expect(group.locator(".tl-where")).to_contain_text("National CERT")
    assert await page.locator("#timeline li[data-type=sighting]").count() == 1

    # A new sighting: the same row, counted, moved to the top and highlighted; no new row.
    await post(hub, "pemex", "sector.energy", sighting(c2["id"], 4))
    await expect(group).to_have_attribute("data-reports", "7")
    await expect(page.locator("#timeline li").first).to_have_attribute("data-sighting-of", c2["id"])
    await expect(group).to_have_class(re.compile(r"\bis-new\b"))
    await shot(page, "wall-timeline-grouped.png")

    # Decisions and updates only: the sightings and indicators step aside, the crisis and its update stay.
    toggle = page.locator("#filter-decisions")
    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#timeline li[data-type=sighting], #timeline li[data-type=indicator]")).to_have_count(0)
    await expect(room.event_row(crisis["id"])).to_have_count(1)
    await expect(room.event_row(update["object"]["id"])).to_contain_text("OT isolated")
    await shot(page, "wall-timeline-decisions-only.png")

    # A row opens its object, from the keyboard too: the update, then (from it) its crisis.
    await room.event_row(update["object"]["id"]).locator(".tl-open").focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("#object-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#object-dialog-title")).to_contain_text("OT isolated")
    await expect(dialog).to_contain_text("Refinery OT isolated from IT.")
    await dialog.get_by_role("button", name=re.compile("Open the crisis")).click()
    await expect(page.locator("#crisis-dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#crisis-dialog")).to_be_hidden()

    # The grouped row opens the indicator with every sighting of it.
    await toggle.click()
    await group.click()
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#object-dialog-title")).to_contain_text("203.0.113.77")
    await expect(dialog.locator(".object-sightings li")).to_have_count(7)
    await shot(page, "wall-object-dialog.png")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()


# 13 -----------------------------------------------------------------------------------------------
async def test_cut_labels_keep_the_value_and_the_tlp_and_show_in_full_on_focus(hub: Hub, rooms: OpenRoom) -> None:
    amber, green, other = (
        indicator(tlp, name=f"Ransomware C2 {ip}", pattern=f"[ipv4-addr:value = '{ip}']")
        for tlp, ip in ((TLP.AMBER, "198.51.100.23"), (TLP.GREEN, "198.51.100.23"), (TLP.AMBER, "192.0.2.146"))
    )
    await post(hub, "pemex", "sector.energy", amber, other, sighting(amber["id"], 9), sighting(other["id"], 5))
    await post(hub, "cert-mx", "sector.finance", green)
    await post(hub, "banxico", "sector.finance", sighting(green["id"], 3))
    room = await rooms(hub, "cidge", viewport=WALL)
    page = room.page
    await large_type(room)
    for obj, tlp in ((amber, "TLP:AMBER"), (green, "TLP:GREEN"), (other, "TLP:AMBER")):
        bar = page.locator(f'#chart-sightings .bar-row[data-stix-id="{obj["id"]}"]')
        await expect(bar.locator(".tlp")).to_have_text(tlp)
        key = bar.locator(".keyed-key")
        await expect(key).to_have_text(obj["name"].rsplit(" ", 1)[1])  # the value, whole
        assert await key.evaluate(NOT_CUT), obj["name"]
        await expect(bar.locator(".bar-open")).to_have_attribute("title", re.compile(re.escape(obj["name"])))
        row = page.locator(f'#timeline li[data-sighting-of="{obj["id"]}"]')
        assert await row.locator(".keyed-key").evaluate(NOT_CUT)
        await expect(row.locator(".tl-target-tlp .tlp")).to_have_text(tlp)
    # The hub's title is not cut: "…national cyber crisis commit…" hid whose room this is.
    title = page.locator("#hub-title")
    await expect(title).to_have_text(hub.config.hub.title)
    assert await title.evaluate(NOT_CUT)

    # Keyboard focus shows a cut label in full.
    first_bar = page.locator("#chart-sightings .bar-open").first
    rest = first_bar.locator(".keyed-rest")
    await page.locator("#indicator-search").focus()
    await page.keyboard.press("Tab")
    await expect(first_bar).to_be_focused()
    assert await rest.evaluate(NOT_CUT)
    await expect(rest).to_be_visible()
    await shot(page, "wall-labels-focus.png")


# 14 -----------------------------------------------------------------------------------------------
async def test_a_completed_action_is_not_latest_as_overdue_and_an_old_acknowledgment_says_which_version(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    hub = await hub_factory(crisis={"escalation_interval": 0.2})
    crisis = await new_crisis(hub)
    path = f"/api/v1/crises/{crisis['id']}"
    status, _ = await call(hub, "cidge", "PATCH", path, {"status": "assessing"})  # v2
    assert status == 200
    for who in ("cert-mx", "pemex"):
        status, _ = await call(hub, who, "POST", f"{path}/acks", {"item": crisis["id"]})
        assert status in (200, 201)
    status, _ = await call(hub, "cidge", "PATCH", path, {"severity": 3})  # v3: nobody has acknowledged it
    assert status == 200
    name = "Isolate refinery OT networks from corporate IT"
    _, action = await call(
        hub, "cidge", "POST", f"{path}/actions", {"assignee": "pemex", "name": name, "due": ago_iso(1)}
    )
    room = await rooms(hub, "sspc", viewport=WALL)
    page = room.page
    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    # The hub escalates it; the board says so while it is true.
    await expect(card.locator(".crisis-latest")).to_contain_text(f"Overdue: {name}")

    cert = card.locator('.ack-pending[data-stakeholder="cert-mx"]')
    await expect(cert).to_contain_text("National CERT")
    await expect(cert).to_contain_text("acknowledged v2, not v3")
    ack_row = page.locator("#timeline li[data-type=crisis-acknowledgment][data-source=cert-mx]")
    await expect(ack_row.locator(".tl-title")).to_have_text("National CERT acknowledged v2, not v3")

    status, _ = await call(hub, "pemex", "PATCH", f"{path}/actions/{action['id']}", {"status": "completed"})
    assert status == 200
    await expect(card.locator(".crisis-latest")).to_contain_text(f"Completed: {name}")
    await expect(card.locator(".crisis-latest")).not_to_contain_text("Overdue")
    await expect(card.locator(".overdue")).to_have_count(0)
    await shot(page, "wall-stale-state.png")


# 15 -----------------------------------------------------------------------------------------------
async def test_the_board_has_a_clock_the_crisis_age_and_who_is_late_with_what(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub)
    path = f"/api/v1/crises/{crisis['id']}/actions"
    late = "Switch refineries to manual control"
    await call(hub, "cidge", "POST", path, {"assignee": "pemex", "name": late, "due": ago_iso(7)})
    await call(hub, "cidge", "POST", path, {"assignee": "cert-mx", "name": "Share IOCs", "in_minutes": 60})
    room = await rooms(hub, "cidge", viewport=WALL)
    page = room.page
    await large_type(room)
    clock = page.locator("#wall-clock")
    await expect(clock).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    first = await clock.inner_text()
    await expect(clock).not_to_have_text(first)  # it ticks
    await expect(page.locator("#board-as-of")).to_have_text(re.compile(r"^as of \d\d:\d\d:\d\d$"))
    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    await expect(card.locator(".declared")).to_contain_text(re.compile(r"Declared \d+ s ago"))
    overdue = card.locator(".overdue")
    await expect(overdue).to_have_count(1)  # the one on time is not
    await expect(overdue.locator(".overdue-name")).to_have_text(late)
    await expect(overdue.locator(".overdue-assignee")).to_have_text("State Oil Company")
    await expect(overdue.locator(".overdue-late")).to_have_text(re.compile(r"^[7-9] min overdue$"))
    for part in (clock, card.locator(".declared"), overdue):
        assert await part.evaluate(FULLY_SHOWN)
    await shot(page, "wall-board-clock.png")


# 16 -----------------------------------------------------------------------------------------------
async def test_the_severity_sparkline_spreads_its_changes_hours_later(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub, severity=2)
    for level in (3, 4):
        status, _ = await call(hub, "cidge", "PATCH", f"/api/v1/crises/{crisis['id']}", {"severity": level})
        assert status == 200

    async def clock(page: Page) -> None:
        await page.clock.install()  # time flows as usual until the test moves it

    room = await rooms(hub, "cidge", viewport=WALL, prepare=clock)
    page = room.page
    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    spark = card.locator(".crisis-trend svg")
    await expect(spark.locator("circle")).to_have_count(3)
    await page.clock.fast_forward("03:00:00")  # the same crisis, three hours on
    await expect(card.locator(".declared")).to_contain_text("Declared 3 h")
    # One snapshot of the drawing, read in the page: the room redraws the sparkline as its clock moves, and
    # circles read one by one could belong to two drawings (one of them already gone).
    snapshot = (
        "svg => [[...svg.querySelectorAll('circle')].map(c => c.getBoundingClientRect().x),"
        " svg.getBoundingClientRect().width]"
    )
    xs, width = await spark.evaluate(snapshot)
    assert len(xs) == 3, xs
    assert xs == sorted(xs) and min(b - a for a, b in zip(xs, xs[1:], strict=False)) > 30, xs  # apart, in order
    assert (xs[-1] - xs[0]) > 0.4 * width, (xs, width)
    await expect(spark.locator("text.step-level")).to_have_text(["2", "3", "4"])
    await shot(page, "wall-sparkline.png")


async def test_events_per_sector_spans_the_crisis_not_six_hours(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub)
    room = await rooms(hub, "cidge", viewport=WALL)
    page = room.page
    await post(hub, "pemex", "sector.energy", *(indicator(TLP.AMBER) for _ in range(3)))
    # A second burst one 5-second column later (the narrowest the axis uses): wait for the clock, not a guess.
    later = time.time() + 6
    while time.time() < later:
        await page.wait_for_timeout(250)
    await post(hub, "banxico", "sector.finance", *(indicator(TLP.AMBER) for _ in range(2)))
    chart = page.locator("#chart-sectors svg")
    await expect(chart).to_have_attribute("aria-label", re.compile(r"energy 3.*finance 2"))
    await expect(chart).to_have_attribute("aria-label", re.compile(r"since \d\d:\d\d"))
    start = int(await chart.get_attribute("data-start") or 0)
    created = datetime.fromisoformat(crisis["created"].replace("Z", "+00:00")).timestamp() * 1000
    assert created - 130_000 < start <= created  # the axis opens where the crisis did (2 minutes at least)
    columns = {await r.get_attribute("x") for r in await chart.locator("rect").all()}
    assert len(columns) >= 2, columns  # the two bursts are two columns, not one "now" bar
    await expect(page.locator("#sector-span")).to_contain_text("since the crisis was declared")
    await shot(page, "wall-sector-chart.png")


async def test_searching_a_malware_finds_its_indicators_and_filters_the_chart(hub: Hub, rooms: OpenRoom) -> None:
    ekans = stix("malware", name="EKANS", is_family=True)
    c2, other = indicator(TLP.AMBER, name="Ransomware C2 203.0.113.77"), indicator(TLP.AMBER, name="Phishing sender")
    indicates = stix("relationship", relationship_type="indicates", source_ref=c2["id"], target_ref=ekans["id"])
    await post(hub, "pemex", "sector.energy", ekans, c2, other, indicates)
    await post(hub, "pemex", "sector.energy", sighting(c2["id"], 2), sighting(other["id"], 8))
    room = await rooms(hub, "cert-mx", viewport=WALL)
    page = room.page
    bars = page.locator("#chart-sightings .bar-row")
    await expect(bars).to_have_count(2)
    await page.keyboard.press("/")
    await page.keyboard.type("ekans")
    await expect(page.locator("#indicators details")).to_have_count(1)
    await expect(page.locator("#indicators details")).to_have_attribute("data-stix-id", c2["id"])
    await expect(page.locator("#indicators .ioc-related")).to_contain_text("EKANS")
    await expect(bars).to_have_count(1)  # the chart beside it follows the search
    await expect(bars).to_have_attribute("data-stix-id", c2["id"])
    await shot(page, "wall-search-malware.png")
    await page.fill("#indicator-search", "")
    await expect(bars).to_have_count(2)


# 17 -----------------------------------------------------------------------------------------------
async def test_large_type_fits_the_crisis_its_overdue_actions_and_latest_updates_on_one_wall_screen(
    hub: Hub, rooms: OpenRoom
) -> None:
    crisis = await new_crisis(
        hub, severity=4, affected_sectors=["energy", "finance"], affected_stakeholders=["pemex", "banxico"]
    )
    path = f"/api/v1/crises/{crisis['id']}"
    for who, name in (("pemex", "Isolate refinery OT networks from corporate IT"),
                      ("banxico", "Block the C2 addresses at every branch")):  # fmt: skip
        await call(hub, "cidge", "POST", f"{path}/actions", {"assignee": who, "name": name, "due": ago_iso(4)})
    for i in range(3):
        update = {"content": f"Situation update number {i} with the details.", "abstract": f"Update {i}"}
        await call(hub, "cidge", "POST", f"{path}/updates", update)
    c2 = [
        indicator(TLP.AMBER, name=f"Ransomware C2 192.0.2.{i}", pattern=f"[ipv4-addr:value = '192.0.2.{i}']")
        for i in range(8)
    ]
    await post(hub, "pemex", "sector.energy", *c2, *(sighting(o["id"], 2) for o in c2 for _ in range(4)))
    room = await rooms(hub, "sspc", viewport=WALL)
    page = room.page
    await large_type(room)
    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    await expect(card.locator(".crisis-latest")).to_contain_text("Update 2")
    await expect(page.locator("#indicators details")).to_have_count(8)
    await page.wait_for_function("document.fonts.status === 'loaded'")
    size = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size[0] <= WALL["width"] and size[1] <= WALL["height"], size  # nothing below the fold
    await expect(card.locator(".overdue")).to_have_count(2)
    await expect(card.locator(".crisis-recent")).to_contain_text(re.compile("Update 1.*Update 0"))
    await expect(card.locator(".crisis-recent li")).to_have_count(2)
    shown = [card.locator(".crisis-name"), card.locator(".severity"), card.locator(".crisis-latest"),
             *(await card.locator(".overdue").all()), *(await card.locator(".crisis-recent li").all()),
             page.locator("#timeline li").first]  # fmt: skip
    for part in shown:
        assert await part.evaluate(FULLY_SHOWN), await part.inner_text()
    await shot(page, "situation-room-wall-1920x1080-large-type.png")


async def test_at_800_px_chart_text_is_never_larger_than_the_headings(hub: Hub, rooms: OpenRoom) -> None:
    await new_crisis(hub)
    c2 = indicator(TLP.AMBER, name="Ransomware C2 192.0.2.146")
    await post(hub, "pemex", "sector.energy", c2, sighting(c2["id"], 3))
    room = await rooms(hub, "cidge", viewport=NARROW)
    page = room.page
    await expect(page.locator(".crisis-card")).to_have_count(1)
    await expect(page.locator("#chart-sectors svg rect")).not_to_have_count(0)
    await expect(page.locator("#chart-sightings")).to_contain_text("192.0.2.146")
    sizes = """() => {
      const heading = parseFloat(getComputedStyle(document.querySelector('.panel-title')).fontSize);
      const texts = [...document.querySelectorAll('#room svg text')].map((t) =>
        parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
      const bars = [...document.querySelectorAll('#chart-sightings .bar-open')]
        .map((b) => parseFloat(getComputedStyle(b).fontSize));
      return {heading, largest: Math.max(...texts, ...bars), count: texts.length};
    }"""
    fits = f"() => {{ const m = ({sizes})(); return m.count > 3 && m.largest <= m.heading + 0.01; }}"
    for large in (False, True):
        if large:
            await large_type(room)
        try:  # the charts are redrawn for the new type size: wait for it, then say what was measured
            await page.wait_for_function(fits, timeout=WAIT_MS)
        except PlaywrightTimeout:
            pass
        measured = await page.evaluate(sizes)
        assert measured["count"] > 3 and measured["largest"] <= measured["heading"] + 0.01, measured
    await shot(page, "situation-room-800px.png")
