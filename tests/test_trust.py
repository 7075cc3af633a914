"""Nothing the hub derives or stores lets a stakeholder see, forge or break what it must not.

Each test reproduces an attack through the public HTTP interface of a real hub
on a real Redis, as one of the demo committee's stakeholders.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from hub import keys
from hub.crisis import objects
from hub.identities import identity_id
from hub.stix import validate
from hub.store import Store, connect
from hub.tlp import TLP
from tests.conftest import Hub
from tests.crisis.test_routes import call, new_crisis
from tests.stixgen import bundle, indicator

GRANULAR_RED = [{"marking_ref": TLP.RED.marking_id, "selectors": ["name"]}]


async def post(hub: Hub, who: str, channel: str, *objects: dict[str, Any]) -> tuple[int, Any]:
    return await call(hub, who, "POST", f"/api/v1/channels/{channel}/objects", bundle(*objects))


async def read_object(hub: Hub, who: str, stix_id: str) -> tuple[int, Any]:
    return await call(hub, who, "GET", f"/api/v1/objects/{stix_id}?versions=all")


def texts(answer: Any) -> str:
    return orjson.dumps(answer).decode()


async def store_directly(redis_url: str, namespace: str, channel: str, source: str, *objects: Any) -> None:
    """Write ``objects`` as an older hub (or a bug) could have: straight into the store, no ingest checks."""
    client = connect(redis_url)
    try:
        submission = validate(list(objects), TLP.AMBER)
        assert not submission.rejected, submission.rejected
        await Store(client, namespace).append(channel, source, list(submission.items))
    finally:
        await client.aclose()


# --- 1, 2: leaks through objects the hub derives ------------------------------------------------------------


async def test_a_sitrep_revision_keeps_amber_strict_text_in_its_channel(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    status, sitrep = await call(
        hub,
        "banxico",
        "POST",
        f"/api/v1/crises/{cid}/sitreps",
        {
            "name": "Bank sitrep",
            "description": "STRICT-ONLY payment details",
            "channel": "sector.finance",
            "tlp": "amber+strict",
        },
    )
    assert status == 201, sitrep
    sid = sitrep["object"]["id"]
    status, revised = await call(
        hub, "sspc", "POST", f"/api/v1/crises/{cid}/sitreps", {"sitrep_id": sid, "object_refs": [cid]}
    )
    assert status == 201, revised
    assert revised["channel"] == "sector.finance" and revised["tlp"] == "amber+strict" and revised["source"] == "sspc"
    status, seen = await read_object(hub, "pemex", sid)
    assert status == 404 and "STRICT-ONLY" not in texts(seen)
    # Nor may a revision carry it to the public channel as CLEAR, or to the committee.
    for move in ({"channel": "public", "tlp": "clear"}, {"channel": "committee"}):
        status, error = await call(hub, "sspc", "POST", f"/api/v1/crises/{cid}/sitreps", {"sitrep_id": sid, **move})
        assert status == 400 and ("AMBER+STRICT" in error["description"] or "never leaves" in error["description"])
    for reader in ("observer", "pemex", "partner-cert"):
        status, seen = await read_object(hub, reader, sid)
        assert status in (403, 404) and "STRICT-ONLY" not in texts(seen)


async def test_only_the_author_or_the_crisis_channel_revises_a_sitrep(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    _, sitrep = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/sitreps", {"name": "Committee sitrep"})
    status, error = await call(
        hub,
        "banxico",
        "POST",
        f"/api/v1/crises/{cid}/sitreps",
        {"sitrep_id": sitrep["object"]["id"], "description": "forged"},
    )
    assert status == 403 and "author" in error["description"]


async def test_a_sitrep_names_only_objects_its_readers_may_see(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    red = indicator(TLP.RED)
    assert (await post(hub, "cidge", "committee", red))[0] == 201
    status, error = await call(
        hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/sitreps", {"name": "x", "object_refs": [red["id"]]}
    )
    assert status == 400 and "object_refs" in error["description"]
    status, error = await call(
        hub,
        "banxico",
        "POST",
        f"/api/v1/crises/{crisis['id']}/sitreps",
        {"name": "x", "channel": "sector.finance", "object_refs": [red["id"]]},
    )
    assert status == 400 and "that you may see" in error["description"]


async def test_an_escalation_note_is_as_restrictive_as_the_granular_markings_of_the_action(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    action = {
        "type": objects.ACTION_TYPE,
        "spec_version": "2.1",
        "id": f"{objects.ACTION_TYPE}--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "crisis_ref": crisis["id"],
        "name": "Isolate the RED-ONLY payment switch",
        "assignee": "banxico",
        "assigned_by": "cidge",
        "due": "2026-01-02T00:00:00.000Z",
        "status": "assigned",
        "escalated": False,
        "object_marking_refs": [TLP.AMBER.marking_id],
        "granular_markings": GRANULAR_RED,
        "extensions": {objects.EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    # Posted directly, it is refused: actions come only through the crisis API...
    status, answer = await post(hub, "cidge", "committee", action)
    assert status == 400 and "crisis API" in answer["rejected"][0]["reason"]
    # ...but one already stored (by an older hub) is escalated without leaking its RED name.
    await store_directly(hub.redis_url, hub.namespace, "committee", "cidge", action)
    assert await hub.client.app[keys.CRISIS_SERVICE].escalate_overdue() == 1
    _, for_committee = await call(hub, "sspc", "GET", f"/api/v1/crises/{crisis['id']}/updates")
    [note] = [e for e in for_committee["events"] if e["source"] == "hub"]
    assert note["tlp"] == "red" and "RED-ONLY" in note["object"]["content"]
    _, for_bank = await call(hub, "banxico", "GET", "/api/v1/channels/committee/events?limit=1000")
    assert "RED-ONLY" not in texts(for_bank)


# --- 6, 7: ownership and forgery ------------------------------------------------------------------------------


async def test_only_the_stakeholder_that_stored_an_object_first_makes_new_versions(hub: Hub) -> None:
    original = indicator(TLP.AMBER, name="pemex's C2")
    assert (await post(hub, "pemex", "sector.energy", original))[0] == 201
    forged = {**original, "modified": "2026-11-28T10:00:00.000Z", "name": "forged by cfe"}
    status, answer = await post(hub, "cfe", "sector.energy", forged)
    assert status == 400 and "another stakeholder" in answer["rejected"][0]["reason"]
    committee = indicator(TLP.AMBER, name="cidge's")
    assert (await post(hub, "cidge", "committee", committee))[0] == 201
    forged = {**committee, "modified": "2026-11-28T10:00:00.000Z", "name": "forged by banxico"}
    status, answer = await post(hub, "banxico", "sector.finance", forged)
    assert status == 400 and "another stakeholder" in answer["rejected"][0]["reason"]
    # The id in another case is the same id.
    shouted = {**forged, "id": forged["id"].upper().replace("INDICATOR--", "indicator--")}
    assert (await post(hub, "banxico", "sector.finance", shouted))[0] == 400
    _, seen = await read_object(hub, "sspc", committee["id"])
    assert [e["object"]["name"] for e in seen["events"]] == ["cidge's"]
    # The owner versions its own object, in any channel it writes.
    newer = {**original, "modified": "2026-11-29T10:00:00.000Z", "name": "pemex's C2, revised"}
    assert (await post(hub, "pemex", "sector.energy", newer))[0] == 201


async def test_an_exact_copy_may_be_re_shared_where_the_original_may_go(hub: Hub) -> None:
    amber, red = indicator(TLP.AMBER), indicator(TLP.RED)
    assert (await post(hub, "pemex", "sector.energy", amber))[0] == 201
    assert (await post(hub, "cert-mx", "sector.energy", red))[0] == 201
    status, answer = await post(hub, "cert-mx", "sector.finance", amber)
    assert status == 201 and answer["accepted"][0]["id"] == amber["id"]
    status, answer = await post(hub, "cert-mx", "sector.finance", {**amber, "name": "same version, other text"})
    assert status == 400
    status, answer = await post(hub, "cfe", "sector.energy", amber)  # the same channel: a duplicate
    assert status == 200 and answer["duplicates"][0]["id"] == amber["id"]
    status, answer = await post(hub, "cidge", "committee", red)  # RED never leaves sector.energy
    assert status == 400


async def test_created_by_ref_may_name_only_the_posters_own_identity(hub: Hub) -> None:
    _, directory = await call(hub, "banxico", "GET", "/api/v1/stakeholders")
    identities = {s["id"]: s["identity"] for s in directory["stakeholders"]}
    assert identities["pemex"] == identity_id("pemex") and len(set(identities.values())) == len(identities)
    status, answer = await post(hub, "banxico", "sector.finance", indicator(created_by_ref=identities["pemex"]))
    assert status == 400 and "pemex" in answer["rejected"][0]["reason"]
    status, answer = await post(
        hub,
        "banxico",
        "sector.finance",
        indicator(created_by_ref=identities["pemex"].upper().replace("IDENTITY", "identity")),
    )
    assert status == 400
    assert (await post(hub, "banxico", "sector.finance", indicator(created_by_ref=identities["banxico"])))[0] == 201
    assert (await post(hub, "banxico", "sector.finance", indicator()))[0] == 201  # none: left as posted
    # Nor may anyone but pemex publish pemex's identity object.
    fake = {
        "type": "identity",
        "spec_version": "2.1",
        "id": identities["pemex"],
        "name": "State Oil Company",
        "created": "2026-11-27T00:00:00.000Z",
        "modified": "2026-11-28T00:00:00.000Z",
    }
    status, answer = await post(hub, "banxico", "sector.finance", fake)
    assert status == 400
    _, bundle_of = await call(hub, "banxico", "GET", "/api/v1/identities")
    assert {o["id"] for o in bundle_of["objects"]} >= set(identities.values())


async def test_acknowledgments_and_action_items_cannot_be_forged(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    ack = objects.new_ack(cid, cid, crisis["modified"], "sedena")
    status, answer = await post(hub, "banxico", "sector.finance", ack)
    assert status == 400 and "crisis API" in answer["rejected"][0]["reason"]
    action = objects.new_action(cid, {"assignee": "pemex", "name": "forged", "in_minutes": 5}, "cidge", ["pemex"])
    status, answer = await post(hub, "banxico", "sector.finance", action)
    assert status == 400
    _, acks = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/acks")
    assert all(a["stakeholder"] != "sedena" for item in acks["items"] for a in item["acknowledged"])
    status, acked = await call(hub, "banxico", "POST", f"/api/v1/crises/{cid}/acks", {"item": cid})
    assert status == 201 and acked["acknowledged_by"] == "banxico"
    _, actions = await call(hub, "sspc", "GET", f"/api/v1/crises/{cid}/actions")
    assert actions["actions"] == []


async def test_a_crisis_is_declared_only_by_the_crisis_channel_and_never_forged(hub: Hub) -> None:
    status, error = await call(
        hub, "banxico", "POST", "/api/v1/crises", {"name": "x", "severity": 1, "channel": "sector.finance"}
    )
    assert status == 403 and "committee" in error["description"]
    crisis = await new_crisis(hub)
    _, stored = await read_object(hub, "banxico", crisis["id"])
    forged = orjson.loads(orjson.dumps(stored["events"][0]["object"]))
    forged["extensions"][objects.EXTENSION_ID]["severity"] = 5
    forged["modified"] = "2099-01-01T00:00:00.000Z"
    status, answer = await post(hub, "banxico", "sector.finance", forged)
    assert status == 400
    _, board = await call(hub, "sspc", "GET", "/api/v1/crises")
    assert [(c["id"], c["severity"]["level"]) for c in board["crises"]] == [(crisis["id"], 2)]


async def test_a_crisis_may_be_declared_without_affected_sectors_or_stakeholders(hub: Hub) -> None:
    status, crisis = await call(hub, "cidge", "POST", "/api/v1/crises", {"name": "Unknown scope", "severity": 1})
    assert status == 201 and crisis["affected_sectors"] == [] and crisis["affected_stakeholders"] == []
    status, revised = await call(
        hub, "cidge", "PATCH", f"/api/v1/crises/{crisis['id']}", {"affected_sectors": ["energy"]}
    )
    assert status == 200 and revised["affected_sectors"] == ["energy"]
    status, revised = await call(hub, "cidge", "PATCH", f"/api/v1/crises/{crisis['id']}", {"affected_sectors": []})
    assert status == 200 and revised["affected_sectors"] == []


# --- 10: one malformed object never takes the board down -----------------------------------------------------


async def test_malformed_crisis_objects_are_refused_and_stored_ones_skipped(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    cid = crisis["id"]
    ext = {objects.EXTENSION_ID: {"extension_type": "new-sdo"}}
    base = {"spec_version": "2.1", "created": "2026-11-27T00:00:00.000Z", "modified": "2026-11-27T00:00:00.000Z"}
    bad_action = {
        **base,
        "type": objects.ACTION_TYPE,
        "id": f"{objects.ACTION_TYPE}--{uuid.uuid4()}",
        "crisis_ref": cid,
        "name": "no status, no due",
        "assignee": "banxico",
        "extensions": ext,
    }
    bad_ack = {
        **base,
        "type": objects.ACK_TYPE,
        "id": f"{objects.ACK_TYPE}--{uuid.uuid4()}",
        "crisis_ref": cid,
        "extensions": ext,
    }
    bad_crisis = {
        **base,
        "type": "incident",
        "id": f"incident--{uuid.uuid4()}",
        "name": "bad severity",
        "extensions": {objects.EXTENSION_ID: {"extension_type": "property-extension", "severity": "high"}},
    }
    for bad in (bad_action, bad_ack, bad_crisis):
        status, answer = await post(hub, "banxico", "sector.finance", bad)
        assert status == 400 and answer["rejected"][0]["reason"]
        await store_directly(hub.redis_url, hub.namespace, "sector.finance", "banxico", bad)
        await store_directly(hub.redis_url, hub.namespace, "committee", "cidge", bad)
    for who in ("sspc", "banxico"):
        for path in ("", f"/{cid}", f"/{cid}/actions", f"/{cid}/acks", f"/{cid}/sitrep?format=md"):
            status, answer = await call(hub, who, "GET", f"/api/v1/crises{path}")
            assert status in (200, 404), (who, path, answer)  # 404: no sitrep yet
    _, board = await call(hub, "sspc", "GET", "/api/v1/crises")
    assert [c["id"] for c in board["crises"]] == [cid]


# --- 12: a duplicate says nothing of what the poster may not read -----------------------------------------------


async def test_re_posting_what_you_may_not_read_reveals_no_position(hub: Hub) -> None:
    ip = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--" + str(uuid.uuid4()),
        "value": "203.0.113.9",
        "object_marking_refs": [TLP.RED.marking_id],
    }
    status, stored = await post(hub, "cert-mx", "sector.finance", ip)
    assert status == 201
    event_id = stored["accepted"][0]["event_id"]
    status, answer = await post(hub, "banxico", "sector.finance", {**ip, "object_marking_refs": [TLP.GREEN.marking_id]})
    assert status == 200 and answer["duplicates"][0]["event_id"] is None
    assert event_id not in texts(answer) and event_id.split("-")[0] not in texts(answer)
    status, again = await post(hub, "cert-mx", "sector.finance", ip)  # its own readers still get the position
    assert again["duplicates"][0]["event_id"] == event_id
    red = indicator(TLP.RED)
    _, stored = await post(hub, "cert-mx", "sector.finance", red)
    status, answer = await post(hub, "banxico", "sector.finance", red)  # an exact copy: stored, nothing said
    assert status == 200 and answer["duplicates"][0]["event_id"] is None
    assert stored["accepted"][0]["event_id"] not in texts(answer)
    status, answer = await post(hub, "banxico", "sector.finance", {**red, "modified": "2026-11-28T00:00:00.000Z"})
    assert status == 400 and "another stakeholder" in answer["rejected"][0]["reason"]


async def test_a_clear_update_may_not_name_an_amber_object(hub: Hub) -> None:
    """Regression: a requested CLEAR was read as "no TLP given" (CLEAR is falsy), so the channel's AMBER applied."""
    crisis = await new_crisis(hub)
    amber = indicator(TLP.AMBER)
    assert (await post(hub, "cidge", "committee", amber))[0] == 201
    body = {"content": "see the indicator", "tlp": "clear", "object_refs": [amber["id"]]}
    status, error = await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/updates", body)
    assert status == 400 and "TLP:AMBER" in error["description"]
