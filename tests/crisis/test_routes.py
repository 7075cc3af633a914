"""The crisis workflow over HTTP, against a real Redis: crises, updates, acks, actions, sitreps."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
import pytest

from hub import keys
from hub.crisis import objects
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.stixgen import indicator
from tests.timing import WAIT

JSON = {"Content-Type": "application/json"}


async def call(hub: Hub, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = orjson.dumps(body) if body is not None else None
    headers = {**hub.auth(who), **(JSON if data is not None else {})}
    async with hub.client.request(method, path, data=data, headers=headers) as response:
        text = await response.read()
        if response.content_type == "text/markdown":
            return response.status, text.decode()
        return response.status, orjson.loads(text) if text else None


async def new_crisis(hub: Hub, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Ransomware at the state oil company",
        "severity": 2,
        "category": "malicious-code",
        "subcategory": "infected-system",
        "lead": "cert-mx",
        "affected_sectors": ["energy"],
        "affected_stakeholders": ["pemex"],
        **fields,
    }
    status, crisis = await call(hub, "cidge", "POST", "/api/v1/crises", body)
    assert status == 201 and isinstance(crisis, dict), crisis
    return crisis


async def test_a_committee_member_creates_a_crisis_as_a_stix_incident_with_the_extension(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    assert crisis["severity"] == {"level": 2, "name": "Medium", "colour": "#ffff00"}
    assert crisis["status"] == "detected" and crisis["lead"] == "cert-mx" and crisis["tlp"] == "amber"
    assert crisis["channel"] == "committee" and crisis["updated_by"] == "cidge"
    status, obj = await call(hub, "sspc", "GET", f"/api/v1/objects/{crisis['id']}")
    incident = obj["events"][0]["object"]
    assert incident["type"] == "incident" and incident["extensions"][objects.EXTENSION_ID]["severity"] == 2


@pytest.mark.parametrize(
    "change, field",
    [
        ({"severity": 9}, "severity"),
        ({"category": "aliens"}, "category"),
        ({"subcategory": "ddos"}, "subcategory"),
        ({"lead": "nobody"}, "lead"),
        ({"status": "panic"}, "status"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_crisis_fields_are_400_naming_the_field(hub: Hub, change: dict[str, Any], field: str) -> None:
    body = {"name": "x", "severity": 1, "category": "malicious-code", **change}
    status, error = await call(hub, "cidge", "POST", "/api/v1/crises", body)
    assert status == 400 and field in error["description"]


async def test_only_writers_of_the_crisis_channel_declare_crises(hub: Hub) -> None:
    status, error = await call(hub, "banxico", "POST", "/api/v1/crises", {"name": "x", "severity": 1})
    assert status == 403 and "committee" in error["description"]


async def test_the_crisis_list_follows_role_and_tlp(hub: Hub) -> None:
    amber = await new_crisis(hub, severity=1)
    red = await new_crisis(hub, severity=4, tlp="red", name="Payment system compromise")
    _, for_cidge = await call(hub, "sspc", "GET", "/api/v1/crises")
    assert [c["id"] for c in for_cidge["crises"]] == [red["id"], amber["id"]]  # most severe first
    _, for_bank = await call(hub, "banxico", "GET", "/api/v1/crises")
    assert [c["id"] for c in for_bank["crises"]] == [amber["id"]]
    _, for_observer = await call(hub, "observer", "GET", "/api/v1/crises")
    assert for_observer["crises"] == []
    _, filtered = await call(hub, "sspc", "GET", "/api/v1/crises?min_severity=3")
    assert [c["id"] for c in filtered["crises"]] == [red["id"]]
    status, _ = await call(hub, "banxico", "GET", f"/api/v1/crises/{red['id']}")
    assert status == 404


async def test_every_change_is_a_version_and_history_says_who_changed_what(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    status, revised = await call(
        hub,
        "sedena",
        "PATCH",
        f"/api/v1/crises/{crisis['id']}",
        {"severity": 3, "status": "assessing", "affected_sectors": ["energy", "finance"]},
    )
    assert status == 200 and revised["severity"]["name"] == "High" and revised["updated_by"] == "sedena"
    _, history = await call(hub, "cnpc", "GET", f"/api/v1/crises/{crisis['id']}/history")
    first, second = history["versions"]
    assert first["by"] == "cidge" and first["changes"]["severity"] == [None, 2]
    assert second["by"] == "sedena"
    assert second["changes"] == {
        "severity": [2, 3],
        "status": ["detected", "assessing"],
        "affected_sectors": [["energy"], ["energy", "finance"]],
    }
    status, error = await call(hub, "sedena", "PATCH", f"/api/v1/crises/{crisis['id']}", {})
    assert status == 400 and "nothing to change" in error["description"]


async def test_updates_from_several_institutions_each_on_a_channel_they_write(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    for who, channel in (("pemex", "sector.energy"), ("banxico", "sector.finance"), ("cert-mx", "sector.energy")):
        status, event = await call(
            hub, who, "POST", f"/api/v1/crises/{cid}/updates", {"content": f"update from {who}", "channel": channel}
        )
        assert status == 201 and event["object"]["object_refs"] == [cid] and event["channel"] == channel
    status, error = await call(hub, "pemex", "POST", f"/api/v1/crises/{cid}/updates", {"content": "x"})
    assert status == 403  # pemex may not write the committee channel
    _, seen_by_committee = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}/updates")
    assert {e["source"] for e in seen_by_committee["events"]} == {"pemex", "banxico", "cert-mx"}
    _, seen_by_pemex = await call(hub, "pemex", "GET", f"/api/v1/crises/{cid}/updates")
    assert {e["source"] for e in seen_by_pemex["events"]} == {"pemex", "cert-mx"}


async def test_a_red_update_is_never_shown_below_red(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/updates", {"content": "secret", "tlp": "red"})
    _, for_sspc = await call(hub, "sspc", "GET", f"/api/v1/crises/{crisis['id']}/updates")
    _, for_bank = await call(hub, "banxico", "GET", f"/api/v1/crises/{crisis['id']}/updates")
    assert len(for_sspc["events"]) == 1 and for_bank["events"] == []


async def test_acknowledgments_are_recorded_broadcast_and_counted_against_who_is_expected(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    ws = await hub.client.ws_connect("/api/v1/stream", headers=hub.auth("sspc"))
    await ws.send_str(orjson.dumps({"op": "subscribe", "channels": ["committee"]}).decode())
    while (await ws.receive_json())["op"] != "subscribed":
        pass
    status, ack = await call(hub, "pemex", "POST", f"/api/v1/crises/{cid}/acks", {"item": cid})
    assert status == 201 and ack["acknowledged_by"] == "pemex" and ack["version"] == crisis["modified"]
    again_status, again = await call(hub, "pemex", "POST", f"/api/v1/crises/{cid}/acks", {"item": cid})
    assert again_status == 201 and again["event_id"] == ack["event_id"]  # idempotent
    async with asyncio.timeout(WAIT):
        while True:
            msg = await ws.receive_json()
            if msg["op"] == "event" and msg["event"]["type"] == objects.ACK_TYPE:
                break
    assert msg["event"]["source"] == "pemex" and msg["event"]["object"]["object_ref"] == cid
    _, acks = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}/acks")
    [item] = acks["items"]
    assert [a["stakeholder"] for a in item["acknowledged"]] == ["pemex"]
    # expected: the lead, the affected, and the crisis channel's writers (the committee)
    assert item["pending"] == ["cert-mx", "cnpc", "sedena", "sspc"]  # not cidge: it declared the crisis
    status, _ = await call(hub, "observer", "POST", f"/api/v1/crises/{cid}/acks", {"item": cid})
    assert status == 404
    await ws.close()


async def test_a_severity_change_is_a_new_item_to_acknowledge(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    await call(hub, "banxico", "POST", f"/api/v1/crises/{crisis['id']}/acks", {"item": crisis["id"]})
    _, revised = await call(hub, "cidge", "PATCH", f"/api/v1/crises/{crisis['id']}", {"severity": 4})
    _, acks = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/acks")
    versions = {i["version"]: i for i in acks["items"]}
    assert [a["stakeholder"] for a in versions[crisis["modified"]]["acknowledged"]] == ["banxico"]
    assert versions[revised["modified"]]["acknowledged"] == []


async def test_action_items_are_assigned_accepted_and_completed_by_the_assignee(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    status, action = await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{cid}/actions",
        {"assignee": "pemex", "name": "Isolate the OT network", "in_minutes": 30},
    )
    assert status == 201 and action["status"] == "assigned" and not action["overdue"]
    path = f"/api/v1/crises/{cid}/actions/{action['id']}"
    status, error = await call(hub, "banxico", "PATCH", path, {"status": "completed"})
    assert status == 403
    for step in ("accepted", "in-progress", "completed"):
        status, action = await call(hub, "pemex", "PATCH", path, {"status": step, "comment": f"now {step}"})
        assert status == 200 and action["status"] == step and action["updated_by"] == "pemex"
    status, error = await call(hub, "pemex", "PATCH", path, {"status": "done"})
    assert status == 400
    status, error = await call(
        hub, "banxico", "POST", f"/api/v1/crises/{cid}/actions", {"assignee": "pemex", "name": "x", "in_minutes": 5}
    )
    assert status == 403


async def test_an_assignee_who_could_not_see_the_action_is_refused(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    status, error = await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{crisis['id']}/actions",
        {"assignee": "pemex", "name": "x", "in_minutes": 5, "tlp": "red"},
    )
    assert status == 400 and "pemex could not see" in error["description"]


async def test_overdue_actions_are_escalated_once_even_by_two_hub_processes(hub_factory: HubFactory) -> None:
    a, b = await hub_factory(), await hub_factory()
    crisis = await new_crisis(a)
    cid = crisis["id"]
    status, action = await call(
        a,
        "cidge",
        "POST",
        f"/api/v1/crises/{cid}/actions",
        {"assignee": "pemex", "name": "Restore backups", "due": "2026-01-01T00:00:00Z"},
    )
    assert status == 201 and action["overdue"]
    counts = await asyncio.gather(
        a.client.app[keys.CRISIS_SERVICE].escalate_overdue(), b.client.app[keys.CRISIS_SERVICE].escalate_overdue()
    )
    assert sum(counts) >= 1
    assert await a.client.app[keys.CRISIS_SERVICE].escalate_overdue() == 0
    _, actions = await call(a, "sspc", "GET", f"/api/v1/crises/{cid}/actions")
    assert actions["actions"][0]["escalated"] is True
    _, updates = await call(a, "sspc", "GET", f"/api/v1/crises/{cid}/updates")
    [note] = [e for e in updates["events"] if e["source"] == "hub"]
    assert note["object"]["abstract"] == "Overdue: Restore backups"
    _, page = await call(a, "sspc", "GET", "/api/v1/channels/committee/events?limit=1000")
    assert sum(1 for e in page["events"] if e["object"]["id"] == note["object"]["id"]) == 1


async def test_the_escalation_task_runs_by_itself(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis={"escalation_interval": 0.1})
    crisis = await new_crisis(hub)
    await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{crisis['id']}/actions",
        {"assignee": "cert-mx", "name": "Share IOCs", "due": "2026-01-01T00:00:00Z"},
    )
    async with asyncio.timeout(WAIT):
        while True:
            _, actions = await call(hub, "cidge", "GET", f"/api/v1/crises/{crisis['id']}/actions")
            if actions["actions"][0]["escalated"]:
                break
            await asyncio.sleep(0.05)


async def test_sitrep_export_contains_only_what_the_reader_may_read(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    status, _ = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}/sitrep")
    assert status == 404
    _, red = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/updates", {"content": "names", "tlp": "red"})
    _, amber = await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{cid}/updates",
        {"content": "HMIs encrypted at two refineries", "abstract": "Spread"},
    )
    ioc, energy = indicator(TLP.GREEN), indicator(TLP.AMBER, name="refinery C2")
    for who, channel, obj in (("cidge", "committee", ioc), ("pemex", "sector.energy", energy)):
        async with hub.client.post(
            f"/api/v1/channels/{channel}/objects", data=orjson.dumps(obj), headers={**JSON, **hub.auth(who)}
        ) as response:
            assert response.status == 201
    # An AMBER sitrep may not name the RED update: its readers may not all see it.
    body = {"name": "Sitrep 1", "description": "Containment under way.", "object_refs": [red["object"]["id"]]}
    status, error = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/sitreps", body)
    assert status == 400 and "TLP:RED" in error["description"]
    refs = [amber["object"]["id"], ioc["id"], energy["id"]]
    status, report = await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{cid}/sitreps",
        {"name": "Sitrep 1", "description": "Containment under way.", "object_refs": refs},
    )
    assert status == 201 and report["object"]["object_refs"] == [cid, *refs]
    _, full = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/sitrep")
    assert full["type"] == "bundle"
    assert {o["id"] for o in full["objects"]} == {report["object"]["id"], cid, *refs}
    # The energy indicator may go to the committee's readers, but the bank reads no energy channel.
    _, partial = await call(hub, "banxico", "GET", f"/api/v1/crises/{cid}/sitrep")
    assert {o["id"] for o in partial["objects"]} == {report["object"]["id"], cid, amber["object"]["id"], ioc["id"]}
    status, text = await call(hub, "banxico", "GET", f"/api/v1/crises/{cid}/sitrep?format=md")
    assert status == 200 and text.startswith("# Situation report: Ransomware")
    assert "Severity 2 — Medium" in text and "HMIs encrypted" in text and "names" not in text
    _, v2 = await call(
        hub,
        "cidge",
        "POST",
        f"/api/v1/crises/{cid}/sitreps",
        {"sitrep_id": report["object"]["id"], "description": "Contained."},
    )
    assert v2["object"]["id"] == report["object"]["id"] and v2["object"]["modified"] > report["object"]["modified"]
    _, newest = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/sitrep?format=md")
    assert "Contained." in newest


async def test_the_crisis_page_gathers_everything(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/updates", {"content": "u"})
    await call(
        hub, "cidge", "POST", f"/api/v1/crises/{cid}/actions", {"assignee": "pemex", "name": "a", "in_minutes": 9}
    )
    status, page = await call(hub, "pemex", "GET", f"/api/v1/crises/{cid}")
    assert status == 200 and page["crisis"]["id"] == cid
    assert len(page["updates"]) == 1 and len(page["actions"]) == 1 and len(page["acks"]) == 2


async def test_the_extension_definition_is_published_and_valid_stix(hub: Hub) -> None:
    from hub.stix import validate

    _, bundle = await call(hub, "observer", "GET", "/api/v1/crises/extension-definition")
    assert [o["type"] for o in bundle["objects"]] == ["identity", "extension-definition"]
    assert not validate(bundle["objects"], TLP.CLEAR).rejected


async def test_min_severity_zero_lists_baseline_crises(hub: Hub) -> None:
    """Regression: min_severity=0 (Baseline) was refused as out of range."""
    crisis = await new_crisis(hub, severity=0)
    status, listing = await call(hub, "sspc", "GET", "/api/v1/crises?min_severity=0")
    assert status == 200 and [c["id"] for c in listing["crises"]] == [crisis["id"]]


async def test_the_briefing_and_the_escalation_note_speak_in_display_names_and_readable_times(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    _, update = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/updates", {"content": "Two refineries hit."})
    due = "2026-01-01T09:30:00Z"
    await call(
        hub, "cidge", "POST", f"/api/v1/crises/{cid}/actions", {"assignee": "pemex", "name": "Isolate OT", "due": due}
    )
    assert await hub.client.app[keys.CRISIS_SERVICE].escalate_overdue() == 1
    _, updates = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/updates")
    [note] = [e["object"] for e in updates["events"] if e["source"] == "hub"]
    assert note["content"] == (
        "Action item 'Isolate OT', assigned to State Oil Company by Inter-ministerial Cyber Crisis Committee, "
        "was due at 09:30 UTC on 1 Jan 2026 and is still assigned. Escalated to the committee."
    )
    refs = [update["object"]["id"]]
    await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/sitreps", {"name": "Sitrep 1", "object_refs": refs})
    status, text = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/sitrep?format=md")
    assert status == 200 and "lead **National CERT**" in text
    assert "· Inter-ministerial Cyber Crisis Committee · TLP:AMBER: Two refineries hit." in text
    assert re.search(
        r"assigned to State Oil Company by Inter-ministerial Cyber Crisis Committee, "
        r"due 1 Jan (2026 )?09:30 UTC \(\d+ days ago\), assigned — \*\*OVERDUE\*\* \(escalated\)",
        text,
    ), text
    assert "T09:30" not in text and "cidge" not in text and "pemex" not in text


async def test_the_answers_keep_their_fields_in_order_with_nulls_for_what_is_not_set(hub: Hub) -> None:
    """What clients parse: every field of a crisis, an action item, an acknowledgment and a history entry."""
    crisis = await new_crisis(hub, affected_sectors=[], affected_stakeholders=[])
    cid = crisis["id"]
    assert list(crisis) == [
        "id", "severity", "category", "subcategory", "status", "lead", "affected_sectors", "affected_stakeholders",
        "name", "description", "channel", "tlp", "created", "modified", "updated", "updated_by",
        "updated_by_person", "event_id", "exercise",
    ]  # fmt: skip
    assert list(crisis["severity"]) == ["level", "name", "colour"]
    assert crisis["description"] is None and crisis["affected_sectors"] == [] == crisis["affected_stakeholders"]
    body = {"assignee": "pemex", "name": "Isolate", "in_minutes": 9, "description": "OT", "tlp": "amber"}
    _, action = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/actions", body)
    _, action = await call(hub, "pemex", "PATCH", f"/api/v1/crises/{cid}/actions/{action['id']}", {"comment": "ok"})
    assert list(action) == [
        "id", "created", "modified", "crisis_ref", "name", "assignee", "assigned_by", "due", "status", "escalated",
        "description", "object_marking_refs", "comment", "overdue", "channel", "tlp", "updated", "updated_by",
        "updated_by_person",
    ]  # fmt: skip
    _, ack = await call(hub, "pemex", "POST", f"/api/v1/crises/{cid}/acks", {"item": cid})
    assert list(ack) == ["item", "version", "acknowledged_by", "person", "time", "event_id"]
    _, acks = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}/acks")
    assert list(acks["items"][0]) == [
        "id", "type", "label", "source", "version", "event_id", "acknowledged", "pending"
    ]  # fmt: skip
    assert list(acks["items"][0]["acknowledged"][0]) == ["stakeholder", "person", "time"]
    _, history = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}/history")
    assert list(history["versions"][0]) == ["version", "time", "by", "event_id", "changes"]
    assert history["versions"][0]["changes"]["affected_sectors"] == [None, []]
