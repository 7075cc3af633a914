"""The crisis model without a loop: requests read into fields, stored objects read into typed values."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from hub.config import load_config
from hub.crisis import model, objects
from hub.crisis.model import (
    Acknowledgment,
    ActionItem,
    Crisis,
    Sitrep,
    SitrepEntry,
    Stored,
    ack_status,
    is_listed,
    is_overdue,
    revisions,
    severity_of,
)
from hub.crisis.taxonomy import NCISS
from hub.errors import BadRequest
from hub.events import Event
from hub.tlp import TLP

STAKEHOLDERS = list(load_config(None).stakeholders)
EXT = objects.EXTENSION_ID
CRISIS_ID = "incident--3a1b0c55-51a4-4b9e-9d2f-0e5f6d7c8b9a"
NOW = "2026-11-27T17:16:30.000Z"


def stored(obj: dict[str, Any], *, source: str = "cidge", event_id: str = "1795798860250-0",
           channel: str = "committee", tlp: TLP = TLP.AMBER) -> Stored:  # fmt: skip
    """``obj`` as if read back from ``channel``, written by ``source`` as event ``event_id``."""
    version = str(obj.get("modified", ""))
    event = Event(event_id, channel, source, tlp, obj["type"], obj["id"], version, orjson.dumps(obj))
    return Stored(event, obj)


def crisis_obj(**ext: Any) -> dict[str, Any]:
    properties = {"extension_type": "property-extension", "severity": 3, "category": "malicious-code",
                  "subcategory": "infected-system", "status": "assessing", "lead": "cert-mx", **ext}  # fmt: skip
    return {
        "type": "incident", "spec_version": "2.1", "id": CRISIS_ID,
        "created": "2026-11-27T17:00:00.000Z", "modified": "2026-11-27T17:01:00.000Z",
        "name": "Ransomware at the state oil company", "extensions": {EXT: properties},
    }  # fmt: skip


def action_obj(**changes: Any) -> dict[str, Any]:
    return {
        "type": objects.ACTION_TYPE, "spec_version": "2.1",
        "id": "crisis-action--6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b",
        "created": "2026-11-27T17:00:00.000Z", "modified": "2026-11-27T17:05:00.000Z", "crisis_ref": CRISIS_ID,
        "name": "Isolate refinery OT networks", "assignee": "pemex", "assigned_by": "cidge",
        "due": "2026-11-27T17:10:00.000Z", "status": "accepted", "escalated": False,
        "extensions": {EXT: {"extension_type": "new-sdo"}}, **changes,
    }  # fmt: skip


def a_crisis(**ext: Any) -> Crisis:
    return Crisis.from_stored(stored(crisis_obj(**ext)), NCISS)


# requests -------------------------------------------------------------------------------------
def test_a_requested_clear_level_is_kept_not_replaced_by_the_default() -> None:
    assert objects.read_level({"tlp": "clear"}, TLP.AMBER) is TLP.CLEAR
    assert objects.read_level({}, TLP.AMBER) is TLP.AMBER
    assert objects.read_level({"tlp": "TLP:RED"}, TLP.GREEN) is TLP.RED


def test_an_unknown_tlp_is_a_bad_request_that_lists_the_levels() -> None:
    with pytest.raises(BadRequest, match="tlp must be one of clear, green"):
        objects.read_level({"tlp": "purple"}, TLP.AMBER)


def test_creating_a_crisis_fills_in_category_subtype_and_status() -> None:
    fields = objects.read_crisis_fields({"name": "x", "severity": 1}, NCISS, STAKEHOLDERS, creating=True)
    assert fields == {"name": "x", "severity": 1, "category": "other", "subcategory": "other", "status": "detected"}


@pytest.mark.parametrize(
    "body, fault",
    [
        ({"name": "x", "severity": 1, "colour": "red"}, "unknown field.s.: colour"),
        ({"severity": 1}, "name is required"),
        ({"name": "x", "severity": True}, "severity must be one of"),
        ({"name": "x", "severity": 1, "category": "availability", "subcategory": "spam"}, "subcategory of"),
        ({"name": "x", "severity": 1, "lead": "nobody"}, "lead must be a stakeholder id"),
        ({"name": "x", "severity": 1, "affected_stakeholders": ["pemex", "nobody"]}, "unknown nobody"),
    ],
)
def test_a_bad_crisis_request_names_the_field_at_fault(body: dict[str, Any], fault: str) -> None:
    with pytest.raises(BadRequest, match=fault):
        objects.read_crisis_fields(body, NCISS, STAKEHOLDERS, creating=True)


def test_an_update_that_changes_nothing_is_refused() -> None:
    with pytest.raises(BadRequest, match="nothing to change"):
        objects.read_crisis_fields({}, NCISS, STAKEHOLDERS, creating=False)
    assert objects.read_crisis_fields({"status": "closed"}, NCISS, STAKEHOLDERS, creating=False) == {"status": "closed"}


# crises -----------------------------------------------------------------------------------------
def test_a_stored_crisis_reads_as_its_fields_and_where_it_was_stored() -> None:
    crisis = Crisis.from_stored(stored(crisis_obj(affected_sectors=["energy"]), source="sedena"), NCISS)
    assert (crisis.id, crisis.name, crisis.description) == (CRISIS_ID, "Ransomware at the state oil company", None)
    assert crisis.severity == NCISS[3]
    assert (crisis.category, crisis.subcategory) == ("malicious-code", "infected-system")
    assert (crisis.status, crisis.lead) == ("assessing", "cert-mx")
    assert crisis.affected_sectors == ("energy",) and crisis.affected_stakeholders == ()
    assert (crisis.created, crisis.modified) == ("2026-11-27T17:00:00.000Z", "2026-11-27T17:01:00.000Z")
    assert (crisis.channel, crisis.tlp, crisis.updated_by, crisis.event_id) == (
        "committee",
        TLP.AMBER,
        "sedena",
        "1795798860250-0",
    )
    assert crisis.updated == "2026-11-27T17:01:00.250Z"  # the event's time, not the object's


def test_a_severity_the_scale_does_not_name_is_grey_and_named_by_its_number() -> None:
    assert severity_of(4, NCISS) == NCISS[4]
    unknown = severity_of(9, NCISS)
    assert (unknown.level, unknown.name, unknown.colour) == (9, "9", model.UNKNOWN_SEVERITY_COLOUR)
    assert a_crisis(severity=9).severity == unknown


@pytest.mark.parametrize(
    "status, min_severity, sector, include_closed, listed",
    [
        (None, None, None, False, True),
        ("assessing", None, None, False, True),
        ("detected", None, None, False, False),
        (None, 3, None, False, True),
        (None, 4, None, False, False),
        (None, None, "energy", False, True),
        (None, None, "finance", False, False),
    ],
)
def test_the_crisis_list_filters(
    status: str | None, min_severity: int | None, sector: str | None, include_closed: bool, listed: bool
) -> None:
    crisis = a_crisis(affected_sectors=["energy"])
    assert is_listed(crisis, status, min_severity, sector, include_closed=include_closed) is listed


def test_a_closed_crisis_is_listed_only_when_asked_for() -> None:
    closed = a_crisis(status="closed")
    assert not is_listed(closed, None, None, None, include_closed=False)
    assert is_listed(closed, None, None, None, include_closed=True)
    assert is_listed(closed, "closed", None, None, include_closed=False)


def test_the_history_says_what_each_version_changed_from_the_one_before() -> None:
    first = crisis_obj(affected_sectors=["energy"])
    second = objects.revise_crisis(first, {"severity": 4, "affected_sectors": []})
    history = revisions([stored(first), stored(second, source="sedena", event_id="1795798900000-0")])
    assert [(r.version, r.by, r.event_id) for r in history] == [
        (first["modified"], "cidge", "1795798860250-0"),
        (second["modified"], "sedena", "1795798900000-0"),
    ]
    assert history[0].changes["severity"] == (None, 3) and "description" not in history[0].changes  # None both
    assert history[1].changes == {"severity": (3, 4), "affected_sectors": (["energy"], [])}


def test_a_revision_is_always_later_than_the_version_before() -> None:
    assert objects.later_than("2026-11-27T17:00:00.000Z", "2026-11-27T17:00:00.001Z") == "2026-11-27T17:00:00.001Z"
    assert objects.later_than("2099-01-01T00:00:00.000Z", "2026-11-27T17:00:00.000Z") == "2099-01-01T00:00:00.001Z"


# action items -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "status, due, overdue",
    [
        ("assigned", "2026-11-27T17:10:00.000Z", True),
        ("in-progress", "2026-11-27T17:10:00.000Z", True),
        ("accepted", "2026-11-27T17:20:00.000Z", False),
        ("completed", "2026-11-27T17:10:00.000Z", False),
        ("cancelled", "2026-11-27T17:10:00.000Z", False),
    ],
)
def test_only_an_open_action_past_its_due_time_is_overdue(status: str, due: str, overdue: bool) -> None:
    assert is_overdue(status, due, NOW) is overdue
    assert ActionItem.from_stored(stored(action_obj(status=status, due=due)), NOW).overdue is overdue


def test_a_stored_action_reads_as_its_fields_and_keeps_its_other_stix_properties() -> None:
    markings = {"object_marking_refs": [TLP.AMBER.marking_id], "granular_markings": [{"selectors": ["name"]}]}
    obj = action_obj(description="Cut the links.", comment="On it", **markings)
    action = ActionItem.from_stored(stored(obj, source="pemex", tlp=TLP.RED), NOW)
    assert (action.name, action.assignee, action.assigned_by, action.status) == (
        "Isolate refinery OT networks",
        "pemex",
        "cidge",
        "accepted",
    )
    assert (action.description, action.comment, action.escalated) == ("Cut the links.", "On it", False)
    assert dict(action.common) == markings  # neither the workflow's own fields nor type/spec_version/extensions
    assert (action.tlp, action.updated_by, action.channel) == (TLP.RED, "pemex", "committee")
    assert action.is_open and not ActionItem.from_stored(stored(action_obj(status="cancelled")), NOW).is_open


def test_an_escalation_is_the_same_two_objects_whoever_writes_it() -> None:
    action = action_obj()
    version, note = objects.escalated(action, TLP.RED)
    assert version == {**action, "escalated": True, "modified": "2026-11-27T17:10:00.000Z"}
    assert note["id"] == objects.escalated(dict(action), TLP.RED)[1]["id"]
    assert note["object_refs"] == [CRISIS_ID, action["id"]] and note["object_marking_refs"] == [TLP.RED.marking_id]
    assert "assigned to pemex by cidge" in note["content"]  # without display names, the ids


# acknowledgments --------------------------------------------------------------------------------
def ack(stakeholder: str, version: str, *, event_id: str, by: str | None = None) -> Acknowledgment:
    obj = objects.new_ack(CRISIS_ID, CRISIS_ID, version, by or stakeholder)
    return Acknowledgment.from_stored(stored(obj, source=stakeholder, event_id=event_id))


def test_who_acknowledged_is_who_stored_the_acknowledgment_not_what_it_says() -> None:
    forged = ack("banxico", "2026-11-27T17:01:00.000Z", event_id="1795798900000-0", by="pemex")
    assert (forged.item, forged.version, forged.acknowledged_by) == (CRISIS_ID, "2026-11-27T17:01:00.000Z", "banxico")
    assert (forged.time, forged.event_id) == ("2026-11-27T17:01:40.000Z", "1795798900000-0")


def test_an_item_awaits_the_expected_who_have_not_acknowledged_its_version_and_never_its_author() -> None:
    item = stored(crisis_obj(), source="cidge")
    version = item.event.version
    acks = [
        ack("pemex", version, event_id="1795798900000-0"),
        ack("sspc", version, event_id="1795798900001-0"),
        ack("pemex", version, event_id="1795798900002-0"),  # again: the last one counts
        ack("sedena", "2026-11-27T16:00:00.000Z", event_id="1795798900003-0"),  # another version
    ]
    status = ack_status(item, ["cidge", "pemex", "sedena", "sspc"], acks)
    assert [(a.acknowledged_by, a.event_id) for a in status.acknowledged] == [
        ("pemex", "1795798900002-0"),
        ("sspc", "1795798900001-0"),
    ]
    assert status.pending == ("sedena",)
    assert (status.id, status.type, status.source, status.version) == (CRISIS_ID, "incident", "cidge", version)
    assert status.label == "Ransomware at the state oil company (severity 3, assessing)"


def test_an_item_label_is_one_short_line() -> None:
    note = {"type": "note", "id": "note--1", "content": "Two refineries\n  hit " + "x" * 100}
    label = model.label(note)
    assert len(label) == 80 and label.startswith("Two refineries hit x") and label.endswith("…")
    assert model.label({**note, "abstract": "Spread"}) == "Spread"
    assert model.label({"type": "report", "id": "report--1", "name": "Sitrep 1"}) == "Sitrep 1"


# sitreps ----------------------------------------------------------------------------------------
def test_a_sitrep_reads_its_name_text_and_publication() -> None:
    report = objects.new_sitrep(CRISIS_ID, {"name": "Sitrep 1", "description": "Contained."}, None)
    sitrep = Sitrep.from_object(report)
    assert (sitrep.id, sitrep.name, sitrep.description) == (report["id"], "Sitrep 1", "Contained.")
    assert sitrep.published == report["published"] and sitrep.object_refs == (CRISIS_ID,)
    unpublished = Sitrep.from_object({k: v for k, v in report.items() if k != "published"})
    assert unpublished.published == report["modified"]


def test_a_sitrep_lists_an_update_by_its_text_and_other_objects_by_name_pattern_or_id() -> None:
    note = objects.new_update(CRISIS_ID, {"content": "HMIs encrypted.", "abstract": "Spread"}, "State Oil Company")
    entry = SitrepEntry.from_stored(stored(note, source="pemex", tlp=TLP.GREEN))
    assert (entry.type, entry.source, entry.tlp, entry.abstract, entry.text) == (
        "note",
        "pemex",
        TLP.GREEN,
        "Spread",
        "HMIs encrypted.",
    )
    assert entry.is_update
    indicator = {"type": "indicator", "id": "indicator--1", "modified": NOW, "pattern": "[ipv4-addr:value = '1.2.3.4']"}
    assert SitrepEntry.from_stored(stored(indicator)).text == "[ipv4-addr:value = '1.2.3.4']"
    assert SitrepEntry.from_stored(stored({**indicator, "name": "C2"})).text == "C2"
    assert SitrepEntry.from_stored(stored({"type": "malware", "id": "malware--1"})).text == "malware--1"
    assert not SitrepEntry.from_stored(stored(indicator)).is_update


# the hub's own objects -------------------------------------------------------------------------
def test_the_hubs_identity_and_extension_definition_are_fixed_objects_by_the_hub() -> None:
    identity, definition = objects.hub_identity(), objects.extension_definition()
    assert list(identity)[:5] == ["type", "spec_version", "id", "created", "modified"]
    assert identity["id"] == objects.HUB_IDENTITY_ID and definition["id"] == EXT
    assert definition["created_by_ref"] == objects.HUB_IDENTITY_ID
    assert (identity, definition) == (objects.hub_identity(), objects.extension_definition())
