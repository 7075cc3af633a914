"""The situation room in Mexican Spanish and in English, chosen per person, with every time in the hub's zone.

Real headless Chromium against a real hub and Redis, as in tests/test_web.py (whose fixtures these share).
The page's words come from its catalogs (web/i18n/en.json, es.json): a word left in the other language is
found by comparing every visible text of the room with the catalog values of that other language.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from hub.demo import Scenario
from tests.browser import ARTIFACTS
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.people.helpers import PASSWORD
from tests.test_web import OpenRoom, browser, rooms

__all__ = ["browser", "rooms"]  # fixtures shared with tests/test_web.py

CATALOGS = Path(__file__).parent.parent / "web" / "i18n"
LANGUAGE_KEY = "crisis-hub.language"  # where the page keeps this browser's choice (web/js/i18n.js)
MEXICO_CITY = "America/Mexico_City"
# How a browser may name Mexico City's zone: its abbreviation, or its offset (no daylight saving time since 2022).
MEXICO_ZONE = r"(?:CST|CDT|GMT-[56]|UTC-[56])"
# What surrounds a catalog text on the page without being part of it: separators, marks, brackets.
EDGES = "\u00a0 ·—→✓◌(),:;"

# Every visible text of the page, one string per text node (whitespace collapsed).
VISIBLE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\\s+/g, ' ').trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('script, style, [hidden]')) continue;
    if (el.checkVisibility({visibilityProperty: true}) && el.getClientRects().length) out.push(text);
  }
  return out;
}"""


def catalog(lang: str) -> dict[str, str]:
    strings: dict[str, str] = json.loads((CATALOGS / f"{lang}.json").read_text())
    return strings


def pattern(text: str) -> re.Pattern[str] | None:
    """A catalog text as a regular expression, its {fields} matching anything; None if it says too little to tell.

    A text that is all fields and punctuation ("{status}, {progress}") would match any data: it is left out.
    """
    literal = re.sub(r"\{\w+\}", " ", text)
    if not re.search(r"[^\W\d_]{3,}", literal):
        return None
    parts = re.split(r"\{\w+\}", text.strip(EDGES))
    return re.compile("^" + ".+?".join(re.escape(part) for part in parts) + "$")


def leftovers(texts: list[str], shown: str, other: str) -> list[str]:
    """The texts of a page in ``shown`` that are the ``other`` language's words, unfilled fields or raw keys."""
    mine, theirs = catalog(shown), catalog(other)
    foreign = [pattern(text) for key, text in theirs.items() if text != mine[key]]
    found = []
    for text in texts:
        bare = text.strip(EDGES)
        if not bare:
            continue
        if any(p is not None and p.match(bare) for p in foreign) or re.search(r"\{\w+\}", text) or bare in mine:
            found.append(text)
    return found


async def assert_all_in(page: Page, shown: str, other: str) -> None:
    texts: list[str] = await page.evaluate(VISIBLE_TEXTS)
    assert len(texts) > 50, texts  # the room was drawn: there is something to check
    found = leftovers(texts, shown, other)
    assert found == [], f"not in {shown}: {found}"


def test_a_word_of_the_other_language_is_found_and_data_is_not() -> None:
    """The check below can fail: an English word, a filled English template, a field, a key; a name passes."""
    english = ["Active crises", "3 open", "Last update 5 min ago", "{n} open", "board.title"]
    assert leftovers([*english, "Central Bank", "Ransomware at the state oil company"], "es", "en") == english
    assert leftovers(["Crisis activas", "Última actualización hace 5 min", "Central Bank"], "es", "en") == []
    assert leftovers(["Crisis activas", "Active crises"], "en", "es") == ["Crisis activas"]


# the board in both languages ------------------------------------------------------------------------
async def test_the_board_reads_in_spanish_and_switches_to_english_at_once(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub, affected_stakeholders=["pemex", "cfe"])
    path = f"/api/v1/crises/{crisis['id']}"
    due = (datetime.now(UTC) - timedelta(minutes=6)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for body in ({"assignee": "pemex", "name": "Isolate the refinery OT network", "in_minutes": 30},
                 {"assignee": "pemex", "name": "Report the state of the pipelines", "due": due}):  # fmt: skip
        status, _ = await call(hub, "cidge", "POST", f"{path}/actions", body)
        assert status == 201
    update_body = {"content": "Refinery OT cut off.", "abstract": "OT cut"}
    status, update = await call(hub, "cidge", "POST", f"{path}/updates", update_body)
    assert status == 201
    status, _ = await call(hub, "cfe", "POST", f"{path}/acks", {"item": crisis["id"]})
    assert status in (200, 201)

    room = await rooms(hub, "pemex", locale="es-MX")  # a browser in Spanish: the room in Spanish from the start
    page = room.page
    await expect(page.locator("html")).to_have_attribute("lang", "es-MX")
    await expect(page.locator("#connection")).to_have_text("En vivo")
    await expect(page.locator("#crises-title")).to_contain_text("Crisis activas")
    card = page.locator(f'.crisis-card[data-crisis-id="{crisis["id"]}"]')
    await expect(card.locator(".status-chip")).to_have_text("detectada")
    await expect(card.locator(".severity")).to_contain_text("Media")
    await expect(card.locator(".declared")).to_contain_text(re.compile(r"Declarada hace \d+ s"))
    await expect(card.locator(".overdue-late")).to_have_text(re.compile(r"^vencida hace [6-9] min$"))
    await expect(card.locator(".acks-count")).to_have_text(re.compile(r"^1/\d+ acusaron recibo$"))
    await expect(card.locator(".ack-done")).to_contain_text("Federal Electricity Commission")
    mine = page.locator("#my-actions")
    await expect(mine.locator(".action")).to_have_count(2)
    await expect(mine).to_contain_text(re.compile(r"vence dentro de (29|30) min"))
    await expect(mine.locator(".status-chip").first).to_have_text("asignada")
    await expect(mine.get_by_role("button", name="Marcar como completada")).to_have_count(2)
    update_row = room.event_row(update["object"]["id"])
    await expect(update_row.locator(".tl-kind")).to_have_text("Actualización")
    await expect(room.event_row(crisis["id"]).locator(".tl-detail")).to_have_text(
        "Severidad 2 Media · detectada · institución líder National CERT"
    )
    await expect(page.locator("#timeline-filters label")).to_have_text(["Canal", "Sector", "Institución", "Tipo"])
    await card.get_by_role("button", name="Acusar recibo").click()
    await expect(card.locator(".ack-mine")).to_have_text(re.compile(r"^✓ Usted acusó recibo a las \d\d:\d\d UTC$"))
    await expect(card.locator(".acks-count")).to_have_text(re.compile(r"^2/\d+ acusaron recibo$"))
    assert await page.title() == f"Sala de situación — {hub.config.hub.title}"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "board-es.png")

    # English, from the top bar: everything at once, without reloading (the marker would be gone).
    await page.evaluate("window.stillTheSamePage = true")
    await page.select_option("#language", "en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#crises-title")).to_contain_text("Active crises")
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(card.locator(".status-chip")).to_have_text("detected")
    await expect(card.locator(".severity")).to_contain_text("Medium")
    await expect(card.locator(".overdue-late")).to_have_text(re.compile(r"^[6-9] min overdue$"))
    await expect(card.locator(".ack-mine")).to_have_text(re.compile(r"^✓ You acknowledged at \d\d:\d\d UTC$"))
    await expect(mine).to_contain_text(re.compile(r"due in (29|30) min"))
    await expect(update_row.locator(".tl-kind")).to_have_text("Update")
    await expect(page.locator("#timeline-filters label")).to_have_text(["Channel", "Sector", "Stakeholder", "Type"])
    assert await page.evaluate("window.stillTheSamePage") is True
    assert await page.evaluate(f"localStorage.getItem('{LANGUAGE_KEY}')") == "en"
    await page.screenshot(path=ARTIFACTS / "board-en.png")
    for name in ("board-es.png", "board-en.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


async def test_no_english_is_left_in_the_spanish_room_and_no_spanish_in_the_english_one(
    hub_factory: HubFactory, rooms: OpenRoom
) -> None:
    """The whole room during the demo crisis — board, plans, timeline, charts, indicators — and the crisis view."""
    hub = await hub_factory(crisis={"escalation_interval": 0.2})
    await Scenario(str(hub.client.make_url("")), hub.tokens, speed=20).run(keep_alive=False)
    room = await rooms(hub, "cidge", locale="es-MX")
    page = room.page
    card = page.locator(".crisis-card").first
    await expect(card.locator(".plan-checklist")).not_to_have_count(0)
    await expect(page.locator("#timeline li[data-stix-id]")).not_to_have_count(0)
    await expect(page.locator("#indicators .ioc-sighters").first).to_be_visible()
    await expect(page.locator("#chart-sectors svg rect")).not_to_have_count(0)
    await assert_all_in(page, "es", "en")

    await card.locator(".crisis-open").click()
    dialog = page.locator("#crisis-dialog")
    await expect(dialog.locator(".entry")).not_to_have_count(0)
    await expect(dialog.locator(".plan-run")).not_to_have_count(0)
    await assert_all_in(page, "es", "en")

    await page.keyboard.press("Escape")
    await page.select_option("#language", "en")
    await expect(page.locator("#crises-title")).to_contain_text("Active crises")
    await assert_all_in(page, "en", "es")
    await card.locator(".crisis-open").click()
    await expect(dialog.locator(".entry")).not_to_have_count(0)
    await expect(dialog.locator(".detail-ack h3")).to_have_text("Current version")
    await assert_all_in(page, "en", "es")


# choosing the language ---------------------------------------------------------------------------------
async def test_a_persons_choice_is_kept_by_the_hub_and_a_spanish_browser_is_greeted_in_spanish(
    hub: Hub, rooms: OpenRoom
) -> None:
    await hub.set_password("luis", PASSWORD)
    room = await rooms(hub)  # Chromium in English
    page = room.page
    await expect(page.locator("#signin-title")).to_have_text("Sign in to the situation room")
    await room.sign_in_person("luis", PASSWORD)
    await expect(page.locator("#crises-title")).to_contain_text("Active crises")
    async with page.expect_response(lambda r: r.url.endswith("/api/v1/me/preferences")) as kept:
        await page.select_option("#language", "es")
    assert (await kept.value).status == 200
    await expect(page.locator("#crises-title")).to_contain_text("Crisis activas")
    me = await page.evaluate("fetch('/api/v1/me').then((r) => r.json())")
    assert me["language"] == "es"

    # Another day, a browser that never chose: the person's choice, from the hub, wins over its English.
    await page.evaluate(f"localStorage.removeItem('{LANGUAGE_KEY}')")
    await page.reload()
    await room.wait_live()
    await expect(page.locator("#crises-title")).to_contain_text("Crisis activas")
    await expect(page.locator("#who-person")).to_have_text("Luis Herrera")
    await expect(page.locator("#whoami .who-name")).to_have_text("por Central Bank")
    await expect(page.locator("#language")).to_have_value("es")

    # A browser in Spanish, before anyone signs in: the sign-in screen, and its refusal, in Spanish.
    spanish = await rooms(hub, locale="es-MX", allow=("401",))
    await expect(spanish.page.locator("#signin-title")).to_have_text("Inicie sesión en la sala de situación")
    await expect(spanish.page.locator("#password-submit")).to_have_text("Iniciar sesión")
    await expect(spanish.page.locator("#signin-language")).to_have_value("es")
    await spanish.sign_in_person("luis", "not the password", live=False)
    await expect(spanish.page.locator("#signin-message")).to_have_text(
        "Persona, contraseña o código de un solo uso incorrectos."
    )


# times ---------------------------------------------------------------------------------------------------------
async def test_times_are_shown_in_the_hubs_time_zone_not_the_browsers(hub_factory: HubFactory, rooms: OpenRoom) -> None:
    hub = await hub_factory(time_zone=MEXICO_CITY)
    crisis = await new_crisis(hub)
    status, action = await call(
        hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/actions",
        {"assignee": "pemex", "name": "Restore the billing system", "in_minutes": 180},
    )  # fmt: skip
    assert status == 201
    room = await rooms(hub, "pemex", timezone_id="Asia/Tokyo")  # 15 hours from Mexico City
    page = room.page
    await expect(page.locator("#wall-zone")).to_have_text(re.compile(f"^{MEXICO_ZONE}$"))
    await expect(page.locator("#wall-zone")).to_have_attribute("title", MEXICO_CITY)
    clock = await page.locator("#wall-clock").inner_text()
    there = datetime.now(ZoneInfo(MEXICO_CITY))
    shown = datetime.strptime(clock, "%H:%M:%S").replace(year=there.year, month=there.month, day=there.day)
    apart = abs((shown - there.replace(tzinfo=None)).total_seconds()) % 86400
    assert min(apart, 86400 - apart) < 600, (clock, there)  # Mexico City's time, not Tokyo's nor UTC's
    due = datetime.fromisoformat(action["due"].replace("Z", "+00:00")).astimezone(ZoneInfo(MEXICO_CITY))
    await expect(page.locator("#my-actions .action-meta")).to_contain_text(
        re.compile(rf"due (?:\S+ \S+ \S+ )?{due:%H:%M} {MEXICO_ZONE}")
    )
