"""The situation room (web/, served at /) in real headless Chromium against a real hub and Redis.

Each test opens fresh browser contexts on a hub started by the ``hub`` fixtures, pushes over
the HTTP API as the institutions would, and watches the page. Waits are upper bounds
(``expect`` polls until the page shows it), never speed requirements. Every page is checked at
the end: no console error, no uncaught exception, no request to another origin.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright, expect

from hub import webui
from hub.crisis.taxonomy import SeverityLevel
from hub.demo import CRISIS_NAME, Scenario
from hub.store import TokenStore, connect
from hub.tlp import TLP
from hub.tokens import split_token
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Room, open_room
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.proxy import TcpProxy
from tests.stixgen import indicator
from tests.stream.clients import post
from tests.timing import seconds

WEB = Path(__file__).parent.parent / "web"
UNAUTHORIZED_LOAD = "status of 401"  # Chromium logs a refused fetch; expected where a token is refused
# Chromium logs each connection refused while the network is cut, and a request caught in flight by the cut
# as one closed without an answer: both are the outage itself.
CUT_OFF = ("ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE")

OpenRoom = Callable[..., Awaitable[Room]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def rooms(browser: Browser) -> AsyncIterator[OpenRoom]:
    """Open rooms; at the end, each must be clean (its test may allow some console lines)."""
    opened: list[tuple[Room, tuple[str, ...]]] = []

    async def open_(
        hub: Hub, who: str | None = None, allow: tuple[str, ...] = (), origin: str | None = None, **options: Any
    ) -> Room:
        room = await open_room(browser, hub, who, origin, **options)
        opened.append((room, allow))
        return room

    yield open_
    for room, _ in opened:
        await room.context.close()
    for room, allow in opened:
        room.assert_clean(allow)


@pytest.fixture
async def network(hub: Hub) -> AsyncIterator[TcpProxy]:
    """A loopback TCP proxy in front of the hub: the network between a page and the hub, to cut and restore."""
    proxy = TcpProxy("127.0.0.1", hub.client.server.port or 0)
    await proxy.start()
    yield proxy
    await proxy.cut()


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


async def colours(locator: Any) -> tuple[str, str]:
    style = "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    text, background = await locator.evaluate(style)
    return text, background


# serving ------------------------------------------------------------------------------------------
async def test_the_page_and_its_files_are_served_with_a_strict_csp_and_exact_types(hub: Hub) -> None:
    async with hub.client.get("/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"] == webui.CSP
        assert "script-src 'self';" in webui.CSP and "unsafe-inline" not in webui.CSP
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Frame-Options"] == "DENY"
        html = await response.text()
    for path, media_type in (("/static/js/main.js", "text/javascript"), ("/static/css/app.css", "text/css"),
                             ("/static/favicon.svg", "image/svg+xml"),
                             ("/static/i18n/es.json", "application/json")):  # fmt: skip
        async with hub.client.get(path) as response:
            assert response.status == 200 and response.content_type == media_type, path
            assert response.headers["Content-Security-Policy"] == webui.CSP
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/hub/app.py", "/static/js/nope.js", "/static/.git/config",
                 "/static/js/", "/static/index.html/x"):  # fmt: skip
        async with hub.client.get(path) as response:
            assert response.status == 404, path
    # No inline script or style anywhere: the CSP would block it, and it is where XSS hides.
    assert "<style" not in html and " style=" not in html and "javascript:" not in html
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", html))
    for source in WEB.rglob("*.js"):
        text = source.read_text()
        markup_sinks = r"\.(inner|outer)HTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
        assert not re.search(markup_sinks, text), source
        assert set(re.findall(r"\bhttps?://[^'\"\s]*", text)) <= {"http://www.w3.org/2000/svg"}, source  # a name


# sign-in ------------------------------------------------------------------------------------------
async def test_sign_in_shows_who_and_a_bad_or_revoked_token_gets_a_clear_message(hub: Hub, rooms: OpenRoom) -> None:
    room = await rooms(hub, allow=(UNAUTHORIZED_LOAD,))
    page = room.page
    await room.sign_in("chub_0123456789ab_not-a-real-secret", live=False)
    await expect(page.locator("#signin-message")).to_contain_text("not accepted")
    await expect(page.locator("#signin-message")).to_contain_text("revoked")
    assert await page.evaluate("sessionStorage.length") == 0

    token = await hub.token("cert-mx")
    await room.sign_in(token)
    await expect(page.locator("#whoami")).to_contain_text("National CERT")
    await expect(page.locator("#whoami")).to_contain_text("cert-mx")
    await expect(page.locator("#whoami .tlp")).to_have_text("TLP:RED")
    assert await page.evaluate("sessionStorage.getItem('crisis-hub.token')") == token
    await page.reload()  # the tab keeps its session
    await room.wait_live()
    await expect(page.locator("#whoami")).to_contain_text("National CERT")

    await page.click("#sign-out")
    await expect(page.locator("#signin")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('crisis-hub.token')") is None

    # A token revoked while the page is open: the page says so and forgets it.
    revoked = await hub.token("cert-mx")
    await room.sign_in(revoked)
    token_id, _ = split_token(revoked) or ("", "")
    client = connect(hub.redis_url)
    try:
        await TokenStore(client, hub.namespace).revoke(token_id)
    finally:
        await client.aclose()
    await page.reload()
    await expect(page.locator("#signin-message")).to_contain_text("revoked")
    assert await page.evaluate("sessionStorage.getItem('crisis-hub.token')") is None


# names ----------------------------------------------------------------------------------------------
async def test_the_room_names_stakeholders_the_hub_and_severities_as_the_hub_configures_them(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    """Ids stay in tooltips and data attributes; what people read are the names from /api/v1/stakeholders."""
    scale = (SeverityLevel(0, "Quiet", "#ffffff"), SeverityLevel(1, "Elevated", "#00b050"),
             SeverityLevel(2, "Grave", "#ff0000"), SeverityLevel(3, "Meltdown", "#000000"))  # fmt: skip
    title = "Financial sector cyber crisis cell"
    hub = await hub_factory(title=title, crisis={"severity": scale})
    crisis = await new_crisis(hub, severity=2, lead="pemex", affected_stakeholders=["cfe", "banxico"])
    _, action = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/actions",
                           {"assignee": "cfe", "name": "Switch to manual dispatch", "in_minutes": 30})  # fmt: skip
    room = await rooms(hub, "sspc")
    page = room.page
    await expect(page).to_have_title(f"Situation room — {title}")
    await expect(page.locator("#hub-title")).to_have_text(title)

    sighted = indicator(TLP.GREEN, name="Wiper dropper")
    await post(hub, "banxico", "sector.finance", sighted)
    row = room.event_row(sighted["id"])
    await expect(row.locator(".tl-source")).to_have_text("Central Bank")
    await expect(row.locator(".tl-source")).to_have_attribute("title", "Central Bank (banxico)")
    await expect(page.locator('#filter-source option[value="banxico"]')).to_have_text("Central Bank")
    crisis_row = room.event_row(crisis["id"])
    await expect(crisis_row.locator(".tl-source")).to_have_text("Inter-ministerial Cyber Crisis Committee")
    await expect(crisis_row.locator(".tl-detail")).to_have_text("Severity 2 Grave · detected · lead State Oil Company")
    action_row = room.event_row(action["id"])
    await expect(action_row.locator(".tl-detail")).to_contain_text("Federal Electricity Commission")

    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    await expect(card.locator(".crisis-lead")).to_have_text("State Oil Company")
    await expect(card.locator(".severity")).to_contain_text("Grave")
    await expect(card.locator(".crisis-updated")).to_contain_text("Inter-ministerial Cyber Crisis Committee")
    await expect(card.locator(".ack-pending", has_text="Ministry of National Defence")).to_be_visible()

    await card.locator(".crisis-open").click()
    dialog = page.locator("#crisis-dialog")
    await expect(dialog.locator(".crisis-affected")).to_have_text("Federal Electricity Commission, Central Bank")
    await expect(dialog.locator(".crisis-lead")).to_have_attribute("data-stakeholder", "pemex")
    await expect(dialog.locator(".action-assignee")).to_have_text("Federal Electricity Commission")
    # Every level of the hub's scale labels the chart's axis, not only the levels of crises in view.
    axis = dialog.locator(".severity-chart text.axis")
    await expect(axis).to_contain_text(["0 Quiet", "1 Elevated", "2 Grave", "3 Meltdown"])
    ids = [s for s in hub.config.stakeholders if s != "sspc"]  # the page's own id is shown by design
    shown = await page.locator("#room").inner_text() + await dialog.inner_text()
    assert not [s for s in ids if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", shown)], shown


# live -----------------------------------------------------------------------------------------------
async def test_an_event_pushed_over_the_api_appears_live_highlighted_with_its_tlp_colours(
    hub: Hub, rooms: OpenRoom
) -> None:
    room = await rooms(hub, "cert-mx")
    page = room.page
    await page.evaluate("window.notReloaded = true")
    marked = {tlp: indicator(tlp, name=f"C2 beacon {tlp.token}") for tlp in TLP}
    await post(hub, "banxico", "sector.finance", marked[TLP.AMBER])
    row = room.event_row(marked[TLP.AMBER]["id"])
    await expect(row).to_contain_text("C2 beacon amber")
    await expect(row).to_have_class(re.compile(r"\bis-new\b"))  # highlighted as it arrived live
    assert await page.evaluate("window.notReloaded") is True

    # Every TLP 2.0 level in FIRST's colours, on black.
    await post(hub, "cert-mx", "sector.finance", *(o for tlp, o in marked.items() if tlp != TLP.AMBER))
    expected = {"clear": "#FFFFFF", "green": "#33FF00", "amber": "#FFC000", "amber+strict": "#FFC000", "red": "#FF2B2B"}
    for tlp, obj in marked.items():
        badge = page.locator(f'#indicators details[data-stix-id="{obj["id"]}"] .tlp')
        await expect(badge).to_have_text(f"TLP:{tlp.token.upper()}")
        # Waits as expect does: the list is redrawn as the other objects arrive, and a badge read between
        # two drawings is detached (its computed colours are empty).
        await expect(badge).to_have_css("color", rgb(expected[tlp.token]))
        await expect(badge).to_have_css("background-color", "rgb(0, 0, 0)")

    # Which institutions sighted it: the sighting's sighting_of_ref, and its source.
    sighting = {
        "type": "sighting", "spec_version": "2.1", "id": "sighting--6f6a1d0e-4b6c-4d7e-9a51-1f2d3c4b5a69",
        "created": "2026-11-27T10:05:00.000Z", "modified": "2026-11-27T10:05:00.000Z",
        "sighting_of_ref": marked[TLP.AMBER]["id"], "count": 3,
    }  # fmt: skip
    await post(hub, "banxico", "sector.finance", sighting)
    ioc = page.locator(f'#indicators details[data-stix-id="{marked[TLP.AMBER]["id"]}"]')
    await expect(ioc.locator(".ioc-sighters")).to_have_text("Central Bank")  # banxico, by its name
    await expect(ioc).to_contain_text("sighted 3×")
    bars = page.locator("#chart-sightings .bars")
    await expect(bars).to_have_attribute("aria-label", re.compile("C2 beacon amber 3"))
    await page.fill("#indicator-search", "beacon red")
    await expect(page.locator("#indicators details")).to_have_count(1)


async def test_hostile_stix_text_is_shown_as_text_never_run(hub: Hub, rooms: OpenRoom) -> None:
    """STIX is written by institutions and foreign partners: markup in it must stay inert text."""
    room = await rooms(hub, "cert-mx")
    payload = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    hostile = indicator(TLP.GREEN, name=f"Evil {payload}", description=payload)
    await post(hub, "banxico", "sector.finance", hostile)
    await expect(room.event_row(hostile["id"]).locator(".tl-title")).to_have_text(f"Evil {payload}")
    await room.page.locator(f'#indicators details[data-stix-id="{hostile["id"]}"] summary').click()
    await expect(room.page.locator("#indicators .ioc-body")).to_contain_text(payload)
    assert await room.page.evaluate("window.pwned") is None
    assert await room.page.locator("#room img, #room script").count() == 0


async def test_a_network_cut_shows_and_the_page_resumes_without_losing_what_was_pushed_meanwhile(
    hub: Hub, rooms: OpenRoom, network: TcpProxy
) -> None:
    """The page reaches the hub through a TCP proxy; cutting it is a real outage, for the page and the hub alike."""
    room = await rooms(hub, "cert-mx", origin=network.origin, allow=CUT_OFF)
    page = room.page
    connection = page.locator("#connection")
    before = indicator(TLP.GREEN, name="Before the drop")
    await post(hub, "banxico", "sector.finance", before)
    await expect(room.event_row(before["id"])).to_have_count(1)

    await network.cut()
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    await expect(connection).to_contain_text("Reconnecting")
    # It has tried again and been refused: while the network is down, whatever is pushed waits at the hub.
    await expect(connection).to_have_attribute("title", re.compile(r"\(attempt ([2-9]|\d\d+)\)"))
    missed = [indicator(TLP.GREEN, name=f"Missed {i}") for i in range(5)]
    await post(hub, "banxico", "sector.finance", *missed[:3])  # straight to the hub, not through the cut
    await post(hub, "cert-mx", "sector.energy", *missed[3:])
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    assert await room.event_row(missed[0]["id"]).count() == 0
    relayed = network.accepted

    await network.restore()
    await expect(connection).to_have_attribute("data-state", "resumed")
    await expect(connection).to_contain_text("resumed 5 events")
    assert network.accepted > relayed  # back through the proxy, not some other way
    for obj in [before, *missed]:
        await expect(room.event_row(obj["id"])).to_have_count(1)  # each once: no loss, no duplicate
    for obj in missed:
        await expect(room.event_row(obj["id"])).to_have_class(re.compile(r"\bis-new\b"))
    after = indicator(TLP.GREEN, name="After the drop")
    await post(hub, "banxico", "sector.finance", after)
    await expect(room.event_row(after["id"])).to_have_count(1)
    assert await page.locator("#timeline li[data-stix-id]").count() == 7


async def test_an_observer_never_sees_amber(hub: Hub, rooms: OpenRoom) -> None:
    room = await rooms(hub, "observer")
    page = room.page
    await expect(page.locator("#whoami .tlp")).to_have_text("TLP:CLEAR")
    secrets = [indicator(TLP.AMBER, name="Committee-only C2"), indicator(TLP.AMBER, name="Finance-only C2")]
    await post(hub, "cidge", "committee", secrets[0])
    await post(hub, "banxico", "sector.finance", secrets[1])
    crisis = await new_crisis(hub, name="Secret crisis of the committee")
    public = indicator(TLP.CLEAR, name="Public advisory IOC")
    await post(hub, "cidge", "public", public)
    await expect(room.event_row(public["id"])).to_contain_text("Public advisory IOC")
    await page.reload()  # and again from history
    await room.wait_live()
    await expect(room.event_row(public["id"])).to_have_count(1)
    await expect(page.locator("#board")).to_contain_text("No active crisis")

    hidden = [crisis["id"], crisis["name"], *(o["id"] for o in secrets), *(o["name"] for o in secrets)]
    content = await page.content()
    assert not [s for s in hidden if s in content]
    assert not [s for s in hidden for frame in room.frames if s in frame]  # not even on the wire
    await expect(page.locator(".tlp-amber, .tlp-amber-strict, .tlp-red, .tlp-green")).to_have_count(0)


# crises ---------------------------------------------------------------------------------------------
async def test_the_crisis_board_shows_severity_colours_and_follows_changes_live(hub: Hub, rooms: OpenRoom) -> None:
    severe = await new_crisis(hub, name="Payment system outage", severity=4, affected_sectors=["finance", "energy"])
    low = await new_crisis(hub, name="Ministry defacements", severity=1, lead="cnpc")
    room = await rooms(hub, "cnpc")
    page = room.page
    cards = page.locator(".crisis-card")
    await expect(cards).to_have_count(2)
    assert [await c.get_attribute("data-crisis-id") for c in await cards.all()] == [severe["id"], low["id"]]
    card = page.locator(f'.crisis-card[data-crisis-id="{severe["id"]}"]')
    await expect(card.locator(".severity")).to_contain_text("Severe")
    assert (await colours(card.locator(".severity")))[1] == rgb(severe["severity"]["colour"])  # #ff0000, from the hub
    await expect(card.locator(".status-chip")).to_have_text("detected")
    await expect(card.locator(".crisis-lead")).to_have_text("National CERT")
    await expect(card).to_contain_text("finance")
    await expect(card.locator(".since")).to_contain_text("Last update")

    # Raised to Emergency elsewhere: the board re-sorts and recolours without a reload.
    change = {"severity": 5, "status": "assessing"}
    status, _ = await call(hub, "sedena", "PATCH", f"/api/v1/crises/{low['id']}", change)
    assert status == 200
    raised = page.locator(f'.crisis-card[data-crisis-id="{low["id"]}"]')
    await expect(raised.locator(".severity")).to_contain_text("Emergency")
    await expect(cards.first).to_have_attribute("data-crisis-id", low["id"])
    assert await colours(raised.locator(".severity")) == ("rgb(255, 255, 255)", "rgb(0, 0, 0)")

    # Opened with the keyboard: its timeline, and its severity over time from the history.
    await raised.locator(".crisis-open").focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("#crisis-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(".severity-chart")).to_have_attribute("aria-label", re.compile(r"1 Low.*5 Emergency"))
    status, _ = await call(
        hub, "cidge", "POST", f"/api/v1/crises/{low['id']}/updates",
        {"content": "Twelve ministry sites restored from backups.", "abstract": "Sites restored"},
    )  # fmt: skip
    assert status == 201
    await expect(dialog.locator(".entry")).to_contain_text(["Sites restored"])
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(raised.locator(".crisis-open")).to_be_focused()  # back where the keyboard user was


async def test_acknowledging_on_one_page_updates_the_other_signed_in_page(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub)
    mine = await rooms(hub, "sspc")
    theirs = await rooms(hub, "sedena")
    selector = f'.crisis-card[data-crisis-id="{crisis["id"]}"]'
    sspc = "Ministry of Security and Civil Protection"
    await expect(theirs.page.locator(f"{selector} .ack-pending", has_text=sspc)).to_be_visible()

    button = mine.page.locator(f"{selector} .btn-ack")
    await button.focus()
    await mine.page.keyboard.press("Enter")  # one click (or key press), nothing else to fill in
    await expect(mine.page.locator(f"{selector} .ack-mine")).to_contain_text("You acknowledged")
    await expect(theirs.page.locator(f"{selector} .ack-done", has_text=sspc)).to_be_visible()
    await expect(theirs.page.locator(f"{selector} .ack-pending", has_text=sspc)).to_have_count(0)
    await expect(theirs.page.locator(f"{selector} .btn-ack")).to_be_visible()  # sedena has not acknowledged yet
    _, acks = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/acks")
    assert [a["stakeholder"] for a in acks["items"][0]["acknowledged"]] == ["sspc"]


async def test_my_action_items_are_listed_and_completed_in_one_click(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub)
    path = f"/api/v1/crises/{crisis['id']}/actions"
    _, isolate = await call(hub, "cidge", "POST", path, {"assignee": "pemex", "name": "Isolate OT", "in_minutes": 30})
    await call(hub, "cidge", "POST", path, {"assignee": "cert-mx", "name": "Share IOCs", "in_minutes": 30})
    room = await rooms(hub, "pemex")
    mine = room.page.locator("#my-actions")
    await expect(mine.locator(".action")).to_have_count(1)
    await expect(mine).to_contain_text("Isolate OT")
    await expect(mine).to_contain_text("due in")
    await mine.get_by_role("button", name="Mark complete").click()
    await expect(mine.locator('.action[data-status="completed"]')).to_contain_text("Isolate OT")
    await expect(mine.get_by_role("button", name="Mark complete")).to_have_count(0)
    _, actions = await call(hub, "cidge", "GET", path)
    [done] = [a for a in actions["actions"] if a["id"] == isolate["id"]]
    assert done["status"] == "completed" and done["updated_by"] == "pemex"


# the whole room ---------------------------------------------------------------------------------------
async def test_the_demo_crisis_unfolds_live_and_screenshots_are_saved(hub_factory: HubFactory, rooms: OpenRoom) -> None:
    """The room as the committee sees it during `crisis-hub demo`, at 1280×800 and in large type."""
    hub = await hub_factory(crisis={"escalation_interval": 0.2})
    room = await rooms(hub, "sspc")
    page = room.page
    await Scenario(str(hub.client.make_url("")), hub.tokens, speed=20).run(keep_alive=False)
    card = page.locator(".crisis-card").first
    await expect(card.locator(".crisis-name")).to_have_text(CRISIS_NAME)
    await expect(card.locator(".severity")).to_contain_text("Severe")
    await expect(card.locator(".ack-done")).not_to_have_count(0)
    await expect(page.locator("#timeline li[data-stix-id]")).not_to_have_count(0)
    await expect(page.locator("#chart-sectors svg rect")).not_to_have_count(0)
    await expect(page.locator("#indicators .ioc-sighters").first).to_be_visible()
    await page.wait_for_timeout(seconds(0.3) * 1000)  # let the last burst of updates paint before the pictures
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "situation-room.png")

    await card.locator(".crisis-open").click()
    await expect(page.locator("#crisis-dialog .entry")).not_to_have_count(0)
    await page.screenshot(path=ARTIFACTS / "situation-room-crisis.png")
    await page.keyboard.press("Escape")

    await page.click("#large-type")
    await expect(page.locator("html")).to_have_class(re.compile("large-type"))
    await page.screenshot(path=ARTIFACTS / "situation-room-large-type.png")
    for name in ("situation-room.png", "situation-room-crisis.png", "situation-room-large-type.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
