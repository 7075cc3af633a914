"""People sign in with a password (and a one-time code where needed), act through a session cookie, and
every act is theirs. A real hub on a real Redis, reached over real sockets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest

from hub import credentials
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.people.helpers import PASSWORD, Browser, signed_in
from tests.people.test_cli_login import ask
from tests.stixgen import bundle, indicator
from tests.stream.clients import STIX, Ws, post
from tests.timing import WAIT

pytestmark = pytest.mark.asyncio


async def audit_records(hub: Hub, action: str) -> list[dict[str, Any]]:
    """The audit trail's records of ``action``, once the writer has flushed them."""
    path = f"/api/v1/admin/audit?limit=1000&action={action}"
    async with hub.client.get(path, headers=hub.auth("cidge")) as response:
        assert response.status == 200
        return [entry["record"] for entry in (await response.json())["entries"]]


async def test_a_person_signs_in_with_a_password_and_acts_for_their_stakeholder(hub: Hub) -> None:
    luis = await signed_in(hub, "luis")
    status, me = await luis.call("GET", "/api/v1/me")
    assert status == 200
    assert me["stakeholder"] == "banxico" and me["person"] == {"id": "luis", "name": "Luis Herrera"}
    marker = indicator(TLP.AMBER)
    status, result = await luis.call("POST", "/api/v1/channels/sector.finance/objects", orjson.dumps(bundle(marker)),
                                     headers=STIX)  # fmt: skip
    assert status in (200, 201), result
    async with hub.client.get(f"/api/v1/objects/{marker['id']}", headers=hub.auth("cert-mx")) as response:
        event = (await response.json())["events"][0]
    assert event["source"] == "banxico"
    assert event["person"] == {"id": "luis", "name": "Luis Herrera"}
    writes = [r for r in await audit_records(hub, "write") if r.get("channel") == "sector.finance"]
    assert writes and writes[-1]["actor"] == "banxico" and writes[-1]["person"] == "luis"


async def test_a_token_write_names_no_person(hub: Hub) -> None:
    marker = indicator(TLP.AMBER)
    await post(hub, "banxico", "sector.finance", marker)
    async with hub.client.get(f"/api/v1/objects/{marker['id']}", headers=hub.auth("banxico")) as response:
        event = (await response.json())["events"][0]
    assert "person" not in event


async def test_the_session_cookie_is_httponly_strict_and_new_at_every_sign_in(hub: Hub) -> None:
    await hub.set_password("luis", PASSWORD)
    browser = Browser(hub, cookie="chosen-by-an-attacker")
    status, _ = await browser.sign_in("luis")
    assert status == 200
    cookie = browser.set_cookies[-1]["chub_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP here; over TLS it is set (request.secure)
    assert browser.cookie != "chosen-by-an-attacker" and len(browser.cookie) >= 40
    first = browser.cookie
    await browser.sign_in("luis")
    assert browser.cookie != first


async def test_a_change_made_with_the_cookie_needs_the_sessions_csrf_token(hub: Hub) -> None:
    luis = await signed_in(hub, "luis")
    post_path = "/api/v1/channels/sector.finance/objects"
    status, body = await luis.call("POST", post_path, orjson.dumps(bundle(indicator(TLP.AMBER))), csrf=False,
                                   headers=STIX)  # fmt: skip
    assert status == 403 and "X-CSRF-Token" in body["description"]
    forged = Browser(hub, cookie=luis.cookie, csrf="not-the-token")
    status, _ = await forged.call("POST", post_path, orjson.dumps(bundle(indicator(TLP.AMBER))), headers=STIX)
    assert status == 403
    status, _ = await luis.call("GET", "/api/v1/me", csrf=False)  # reading needs no token
    assert status == 200


async def test_wrong_passwords_lock_the_account_then_even_the_right_one_is_refused(hub: Hub) -> None:
    await hub.set_password("jorge", PASSWORD)
    browser = Browser(hub)
    for _ in range(hub.config.sign_in.lockout_failures):
        status, body = await browser.sign_in("jorge", "not the password at all")
        assert status == 401 and body["description"] == "wrong person, password or one-time code"
    status, body = await browser.sign_in("jorge")
    assert status == 429 and "locked" in body["description"]
    refused = await audit_records(hub, "sign-in-refused")
    assert any(r.get("person") == "jorge" for r in refused)


async def test_an_unknown_person_gets_the_same_answer_as_a_wrong_password(hub: Hub) -> None:
    status, body = await Browser(hub).sign_in("nobody-here")
    assert status == 401 and body["description"] == "wrong person, password or one-time code"


async def test_who_may_read_red_or_administer_needs_a_one_time_code_used_once(hub: Hub) -> None:
    secret = await hub.set_password("ana", PASSWORD)
    assert secret, "ana administers: she must have a one-time-code secret"
    browser = Browser(hub)
    status, _ = await browser.sign_in("ana")
    assert status == 401
    code = credentials.code_at(secret, time.time())
    status, body = await browser.sign_in("ana", code=code)
    assert status == 200 and body["person"]["id"] == "ana"
    status, _ = await Browser(hub).sign_in("ana", code=code)  # the same code again: replayed
    assert status == 401


async def test_a_read_only_person_writes_nothing(hub: Hub) -> None:
    sofia = await signed_in(hub, "sofia")
    status, body = await sofia.call("POST", "/api/v1/channels/sector.finance/objects",
                                    orjson.dumps(bundle(indicator(TLP.AMBER))), headers=STIX)  # fmt: skip
    assert status == 403, body


async def test_a_person_may_not_be_given_wider_rights_than_their_stakeholder(hub: Hub) -> None:
    ana = await signed_in(hub, "ana")
    person = {"id": "eve", "stakeholder": "banxico", "name": "Eve", "admin": True}
    status, body = await ana.call("POST", "/api/v1/admin/people", person)
    assert status == 400 and "never wider" in body["description"]


async def test_admins_add_list_and_disable_people_and_others_may_not(hub: Hub) -> None:
    ana = await signed_in(hub, "ana")
    person = {"id": "mara", "stakeholder": "cidge", "name": "Mara Ortiz", "email": "mara@cidge.example",
              "max_tlp": "amber"}  # fmt: skip
    status, added = await ana.call("POST", "/api/v1/admin/people", person)
    assert status == 201 and added["max_tlp"] == "amber" and added["origin"] == "admin"
    status, listing = await ana.call("GET", "/api/v1/admin/people")
    assert {"mara", "luis", "ana"} <= {p["id"] for p in listing["people"]}
    luis = await signed_in(hub, "luis")
    status, _ = await luis.call("POST", "/api/v1/admin/people/mara/disable")
    assert status == 403
    status, directory = await luis.call("GET", "/api/v1/people")
    mara = next(p for p in directory["people"] if p["id"] == "mara")
    assert mara == {"id": "mara", "name": "Mara Ortiz", "stakeholder": "cidge",
                    "stakeholder_name": "Inter-ministerial Cyber Crisis Committee"}  # fmt: skip
    status, disabled = await ana.call("POST", "/api/v1/admin/people/luis/disable")
    assert status == 200 and disabled["disabled"] is True
    status, _ = await luis.call("GET", "/api/v1/me")
    assert status == 401
    status, _ = await luis.sign_in("luis")
    assert status == 401


async def test_a_person_with_a_lower_ceiling_never_sees_what_their_stakeholder_may(hub_factory: HubFactory) -> None:
    """Two people of one stakeholder watching at once: the fan-out decides for each, never for the stakeholder."""
    hub = await hub_factory()
    ana = await signed_in(hub, "ana")
    mara_record = {"id": "mara", "stakeholder": "cidge", "name": "Mara Ortiz", "max_tlp": "amber"}
    status, _ = await ana.call("POST", "/api/v1/admin/people", mara_record)
    assert status == 201
    mara = await signed_in(hub, "mara")
    watchers: dict[str, Ws] = {}
    for name, browser in (("ana", ana), ("mara", mara)):
        ws = await hub.client.ws_connect("/api/v1/stream", headers={"Cookie": f"chub_session={browser.cookie}"})
        watchers[name] = Ws(ws)
        welcome = await watchers[name].until("welcome")
        assert welcome["stakeholder"] == "cidge"
        await watchers[name].send(op="subscribe", channels=["committee"])
        await watchers[name].until("subscribed")
    red, amber = indicator(TLP.RED), indicator(TLP.AMBER)
    await post(hub, "cidge", "committee", red, amber)
    seen_by_ana = [e["object"]["id"] for e in await watchers["ana"].events_until(amber["id"])]
    seen_by_mara = [e["object"]["id"] for e in await watchers["mara"].events_until(amber["id"])]
    assert seen_by_ana == [red["id"], amber["id"]]
    assert seen_by_mara == [amber["id"]]
    status, page = await mara.call("GET", "/api/v1/channels/committee/events")
    assert [e["object"]["id"] for e in page["events"]] == [amber["id"]]
    for watcher in watchers.values():
        await watcher.ws.close()


async def test_a_disabled_persons_open_streams_close_within_the_recheck(hub_factory: HubFactory) -> None:
    """The page's stream (the session cookie) and the command line's (a personal token from crisis-hub login)."""
    hub = await hub_factory(stream_token_recheck=0.2)
    luis = await signed_in(hub, "luis")
    token, code = await ask(hub)
    assert (await luis.call("POST", f"/api/v1/cli-login/{code}", {"approve": True}))[0] == 200
    page = Ws(await hub.client.ws_connect("/api/v1/stream", headers={"Cookie": f"chub_session={luis.cookie}"}))
    command = Ws(await hub.client.ws_connect("/api/v1/stream", headers={"Authorization": f"Bearer {token}"}))
    await page.until("welcome")
    await command.until("welcome")
    async with hub.client.post("/api/v1/admin/people/luis/disable", headers=hub.auth("cidge")) as response:
        assert response.status == 200
    for ws in (page, command):
        closed = await ws.until("_closed", timeout=WAIT)
        assert closed["code"] == 1008


async def test_a_stream_opened_with_a_session_from_another_site_is_refused(hub: Hub) -> None:
    luis = await signed_in(hub, "luis")
    headers = {"Cookie": f"chub_session={luis.cookie}", "Origin": "https://evil.example"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.client.ws_connect("/api/v1/stream", headers=headers)
    assert refused.value.status == 403


async def test_signing_out_everywhere_ends_every_session_of_the_person(hub: Hub) -> None:
    first = await signed_in(hub, "jorge")
    second = Browser(hub)
    assert (await second.sign_in("jorge"))[0] == 200
    status, _ = await first.call("DELETE", "/api/v1/session?everywhere=true")
    assert status == 204
    for browser in (first, second):
        status, _ = await browser.call("GET", "/api/v1/session")
        assert status == 204
        status, _ = await browser.call("GET", "/api/v1/me")
        assert status == 401


async def test_signing_out_ends_this_session_only(hub: Hub) -> None:
    first = await signed_in(hub, "jorge")
    second = Browser(hub)
    assert (await second.sign_in("jorge"))[0] == 200
    assert (await first.call("DELETE", "/api/v1/session"))[0] == 204
    assert (await first.call("GET", "/api/v1/session"))[0] == 204
    status, session = await second.call("GET", "/api/v1/session")
    assert status == 200 and session["label"] == "Jorge Salas (Federal Electricity Commission)"


async def test_an_acknowledgment_names_the_person_who_made_it(hub: Hub) -> None:
    crisis_body = {"name": "Grid outage", "severity": 3, "category": "availability", "lead": "cidge",
                   "affected_sectors": ["energy"], "affected_stakeholders": ["cfe"]}  # fmt: skip
    async with hub.client.post("/api/v1/crises", json=crisis_body, headers=hub.auth("cidge")) as response:
        assert response.status == 201, await response.text()
        crisis = await response.json()
    jorge = await signed_in(hub, "jorge")
    status, ack = await jorge.call("POST", f"/api/v1/crises/{crisis['id']}/acks", {"item": crisis["id"]})
    assert status in (200, 201), ack
    assert ack["acknowledged_by"] == "cfe" and ack["person"] == "Jorge Salas"
    async with hub.client.get(f"/api/v1/crises/{crisis['id']}/acks", headers=hub.auth("cidge")) as response:
        items = (await response.json())["items"]
    done = next(i for i in items if i["id"] == crisis["id"])["acknowledged"]
    assert {"stakeholder": "cfe", "person": "Jorge Salas"}.items() <= done[0].items()


async def test_the_sign_in_options_need_no_credentials(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(hub.client.make_url("/api/v1/sign-in")) as response:
            assert response.status == 200
            options = await response.json()
    assert options["local"] is True and options["token_on_page"] is True and options["providers"] == []


async def test_concurrent_sign_ins_with_one_code_let_one_through(hub: Hub) -> None:
    secret = await hub.set_password("ana", PASSWORD)
    code = credentials.code_at(secret, time.time())
    results = await asyncio.gather(*(Browser(hub).sign_in("ana", code=code) for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 401, 401, 401]


async def add_person(hub: Hub, person_id: str, stakeholder: str, name: str, **limits: Any) -> None:
    body = {"id": person_id, "stakeholder": stakeholder, "name": name, **limits}
    async with hub.client.post("/api/v1/admin/people", json=body, headers=hub.auth("cidge")) as response:
        assert response.status == 201, await response.text()


async def test_an_action_item_may_name_a_person_of_its_assignee_who_can_read_it(hub: Hub) -> None:
    crisis = await new_crisis(hub, affected_sectors=["energy"], affected_stakeholders=["cfe"])
    path = f"/api/v1/crises/{crisis['id']}/actions"
    due = "2030-01-01T00:00:00Z"
    body = {"assignee": "cfe", "assignee_person": "jorge", "name": "Isolate", "due": due}
    status, item = await call(hub, "cidge", "POST", path, body)
    assert status == 201, item
    assert item["assignee"] == "cfe" and item["assignee_person"] == {"id": "jorge", "name": "Jorge Salas"}
    await add_person(hub, "marta", "cfe", "Marta Gil", max_tlp="green")
    await add_person(hub, "raul", "cfe", "Raúl Paz")
    async with hub.client.post("/api/v1/admin/people/raul/disable", headers=hub.auth("cidge")) as response:
        assert response.status == 200
    for person, reason in (
        ("luis", "must be a person of cfe"),  # another stakeholder's
        ("nobody", "must be a person of cfe"),
        ("marta", "could not see this action item"),  # the item is AMBER; she reads up to GREEN
        ("raul", "may not be assigned anything"),  # disabled
    ):
        body = {"assignee": "cfe", "assignee_person": person, "name": "Isolate", "due": due}
        status, error = await call(hub, "cidge", "POST", path, body)
        assert status == 400 and reason in error["description"], (person, error)
    # A colleague of the named person may still move it for their stakeholder.
    status, moved = await call(hub, "cfe", "PATCH", f"{path}/{item['id']}", {"status": "accepted"})
    assert status == 200 and moved["assignee_person"]["id"] == "jorge"
    sitrep = {"name": "Sitrep 1", "description": "Grid stable."}
    assert (await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/sitreps", sitrep))[0] == 201
    async with hub.client.get(f"/api/v1/crises/{crisis['id']}/sitrep?format=md", headers=hub.auth("cfe")) as r:
        assert "assigned to Jorge Salas (Federal Electricity Commission) by" in await r.text()


async def test_a_person_keeps_their_language_at_the_hub_and_a_token_has_none_to_keep(hub: Hub) -> None:
    luis = await signed_in(hub, "luis")
    status, me = await luis.call("GET", "/api/v1/me")
    assert status == 200 and me["language"] is None and me["hub_language"] == "en" and me["time_zone"] == "UTC"
    assert (await luis.call("PUT", "/api/v1/me/preferences", {"language": "es"}))[0] == 200
    assert (await luis.call("GET", "/api/v1/me"))[1]["language"] == "es"
    for bad in ({"language": "fr"}, {"colour": "blue"}):
        assert (await luis.call("PUT", "/api/v1/me/preferences", bad))[0] == 400
    assert (await luis.call("PUT", "/api/v1/me/preferences", {"language": "es"}, csrf=False))[0] == 403
    async with hub.client.put("/api/v1/me/preferences", json={"language": "es"}, headers=hub.auth("banxico")) as r:
        assert r.status == 403
    # Kept by the hub, not the browser: another sign-in finds it.
    again = await signed_in(hub, "luis")
    assert (await again.call("GET", "/api/v1/me"))[1]["language"] == "es"
    assert (await again.call("PUT", "/api/v1/me/preferences", {"language": None}))[0] == 200
    assert (await again.call("GET", "/api/v1/me"))[1]["language"] is None
