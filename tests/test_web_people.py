"""People in the situation room: they sign in as themselves, see who they are, and their acts carry their name.

Real headless Chromium against a real hub and Redis, as in tests/test_web.py (whose fixtures these share).
"""

from __future__ import annotations

import re
import time

import aiohttp
from playwright.async_api import Browser, expect

from hub import credentials
from hub.crisis.taxonomy import SeverityLevel
from hub.notify.messages import link
from hub.notify.triggers import Notice
from hub.tlp import TLP
from tests.browser import ARTIFACTS, Room
from tests.conftest import Hub
from tests.crisis.test_routes import call, new_crisis
from tests.people.helpers import PASSWORD
from tests.people.test_cli_login import ask, poll
from tests.people.test_providers import SignInHub, signin_hub
from tests.people.test_sessions import add_person
from tests.test_web import OpenRoom, browser, rooms

__all__ = ["browser", "rooms", "signin_hub"]  # fixtures shared with tests/test_web.py and tests/people

CFE = "Federal Electricity Commission"


async def test_a_person_signs_in_with_a_password_and_the_room_says_who_they_are(hub: Hub, rooms: OpenRoom) -> None:
    await hub.set_password("luis", PASSWORD)
    room = await rooms(hub)
    await expect(room.page.locator("#password-form")).to_be_visible()
    await expect(room.page.locator("#signin-form")).to_be_visible()  # the demo offers tokens too
    await room.sign_in_person("luis", PASSWORD)
    await expect(room.page.locator("#who-person")).to_have_text("Luis Herrera")
    await expect(room.page.locator("#whoami")).to_contain_text("Central Bank")
    await room.page.reload()  # the session outlives a reload: the cookie, not the tab, holds it
    await room.wait_live()
    await expect(room.page.locator("#who-person")).to_have_text("Luis Herrera")
    await room.page.click("#sign-out")
    await expect(room.page.locator("#password-form")).to_be_visible()
    await room.page.reload()
    await expect(room.page.locator("#password-form")).to_be_visible()  # signed out for good


async def test_a_wrong_password_is_refused_in_words_and_the_form_stays(hub: Hub, rooms: OpenRoom) -> None:
    await hub.set_password("luis", PASSWORD)
    room = await rooms(hub, allow=("401",))
    await room.sign_in_person("luis", "this is not the password", live=False)
    await expect(room.page.locator("#signin-message")).to_have_text("Wrong person, password or one-time code.")
    await expect(room.page.locator("#password")).to_have_value("")


async def test_one_who_may_read_red_signs_in_with_a_one_time_code(hub: Hub, rooms: OpenRoom) -> None:
    secret = await hub.set_password("ana", PASSWORD)
    room = await rooms(hub)
    await room.sign_in_person("ana", PASSWORD, credentials.code_at(secret, time.time()))
    await expect(room.page.locator("#who-person")).to_have_text("Ana Ruiz")


async def test_an_acknowledgment_shows_the_persons_name_live_on_another_persons_page(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub, affected_sectors=["energy"], affected_stakeholders=["cfe"])
    await hub.set_password("jorge", PASSWORD)
    secret = await hub.set_password("ana", PASSWORD)
    jorge, ana = await rooms(hub), await rooms(hub)
    await jorge.sign_in_person("jorge", PASSWORD)
    await ana.sign_in_person("ana", PASSWORD, credentials.code_at(secret, time.time()))
    card = f'.crisis-card[data-crisis-id="{crisis["id"]}"]'
    await jorge.page.locator(f"{card} .btn-ack").click()
    await expect(jorge.page.locator(f"{card} .ack-mine")).to_contain_text("You acknowledged")
    await expect(ana.page.locator(f"{card} .ack-done", has_text=f"Jorge Salas ({CFE})")).to_be_visible()
    ack = ana.page.locator('#timeline li[data-type="crisis-acknowledgment"]').first
    await expect(ack).to_contain_text("Jorge Salas")
    await ana.page.screenshot(path=str(ARTIFACTS / "people-ack-by-name.png"))


async def test_a_person_signs_in_through_their_institutions_provider_and_their_acknowledgment_shows_their_name(
    signin_hub: SignInHub, browser: Browser
) -> None:
    """The whole way in Chromium: the hub's button, the provider's real login and consent pages, the room;
    then an acknowledgment that another signed-in page shows with the person's name, live."""
    headers = {"Authorization": f"Bearer {signin_hub.committee_token}"}
    body = {"name": "Payment switch outage", "severity": 3, "category": "availability", "lead": "cidge",
            "affected_sectors": ["finance"], "affected_stakeholders": ["banxico"]}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{signin_hub.url}/api/v1/crises", json=body, headers=headers) as response:
            assert response.status == 201, await response.text()
            crisis = await response.json()
    alice_context, committee_context = await browser.new_context(), await browser.new_context()
    try:
        committee = Room(committee_context, await committee_context.new_page(), signin_hub.url)
        await committee.page.goto(signin_hub.url + "/")
        await committee.sign_in(signin_hub.committee_token)
        await expect(committee.page.locator("#whoami")).to_have_text(re.compile(r"^Inter-ministerial"))  # no "null"

        alice = Room(alice_context, await alice_context.new_page(), signin_hub.url)
        await alice.page.goto(signin_hub.url + "/")
        await alice.page.get_by_role("link", name="Sign in with Central Bank").click()
        await alice.page.get_by_label("Login").fill("alice")  # the provider's own page
        await alice.page.get_by_role("button", name="Sign in").click()
        await alice.page.get_by_role("button", name="Continue").click()
        await alice.wait_live()
        await expect(alice.page.locator("#who-person")).to_have_text("Alicia Gómez")

        card = f'.crisis-card[data-crisis-id="{crisis["id"]}"]'
        await alice.page.locator(f"{card} .btn-ack").click()
        await expect(alice.page.locator(f"{card} .ack-mine")).to_contain_text("You acknowledged")
        chip = committee.page.locator(f"{card} .ack-done", has_text="Alicia Gómez (Central Bank)")
        await expect(chip).to_be_visible()
        await committee.page.screenshot(path=str(ARTIFACTS / "people-oidc-ack.png"))
    finally:
        await alice_context.close()
        await committee_context.close()


async def test_a_person_approves_a_command_line_from_the_link_it_printed(hub: Hub, rooms: OpenRoom) -> None:
    """``crisis-hub login`` prints a link to the room with ?approve=<code>: the code survives the sign-in, the
    room shows what asks, and the person's approval makes the command line's token theirs."""
    token, code = await ask(hub, "luis@laptop")
    await hub.set_password("luis", PASSWORD)
    room = await rooms(hub)
    await room.page.goto(f"{room.origin}/?approve={code}")
    await expect(room.page.locator("#signin-message")).to_contain_text(code)
    assert "approve" not in room.page.url  # the code is kept aside, not left in the address bar
    await room.sign_in_person("luis", PASSWORD)
    dialog = room.page.locator("#approve-dialog")
    await expect(dialog.locator("#approve-code")).to_have_text(code)
    await expect(dialog).to_contain_text("luis@laptop")
    assert (await poll(hub, token))[0] == 202  # nothing is approved by opening the page
    await room.page.screenshot(path=str(ARTIFACTS / "people-approve-command-line.png"))
    await dialog.locator("#approve-yes").click()
    await expect(dialog.locator("#approve-result")).to_contain_text("Approved")
    status, answer = await poll(hub, token)
    assert status == 200 and answer["person"]["id"] == "luis"


async def test_my_action_items_are_the_persons_own_and_their_stakeholders(hub: Hub, rooms: OpenRoom) -> None:
    """An item naming Jorge is his, not his colleague's; an item for the whole stakeholder is both of theirs."""
    crisis = await new_crisis(hub, affected_sectors=["energy"], affected_stakeholders=["cfe"])
    path = f"/api/v1/crises/{crisis['id']}/actions"
    named = {"assignee": "cfe", "assignee_person": "jorge", "name": "Isolate substation 4", "in_minutes": 30}
    await call(hub, "cidge", "POST", path, named)
    await call(hub, "cidge", "POST", path, {"assignee": "cfe", "name": "Report grid status", "in_minutes": 60})
    await add_person(hub, "marta", "cfe", "Marta Gil")
    await hub.set_password("jorge", PASSWORD)
    await hub.set_password("marta", PASSWORD)
    jorge, marta = await rooms(hub), await rooms(hub)
    await jorge.sign_in_person("jorge", PASSWORD)
    await marta.sign_in_person("marta", PASSWORD)
    await expect(jorge.page.locator("#my-actions .action")).to_have_count(2)
    own = jorge.page.locator("#my-actions .action", has_text="Isolate substation 4")
    await expect(own).to_contain_text(f"Jorge Salas ({CFE})")
    await expect(marta.page.locator("#my-actions .action")).to_have_count(1)
    await expect(marta.page.locator("#my-actions")).to_contain_text("Report grid status")
    await own.get_by_role("button", name="Mark complete").click()
    await expect(jorge.page.locator('#my-actions .action[data-status="completed"]')).to_contain_text("Isolate")
    await expect(jorge.page.locator('#my-actions .action[data-status="completed"]')).to_contain_text(
        f"updated by Jorge Salas ({CFE})"
    )


async def test_a_notifications_link_opens_its_crisis_after_sign_in(hub: Hub, rooms: OpenRoom) -> None:
    crisis = await new_crisis(hub, affected_sectors=["energy"], affected_stakeholders=["cfe"])
    notice = Notice("crisis-declared", "committee", "0-1", TLP.AMBER, crisis["id"], crisis["id"], crisis["name"],
                    SeverityLevel(2, "Medium", "#ffff00"), False, crisis["name"], "", "CIDGE")  # fmt: skip
    await hub.set_password("jorge", PASSWORD)
    room = await rooms(hub)
    await room.page.goto(link(room.origin, notice))  # the link a notification carries
    await expect(room.page.locator("#signin-message")).to_contain_text("the crisis your notification points to")
    await room.sign_in_person("jorge", PASSWORD)
    dialog = room.page.locator("#crisis-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#crisis-dialog-title")).to_have_text(crisis["name"])
