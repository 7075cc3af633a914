"""Briefing language: display names, readable times in the hub's time zone, and the reader's language.

The rendering is checked without a loop; which language an answer is in (``?lang``, the person's own
choice, ``Accept-Language``, the hub's) over HTTP, on a real hub.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import load_config
from hub.crisis import model, objects
from hub.crisis.model import AckStatus, ActionItem, Crisis, Sitrep, SitrepEntry
from hub.crisis.sitrep import render_markdown
from hub.crisis.taxonomy import SeverityLevel
from hub.crisis.wording import clock, full_time, relative, severity_name, status_name, when
from hub.events import Event
from hub.i18n import translator
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.people.helpers import signed_in

EN, ES = translator("en"), translator("es")
MEXICO = "America/Mexico_City"
NAMES = {sid: s.name for sid, s in load_config(None).stakeholders.items()} | {"hub": "Crisis Hub"}
NOW = datetime(2026, 11, 27, 17, 16, 30, tzinfo=UTC)
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def crisis_view(lead: str = "cert-mx") -> Crisis:
    return Crisis(
        id="incident--3a1b0c55-51a4-4b9e-9d2f-0e5f6d7c8b9a",
        name="Ransomware at the state oil company",
        description=None,
        severity=SeverityLevel(3, "High", "#ffa500"),
        category="malicious-code",
        subcategory="infected-system",
        status="assessing",
        lead=lead,
        affected_sectors=("energy", "finance"),
        affected_stakeholders=("pemex", "banxico"),
        created="2026-11-27T17:00:00.000Z",
        modified="2026-11-27T17:01:00.000Z",
        channel="committee",
        tlp=TLP.AMBER,
        updated="2026-11-27T17:01:00.250Z",
        updated_by="cidge",
        event_id="1795798860250-0",
    )


def overdue_action() -> dict[str, Any]:
    return {
        "type": objects.ACTION_TYPE, "spec_version": "2.1",
        "id": "crisis-action--6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b",
        "created": "2026-11-27T17:00:00.000Z", "modified": "2026-11-27T17:05:00.000Z",
        "crisis_ref": "incident--3a1b0c55-51a4-4b9e-9d2f-0e5f6d7c8b9a",
        "name": "Isolate refinery OT networks from corporate IT", "assignee": "pemex", "assigned_by": "cidge",
        "due": "2026-11-27T17:10:00.000Z", "status": "accepted", "escalated": False,
        "extensions": {objects.EXTENSION_ID: {"extension_type": "new-sdo"}},
    }  # fmt: skip


def overdue_item(*, escalated: bool) -> ActionItem:
    """The overdue action as the service reads it back, escalated or not."""
    obj = {**overdue_action(), "escalated": escalated}
    event = Event("1795799100000-0", "committee", "cidge", TLP.AMBER, obj["type"], obj["id"], obj["modified"], b"")
    return ActionItem.from_stored(model.Stored(event, obj), "2026-11-27T17:16:30.000Z")


def sitrep(name: str, published: str) -> Sitrep:
    return Sitrep("report--1", name, None, published, published, ())


def test_times_read_as_a_clock_and_a_distance_from_now() -> None:
    assert when("2026-11-27T17:10:00.000Z", NOW, EN, "UTC") == "17:10 UTC (6 min. ago)"
    assert when("2026-11-27T19:30:00Z", NOW, EN, "UTC") == "19:30 UTC (in 2 hr.)"
    assert relative("2026-11-27T17:16:10.123456789Z", NOW, EN) == "20 sec. ago"
    assert clock("2026-11-26T09:00:00.5Z", NOW, EN, "UTC") == "26 Nov 09:00 UTC"
    assert clock("2025-01-02T03:04:05Z", NOW, EN, "UTC") == "2 Jan 2025 03:04 UTC"
    assert full_time("2026-11-27T17:10:00.000Z") == "17:10 UTC on 27 Nov 2026"
    assert when("not a time", NOW, EN, "UTC") == "not a time"


def test_times_are_in_the_hubs_time_zone_and_the_readers_language() -> None:
    assert when("2026-11-27T17:10:00.000Z", NOW, ES, MEXICO) == "11:10 CST (hace 6 min)"
    assert when("2026-11-27T17:10:00.000Z", NOW, EN, MEXICO) == "11:10 CST (6 min. ago)"
    # Today is the hub's day, not UTC's: 03:00 UTC on the 27th is the evening of the 26th in Mexico City.
    assert clock("2026-11-27T03:00:00Z", NOW, ES, MEXICO) == "26 nov 21:00 CST"
    assert clock("2025-01-02T03:04:05Z", NOW, ES, MEXICO, seconds=True) == "1 ene 2025 21:04:05 CST"


def test_beyond_two_days_a_distance_is_counted_in_days_in_either_language() -> None:
    assert relative("2026-01-01T09:30:00Z", NOW, EN) == "330 days ago"
    assert relative("2026-01-01T09:30:00Z", NOW, ES) == "hace 330 días"
    assert relative("2026-12-01T17:16:30Z", NOW, ES) == "dentro de 4 días"
    assert relative("2026-11-29T17:16:30Z", NOW, EN) == "in 2 days"


def test_the_default_severity_names_and_statuses_are_translated_and_a_configured_scale_is_not() -> None:
    assert severity_name(SeverityLevel(4, "Severe", "#ff0000"), ES) == "Severa"
    assert severity_name(SeverityLevel(4, "Severe", "#ff0000"), EN) == "Severe"
    assert severity_name(SeverityLevel(4, "Rojo", "#ff0000"), ES) == "Rojo"  # a scale of the deployment's own
    assert severity_name(SeverityLevel(9, "Apocalypse", "#000000"), ES) == "Apocalypse"
    assert [status_name(s, ES) for s in ("assessing", "in-progress", "closed", "something-new")] == [
        "en evaluación", "en curso", "cerrada", "something-new"
    ]  # fmt: skip


def test_the_briefing_names_stakeholders_by_display_name_and_times_as_a_listener_hears_them() -> None:
    action = overdue_item(escalated=True)
    at = "2026-11-27T17:04:00.000Z"
    update = SitrepEntry("note", at, "pemex", TLP.AMBER, "Two refineries hit", "HMIs encrypted.")
    indicator = SitrepEntry("indicator", "2026-11-27T17:03:00.000Z", "cert-mx", TLP.GREEN, None,
                            "Ransomware C2 203.0.113.77")  # fmt: skip
    pending = AckStatus(crisis_view().id, "incident", "Ransomware (severity 3, assessing)", "cidge",
                        crisis_view().modified, "1795798860250-0", (), ("sedena", "cfe"))  # fmt: skip
    report = sitrep("Sitrep 1", "2026-11-27T17:12:00.000Z")
    text = render_markdown(crisis_view(), report, [update, indicator], [action], [pending], names=NAMES, now=NOW)

    assert "lead **National CERT**" in text
    assert "- Affected stakeholders: State Oil Company, Central Bank" in text
    assert "- Last change: 17:01 UTC (15 min. ago) by Inter-ministerial Cyber Crisis Committee" in text
    assert "_Published 17:12 UTC (4 min. ago)._" in text
    assert "- 17:04 UTC (12 min. ago) · State Oil Company · TLP:AMBER: **Two refineries hit** — HMIs encrypted." in text
    assert "from National CERT · TLP:GREEN" in text
    assert (
        "assigned to State Oil Company by Inter-ministerial Cyber Crisis Committee, due 17:10 UTC (6 min. ago), "
        "accepted — **OVERDUE** (escalated)"
    ) in text
    assert "awaiting Ministry of National Defence, Federal Electricity Commission" in text
    assert not ISO.search(text), "a raw ISO time in the briefing"
    for stakeholder in ("cidge", "pemex", "banxico", "cert-mx", "sedena", "cfe"):
        assert not re.search(rf"\b{stakeholder}\b", text), f"the id {stakeholder} in the briefing"


def test_an_escalation_note_uses_names_and_an_absolute_time_and_is_the_same_whenever_written() -> None:
    action = overdue_action()
    version, note = objects.escalated(action, TLP.AMBER, NAMES)
    assert note["content"] == (
        "Action item 'Isolate refinery OT networks from corporate IT', assigned to State Oil Company by "
        "Inter-ministerial Cyber Crisis Committee, was due at 17:10 UTC on 27 Nov 2026 and is still accepted. "
        "Escalated to the committee."
    )
    assert note["object_marking_refs"] == [TLP.AMBER.marking_id] and version["escalated"] is True
    # Another process, later: the same two objects, to the byte (no "N min ago" inside what is stored).
    assert objects.escalated(dict(action), TLP.AMBER, dict(NAMES)) == (version, note)
    assert "ago" not in note["content"] and not ISO.search(note["content"])


def test_an_unknown_stakeholder_is_named_by_its_id() -> None:
    later = NOW + timedelta(days=3)
    text = render_markdown(crisis_view(lead="gone"), sitrep("S", "2026-11-27T17:12:00Z"), [], [], [],
                           names=NAMES, now=later)  # fmt: skip
    assert "lead **gone**" in text and "27 Nov 17:12 UTC (3 days ago)" in text


def test_a_briefing_in_spanish_says_every_sentence_in_spanish_and_keeps_the_crisiss_own_words() -> None:
    action = overdue_item(escalated=True)
    update = SitrepEntry("note", "2026-11-27T17:04:00.000Z", "pemex", TLP.AMBER, "Two refineries hit",
                         "HMIs encrypted.")  # fmt: skip
    pending = AckStatus(crisis_view().id, "incident", "Ransomware (severity 3, assessing)", "cidge",
                        crisis_view().modified, "1795798860250-0", (), ("sedena", "cfe"))  # fmt: skip
    text = render_markdown(crisis_view(), sitrep("Sitrep 1", "2026-11-27T17:12:00.000Z"), [update], [action],
                           [pending], names=NAMES, now=NOW, lang="es", zone=MEXICO)  # fmt: skip
    lines = text.splitlines()
    assert lines[0] == "# Reporte de situación: Ransomware at the state oil company"
    assert lines[2] == (
        "**Severidad 3 — Alta** · estado **en evaluación** · institución líder **National CERT** · TLP:AMBER"
    )
    assert "- Instituciones afectadas: State Oil Company, Central Bank" in lines
    assert "- Último cambio: 11:01 CST (hace 15 min), por Inter-ministerial Cyber Crisis Committee" in lines
    assert "_Publicado 11:12 CST (hace 4 min)._" in lines
    assert (
        "- 11:04 CST (hace 12 min) · State Oil Company · TLP:AMBER: **Two refineries hit** — HMIs encrypted." in lines
    )
    assert (
        "- [ ] Isolate refinery OT networks from corporate IT — asignada a State Oil Company por Inter-ministerial "
        "Cyber Crisis Committee, vence 11:10 CST (hace 6 min), aceptada — **VENCIDA** (escalada)"
    ) in lines
    assert "1 de 1 acción abierta." in lines
    assert (
        "- Estado de la crisis “Ransomware at the state oil company (severidad 3, en evaluación)” (Inter-ministerial "
        "Cyber Crisis Committee): falta el acuse de recibo de Ministry of National Defence, Federal Electricity "
        "Commission"
    ) in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Sitrep 1", "## Actualizaciones de la situación", "## Acciones", "## Acuses de recibo"]
    assert not re.search(r"\b(ago|due|assigned|awaiting|Severity|UTC)\b", text), text
    # The same briefing in English says one open item in the singular.
    english = render_markdown(crisis_view(), sitrep("Sitrep 1", "2026-11-27T17:12:00.000Z"), [update], [action],
                              [pending], names=NAMES, now=NOW, lang="en", zone=MEXICO)  # fmt: skip
    assert "1 of 1 action item open." in english and "11:10 CST (6 min. ago)" in english


# Which language an answer is in, over HTTP ------------------------------------------------------------
async def markdown(hub: Hub, who: str, path: str, **headers: str) -> tuple[int, str, str]:
    """A Markdown answer to ``who``'s token: its status, its text and its ``Content-Language``."""
    async with hub.client.get(path, headers={**hub.auth(who), **headers}) as response:
        return response.status, await response.text(), response.headers.get("Content-Language", "")


async def crisis_with_a_sitrep(hub: Hub) -> str:
    """A crisis with an update, an action item, an acknowledgment and a sitrep naming the update: its path."""
    crisis = await new_crisis(hub)
    base = f"/api/v1/crises/{crisis['id']}"
    status, update = await call(hub, "cidge", "POST", f"{base}/updates", {"content": "Two refineries hit."})
    assert status == 201, update
    status, _ = await call(hub, "cidge", "POST", f"{base}/actions",
                           {"assignee": "pemex", "name": "Isolate OT", "in_minutes": 30})  # fmt: skip
    assert status == 201
    assert (await call(hub, "pemex", "POST", f"{base}/acks", {"item": crisis["id"]}))[0] == 201
    sitrep = {"name": "Sitrep 1", "description": "Refineries isolated.", "object_refs": [update["object"]["id"]]}
    assert (await call(hub, "cidge", "POST", f"{base}/sitreps", sitrep))[0] == 201
    return base


async def test_a_spanish_hub_briefs_in_spanish_in_its_time_zone_and_lang_asks_for_english(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(time_zone=MEXICO, language="es")
    base = await crisis_with_a_sitrep(hub)
    status, text, language = await markdown(hub, "sspc", f"{base}/sitrep?format=md")
    assert status == 200 and language == "es"
    assert text.startswith("# Reporte de situación: Ransomware at the state oil company\n"), text
    assert "**Severidad 2 — Media** · estado **detectada** · institución líder **National CERT**" in text
    for heading in ("## Actualizaciones de la situación", "## Acciones", "## Acuses de recibo"):
        assert f"\n{heading}\n" in text, heading
    assert "(hace " in text and " CST (" in text and "UTC" not in text
    assert "· Inter-ministerial Cyber Crisis Committee · TLP:AMBER: Two refineries hit." in text
    assert "— asignada a State Oil Company por Inter-ministerial Cyber Crisis Committee, vence " in text
    assert "Refineries isolated." in text  # the sitrep's own words stay as written

    status, english, language = await markdown(hub, "sspc", f"{base}/sitrep?format=md&lang=en")
    assert status == 200 and language == "en"
    assert english.startswith("# Situation report: ") and "**Severity 2 — Medium** · status **detected**" in english
    assert " ago)" in english and " CST (" in english  # the hub's time zone, in any language


async def test_the_language_is_lang_then_the_persons_own_then_accept_language_then_the_hubs(hub: Hub) -> None:
    base = await crisis_with_a_sitrep(hub)
    sitrep = f"{base}/sitrep?format=md"

    async def heading(path: str, **headers: str) -> str:
        status, text, _ = await markdown(hub, "banxico", path, **headers)
        assert status == 200, text
        return text.splitlines()[0].split(":")[0]

    assert await heading(sitrep) == "# Situation report"  # the hub's language: English
    spanish = {"Accept-Language": "fr-CA, es-MX;q=0.8, en;q=0.5"}
    assert await heading(sitrep, **spanish) == "# Reporte de situación"
    assert await heading(f"{sitrep}&lang=en", **spanish) == "# Situation report"
    assert await heading(f"{base}/report?format=md", **spanish) == "# Informe posterior a la crisis"
    async with hub.client.get(f"{sitrep}&lang=fr", headers=hub.auth("banxico")) as response:
        assert response.status == 400 and "lang must be one of en, es" in (await response.json())["description"]

    # A person's own choice wins over what their browser asks for; ?lang over both.
    luis = await signed_in(hub, "luis")
    english = {"Accept-Language": "en-US,en;q=0.9"}
    status, text = await luis.call("GET", sitrep, headers=english)
    assert status == 200 and text.startswith("# Situation report")
    assert (await luis.call("PUT", "/api/v1/me/preferences", {"language": "es"}))[0] == 200
    status, text = await luis.call("GET", sitrep, headers=english)
    assert status == 200 and text.startswith("# Reporte de situación")
    status, text = await luis.call("GET", f"{sitrep}&lang=en", headers=english)
    assert status == 200 and text.startswith("# Situation report")

    # JSON says the same in every language.
    _, plain = await call(hub, "banxico", "GET", f"{base}/report")
    status, asked = await call(hub, "banxico", "GET", f"{base}/report?lang=es")
    assert status == 200 and [e["summary"] for e in asked["timeline"]] == [e["summary"] for e in plain["timeline"]]
    assert "facts" not in asked["timeline"][0]
