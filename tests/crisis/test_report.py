"""The after-action report over HTTP, for a crisis built through the API, checked field by field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from hub import keys
from hub.crisis.report import duration, moment
from hub.i18n import translator
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import JSON, call, new_crisis
from tests.people.helpers import signed_in
from tests.stixgen import indicator

EN, ES = translator("en"), translator("es")
MEXICO = "America/Mexico_City"
PAST = "2026-01-01T00:00:00Z"
COMMITTEE_AMBER = ["banxico", "cert-mx", "cfe", "cidge", "cnpc", "pemex", "sedena", "sspc"]
ENERGY_AMBER = ["cert-mx", "cfe", "cidge", "cnpc", "pemex", "sedena", "sspc"]
RED = ["cert-mx", "cidge", "cnpc", "sedena", "sspc"]


def seconds(start: str, end: str) -> float:
    moment = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))
    return round(moment.total_seconds(), 3)


def sighting(of: str, tlp: TLP) -> dict[str, Any]:
    return {
        "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
        "sighting_of_ref": of, "count": 3, "object_marking_refs": [tlp.marking_id],
    }  # fmt: skip


async def push(hub: Hub, who: str, channel: str, *objects: dict[str, Any]) -> None:
    body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)})
    headers = {**JSON, **hub.auth(who)}
    async with hub.client.post(f"/api/v1/channels/{channel}/objects", data=body, headers=headers) as response:
        assert response.status == 201, await response.text()


async def post(hub: Hub, who: str, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    status, answer = await call(hub, who, method, path, body)
    assert status in (200, 201), answer
    return answer


def durations(*values: float) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "median": None, "worst": None}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"count": len(ordered), "median": round(median, 3), "worst": ordered[-1]}


def person(
    who: str, acked: list[float], unacked: int, *, assigned: int = 0, completed: Sequence[float] = (), late: int = 0,
    escalated: int = 0,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": who, "acknowledged": len(acked), "unacknowledged": unacked, "time_to_acknowledge": durations(*acked),
        "actions_assigned": assigned, "actions_completed": len(completed), "actions_late": late,
        "actions_escalated": escalated, "time_to_complete": durations(*completed),
    }  # fmt: skip


async def test_the_report_of_a_crisis_lists_decisions_answers_lateness_and_sharing_field_by_field(hub: Hub) -> None:
    c0 = await new_crisis(hub)
    cid, base = c0["id"], f"/api/v1/crises/{c0['id']}"
    amber_ioc, red_ioc = indicator(TLP.AMBER), indicator(TLP.RED)
    seen = sighting(amber_ioc["id"], TLP.AMBER)
    await push(hub, "pemex", "sector.energy", amber_ioc, seen)
    await push(hub, "cert-mx", "sector.energy", red_ioc)
    energy = {"content": "C2 found", "abstract": "EKANS", "channel": "sector.energy", "object_refs": [amber_ioc["id"]]}
    u1 = await post(hub, "cert-mx", f"{base}/updates", energy)
    red = {"content": "Attribution", "channel": "sector.energy", "tlp": "red", "object_refs": [red_ioc["id"]]}
    u2 = await post(hub, "cert-mx", f"{base}/updates", red)
    s1 = await post(hub, "cidge", f"{base}/sitreps", {"name": "Sitrep 1", "object_refs": [u1["object"]["id"]]})
    c1 = await post(hub, "cidge", base, {"severity": 3}, "PATCH")
    ack_c0 = await post(hub, "pemex", f"{base}/acks", {"item": cid, "version": c0["modified"]})
    ack_c1 = await post(hub, "sspc", f"{base}/acks", {"item": cid})
    ack_u2 = await post(hub, "cidge", f"{base}/acks", {"item": u2["object"]["id"]})
    a1 = await post(hub, "cidge", f"{base}/actions", {"assignee": "pemex", "name": "Isolate OT", "due": PAST})
    await hub.client.app[keys.CRISIS_SERVICE].escalate_overdue()
    _, listed = await call(hub, "cidge", "GET", f"{base}/actions")
    escalated = next(a for a in listed["actions"] if a["id"] == a1["id"])
    assert escalated["escalated"] and escalated["updated_by"] == "hub"
    a1_done = await post(hub, "pemex", f"{base}/actions/{a1['id']}", {"status": "completed"}, "PATCH")
    a2 = await post(hub, "cidge", f"{base}/actions", {"assignee": "cert-mx", "name": "Share IOCs", "in_minutes": 30})
    a2_done = await post(hub, "cert-mx", f"{base}/actions/{a2['id']}", {"status": "completed"}, "PATCH")
    a3 = await post(hub, "cidge", f"{base}/actions",
                    {"assignee": "cert-mx", "name": "Brief the minister", "in_minutes": 30, "tlp": "red"})  # fmt: skip

    status, report = await call(hub, "cidge", "GET", f"{base}/report")
    assert status == 200
    assert report["crisis"] == {
        "id": cid, "name": "Ransomware at the state oil company", "exercise": False, "severity": 3,
        "status": "detected", "lead": "cert-mx", "channel": "committee", "tlp": "amber", "declared": c0["updated"],
        "declared_by": "cidge", "last_change": c1["updated"],
    }  # fmt: skip
    assert report["generated"] >= a3["updated"]
    timeline = report["timeline"]
    assert [e["time"] for e in timeline] == sorted(e["time"] for e in timeline)
    assert sorted((e["time"], e["kind"], e["by"], e["item"]) for e in timeline) == sorted([
        (c0["updated"], "declared", "cidge", cid),
        (u1["time"], "update", "cert-mx", u1["object"]["id"]),
        (u2["time"], "update", "cert-mx", u2["object"]["id"]),
        (s1["time"], "sitrep", "cidge", s1["object"]["id"]),
        (c1["updated"], "revised", "cidge", cid),
        (ack_c0["time"], "acknowledged", "pemex", cid),
        (ack_c1["time"], "acknowledged", "sspc", cid),
        (ack_u2["time"], "acknowledged", "cidge", u2["object"]["id"]),
        (a1["updated"], "assigned", "cidge", a1["id"]),
        (escalated["updated"], "escalated", "hub", a1["id"]),
        (a1_done["updated"], "status", "pemex", a1["id"]),
        (a2["updated"], "assigned", "cidge", a2["id"]),
        (a2_done["updated"], "status", "cert-mx", a2["id"]),
        (a3["updated"], "assigned", "cidge", a3["id"]),
    ])  # fmt: skip
    revised = next(e for e in timeline if e["kind"] == "revised")
    assert revised["changes"] == {"severity": [2, 3]} and revised["summary"] == "severity 2 → 3"
    assert next(e for e in timeline if e["kind"] == "status" and e["by"] == "pemex")["summary"] == (
        "Isolate OT: assigned → completed"
    )
    assert report["stakeholders"] == [
        # Awaited on: both crisis versions, the escalation note and the sitrep (not its own update).
        person("cert-mx", [], 4, assigned=2, completed=[seconds(a2["updated"], a2_done["updated"])]),
        person("cidge", [seconds(u2["time"], ack_u2["time"])], 2),  # the energy update and the escalation note
        person("cnpc", [], 6),
        person("pemex", [seconds(c0["updated"], ack_c0["time"])], 4, assigned=1,
               completed=[seconds(a1["updated"], a1_done["updated"])], late=1, escalated=1),
        person("sedena", [], 6),
        person("sspc", [seconds(c1["updated"], ack_c1["time"])], 5),
    ]  # fmt: skip
    assert report["late_or_escalated"] == [
        {"id": a1["id"], "name": "Isolate OT", "assignee": "pemex", "assigned": a1["updated"],
         "due": "2026-01-01T00:00:00.000Z", "status": "completed", "completed": a1_done["updated"], "late": True,
         "escalated": True},
    ]  # fmt: skip
    assert report["shared"] == [
        {"channel": "committee", "tlp": "amber", "count": 5, "readers": COMMITTEE_AMBER,
         "types": {"crisis-action": 2, "incident": 1, "note": 1, "report": 1}},  # A1, A2, the escalation note
        {"channel": "committee", "tlp": "red", "count": 1, "readers": RED, "types": {"crisis-action": 1}},
        {"channel": "sector.energy", "tlp": "amber", "count": 3, "readers": ENERGY_AMBER,
         "types": {"indicator": 1, "note": 1, "sighting": 1}},
        {"channel": "sector.energy", "tlp": "red", "count": 2, "readers": RED, "types": {"indicator": 1, "note": 1}},
    ]  # fmt: skip

    # The oil company reads nothing above AMBER+STRICT: no RED update, action, indicator or acknowledgment.
    _, own = await call(hub, "pemex", "GET", f"{base}/report")
    red_ids = {u2["object"]["id"], a3["id"], red_ioc["id"]}
    assert not red_ids & {e["item"] for e in own["timeline"]}
    assert [(e["kind"], e["by"]) for e in own["timeline"] if e["kind"] == "acknowledged"] == [
        ("acknowledged", "pemex"), ("acknowledged", "sspc")
    ]  # fmt: skip
    assert [(s["channel"], s["tlp"], s["count"]) for s in own["shared"]] == [
        ("committee", "amber", 5), ("sector.energy", "amber", 3)
    ]  # fmt: skip
    assert own["late_or_escalated"] == report["late_or_escalated"]
    assert next(s for s in own["stakeholders"] if s["id"] == "cert-mx")["actions_assigned"] == 1


async def test_the_report_as_markdown_names_stakeholders_and_a_bad_format_is_refused(hub: Hub) -> None:
    crisis = await new_crisis(hub)
    base = f"/api/v1/crises/{crisis['id']}"
    await post(hub, "cidge", f"{base}/actions", {"assignee": "pemex", "name": "Isolate OT", "due": PAST})
    await post(hub, "pemex", f"{base}/acks", {"item": crisis["id"]})
    async with hub.client.get(f"{base}/report?format=md", headers=hub.auth("cidge")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
        text = await response.text()
    assert text.startswith("# After-action report: Ransomware at the state oil company\n")
    assert "Acknowledged · State Oil Company: Ransomware at the state oil company (severity 2, detected)" in text
    assert "| State Oil Company | 1 | 0 |" in text
    # The hub's own escalation pass may or may not have run yet.
    assert re.search(
        r"- Isolate OT — State Oil Company, due 1 Jan (2026 )?00:00 UTC, assigned \(late(, escalated)?\)", text
    )
    assert re.search(
        r"\| committee \| TLP:AMBER \| [23] \(1 crisis-action, 1 incident(, 1 note)?\) \| Central Bank, National CERT",
        text,
    )
    status, error = await call(hub, "cidge", "GET", f"{base}/report?format=pdf")
    assert status == 400 and "format must be json or md" in error["description"]
    status, error = await call(hub, "observer", "GET", f"{base}/report")
    assert status == 404


def test_durations_read_as_a_debrief_says_them() -> None:
    assert [duration(s) for s in (None, 2.345, 45, 185, 7800, 3600)] == [
        "—", "2.3 s", "45 s", "3 min 5 s", "2 h 10 min", "1 h"
    ]  # fmt: skip


def test_timeline_times_are_given_to_the_second_with_the_day_when_not_today() -> None:
    now = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    assert moment("2026-12-06T06:27:38.223Z", now, EN, "UTC") == "06:27:38 UTC"
    assert moment("2026-12-05T23:59:01.000Z", now, EN, "UTC") == "5 Dec 23:59:01 UTC"
    # In the hub's time zone, whose day it is there: 06:27 UTC is still the 5th in Mexico City.
    assert moment("2026-12-06T06:27:38.223Z", now, ES, MEXICO) == "00:27:38 CST"
    assert moment("2026-12-06T05:59:01.000Z", now, ES, MEXICO) == "5 dic 23:59:01 CST"


async def test_the_report_names_the_person_who_acted_for_each_stakeholder(hub: Hub) -> None:
    crisis = await new_crisis(hub, affected_sectors=["energy"], affected_stakeholders=["cfe"])
    base = f"/api/v1/crises/{crisis['id']}"
    jorge = await signed_in(hub, "jorge")
    status, _ = await jorge.call("POST", f"{base}/acks", {"item": crisis["id"]})
    assert status in (200, 201)
    update = {"content": "Substation 4 isolated.", "channel": "sector.energy"}
    status, answer = await jorge.call("POST", f"{base}/updates", update)
    assert status == 201, answer
    await post(hub, "cidge", f"{base}/updates", {"content": "Committee convened."})  # a token: no person
    _, report = await call(hub, "cidge", "GET", f"{base}/report")
    entries = {(e["kind"], e["by"]): e["person"] for e in report["timeline"]}
    assert entries[("acknowledged", "cfe")] == entries[("update", "cfe")] == "Jorge Salas"
    assert entries[("update", "cidge")] == ""
    async with hub.client.get(f"{base}/report?format=md", headers=hub.auth("cidge")) as response:
        text = await response.text()
    assert "Acknowledged · Jorge Salas (Federal Electricity Commission): Ransomware" in text
    assert "· Jorge Salas (Federal Electricity Commission): " in text.split("Substation 4")[0].splitlines()[-1]


async def test_the_report_in_spanish_says_each_entry_in_spanish_in_the_hubs_time_zone(hub_factory: HubFactory) -> None:
    hub = await hub_factory(time_zone=MEXICO, language="es")
    crisis = await new_crisis(hub)
    base = f"/api/v1/crises/{crisis['id']}"
    await post(hub, "cidge", f"{base}/updates", {"content": "Two refineries hit.", "abstract": "Spread"})
    action = await post(hub, "cidge", f"{base}/actions", {"assignee": "pemex", "name": "Isolate OT", "due": PAST})
    await post(hub, "pemex", f"{base}/actions/{action['id']}", {"status": "in-progress"}, "PATCH")
    await post(hub, "pemex", f"{base}/acks", {"item": crisis["id"]})
    await post(hub, "cidge", base, {"severity": 3, "status": "containing", "affected_stakeholders": ["pemex", "cfe"]},
               "PATCH")  # fmt: skip
    async with hub.client.get(f"{base}/report?format=md", headers=hub.auth("cidge")) as response:
        assert response.status == 200 and response.headers["Content-Language"] == "es"
        text = await response.text()
    lines = text.splitlines()
    assert lines[0] == "# Informe posterior a la crisis: Ransomware at the state oil company"
    assert lines[2] == (
        "**Severidad 3** · estado **en contención** · institución líder **National CERT** · TLP:AMBER · canal committee"
    )
    timeline = text.split("## Cronología\n\n")[1].split("\n\n")[0].splitlines()
    said = [line.split(" · ", 1)[1] for line in timeline]  # without the time
    assert said[0] == (
        "Declarada · Inter-ministerial Cyber Crisis Committee: Ransomware at the state oil company: severidad 2, "
        "detectada"
    )
    assert "Actualización · Inter-ministerial Cyber Crisis Committee: Spread" in said
    assigned = "Isolate OT → State Oil Company, vence 31 dic 2025 18:00 CST"  # 2026-01-01T00:00Z, in Mexico City
    assert f"Asignada · Inter-ministerial Cyber Crisis Committee: {assigned}" in said
    assert "Acción · State Oil Company: Isolate OT: asignada → en curso" in said
    assert "Acuse de recibo · State Oil Company: Ransomware at the state oil company (severidad 2, detectada)" in said
    assert (
        "Revisada · Inter-ministerial Cyber Crisis Committee: severidad 2 → 3, estado detectada → en contención, "
        "instituciones afectadas [State Oil Company] → [State Oil Company, Federal Electricity Commission]"
    ) in said
    assert all(re.match(r"- (\d+ \w+ )?\d\d:\d\d:\d\d CST · ", line) for line in timeline), timeline
    assert "\n## Instituciones\n" in text and "| institución | acuses de recibo | sin acuse de recibo |" in text
    assert "\n## Acciones retrasadas y escaladas\n" in text
    late = r"- Isolate OT — State Oil Company, vence 31 dic 2025 18:00 CST, en curso \(retrasada(, escalada)?\)"
    assert re.search(late, text), text
    assert "\n## Qué se compartió y con quién\n\n| canal | TLP | objetos | lectores |" in text
    assert "UTC" not in text and not re.search(r"\b(Declared|Revised|severity|due|late)\b", text), text
    # The English report of the same hub: the same structure, the same time zone.
    async with hub.client.get(f"{base}/report?format=md&lang=en", headers=hub.auth("cidge")) as response:
        english = await response.text()
    assert (
        "Assigned · Inter-ministerial Cyber Crisis Committee: Isolate OT → State Oil Company, due 31 Dec 2025 18:00 CST"
        in english
    )
    assert "Action · State Oil Company: Isolate OT: assigned → in-progress" in english
    assert (
        "Revised · Inter-ministerial Cyber Crisis Committee: severity 2 → 3, status detected → containing, " in english
    )
