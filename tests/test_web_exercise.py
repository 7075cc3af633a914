"""Exercises in the situation room: EXERCISE in words on the crisis and on each of its items, never on a real one.

Real headless Chromium against a real hub and Redis, as in tests/test_web.py (whose fixtures
these tests share).
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, expect

from tests.browser import ARTIFACTS
from tests.conftest import Hub
from tests.crisis.test_routes import call, new_crisis
from tests.test_web import OpenRoom, browser, rooms

__all__ = ["browser", "rooms"]  # the fixtures of tests/test_web.py, shared


async def with_items(hub: Hub, crisis: dict[str, Any], what: str) -> None:
    """An update, a sitrep and an action item for pemex in ``crisis``."""
    cid = crisis["id"]
    for path, body in [
        ("updates", {"content": f"{what}: substation 4 down", "abstract": f"{what} update"}),
        ("sitreps", {"name": f"{what} sitrep", "description": "Two substations down."}),
        ("actions", {"assignee": "pemex", "name": f"{what} action", "in_minutes": 30}),
    ]:
        status, answer = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/{path}", body)
        assert status == 201, answer


async def background(locator: Locator) -> str:
    return str(await locator.evaluate("el => getComputedStyle(el).backgroundImage"))


async def test_an_exercise_says_exercise_on_the_board_in_its_view_and_on_each_item(hub: Hub, rooms: OpenRoom) -> None:
    real = await new_crisis(hub, name="Refinery ransomware", severity=3)
    drill = await new_crisis(hub, name="Grid blackout drill", severity=2, exercise=True)
    await with_items(hub, real, "Real")
    await with_items(hub, drill, "Drill")
    room = await rooms(hub, "pemex")
    page = room.page
    real_card = page.locator(f'.crisis-card[data-crisis-id="{real["id"]}"]')
    drill_card = page.locator(f'.crisis-card[data-crisis-id="{drill["id"]}"]')
    await expect(drill_card).to_be_visible()

    # The board: the exercise's card says so in words, in its own striped colour; the real one does not.
    banner = drill_card.get_by_role("note")
    await expect(banner).to_contain_text("EXERCISE")
    assert "repeating-linear-gradient" in await background(banner)
    await expect(drill_card).to_have_attribute("aria-label", "Exercise: Grid blackout drill, severity Medium, detected")
    await expect(real_card.locator(".exercise-banner")).to_have_count(0)
    await expect(real_card.locator(".badge-exercise")).to_have_count(0)
    # Counted apart from the real crises in the header.
    await expect(page.locator("#crisis-count")).to_have_text("1 + 1 exercise")
    await page.screenshot(path=str(ARTIFACTS / "exercise-board.png"))

    # My action items: the drill's is marked, the real one is not.
    mine = page.locator("#my-actions")
    await expect(mine.locator(".action")).to_have_count(2)
    await expect(mine.locator(".action", has_text="Drill action").locator(".badge-exercise")).to_have_text("EXERCISE")
    await expect(mine.locator(".action", has_text="Real action").locator(".badge-exercise")).to_have_count(0)

    # The exercise's view: a banner, and the mark on its update, its sitrep and its action item.
    dialog = page.locator("#crisis-dialog")
    await drill_card.locator(".crisis-open").click()
    await expect(dialog.locator("#crisis-dialog-title")).to_have_text("EXERCISE — Grid blackout drill")
    await expect(dialog.locator(".exercise-banner")).to_contain_text("EXERCISE")
    await expect(dialog.locator(".entry")).to_have_count(2)
    for entry in await dialog.locator(".entry").all():
        await expect(entry.locator(".badge-exercise")).to_have_text("EXERCISE")
    await expect(dialog.locator(".action .badge-exercise")).to_have_text(["EXERCISE"])
    await page.screenshot(path=str(ARTIFACTS / "exercise-crisis.png"))
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # The real crisis's view: nothing of the kind.
    await real_card.locator(".crisis-open").click()
    await expect(dialog.locator("#crisis-dialog-title")).to_have_text("Refinery ransomware")
    await expect(dialog.locator(".entry")).to_have_count(2)
    await expect(dialog.locator(".action")).to_have_count(1)
    await expect(dialog.locator(".exercise-banner, .badge-exercise")).to_have_count(0)
