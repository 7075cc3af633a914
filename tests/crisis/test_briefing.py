"""Briefing language, without a loop: display names and readable times in sitreps and escalation notes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import load_config
from hub.crisis import model, objects
from hub.crisis.model import AckStatus, ActionItem, Crisis, Sitrep, SitrepEntry
from hub.crisis.sitrep import render_markdown
from hub.crisis.taxonomy import SeverityLevel
from hub.crisis.wording import clock, full_time, relative, when
from hub.events import Event
from hub.tlp import TLP

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
    assert when("2026-11-27T17:10:00.000Z", NOW) == "17:10 UTC (6 min ago)"
    assert when("2026-11-27T19:30:00Z", NOW) == "19:30 UTC (in 2 h 13 min)"
    assert relative("2026-11-27T17:16:10.123456789Z", NOW) == "just now"
    assert clock("2026-11-26T09:00:00.5Z", NOW) == "26 Nov 09:00 UTC"
    assert clock("2025-01-02T03:04:05Z", NOW) == "2 Jan 2025 03:04 UTC"
    assert full_time("2026-11-27T17:10:00.000Z") == "17:10 UTC on 27 Nov 2026"
    assert when("not a time", NOW) == "not a time"


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
    assert "- Last change: 17:01 UTC (15 min ago) by Inter-ministerial Cyber Crisis Committee" in text
    assert "_Published 17:12 UTC (4 min ago)._" in text
    assert "- 17:04 UTC (12 min ago) · State Oil Company · TLP:AMBER: **Two refineries hit** — HMIs encrypted." in text
    assert "from National CERT · TLP:GREEN" in text
    assert (
        "assigned to State Oil Company by Inter-ministerial Cyber Crisis Committee, due 17:10 UTC (6 min ago), "
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
