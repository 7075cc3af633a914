"""The crisis extension's published schema: everything the hub builds passes it, malformed crisis objects don't."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import load_config
from hub.crisis import objects
from hub.crisis.schema import SCHEMA_FILE, crisis_schema, hub_object_problem
from hub.crisis.taxonomy import ACTION_STATUSES, RSIT, STATUSES
from hub.tlp import TLP

SCHEMAS = Path(__file__).parents[2] / "schemas"
STAKEHOLDERS = list(load_config(None).stakeholders)
EXT = objects.EXTENSION_ID

CRISIS_BODY = {
    "name": "Ransomware at the state oil company",
    "severity": 3,
    "category": "malicious-code",
    "subcategory": "infected-system",
    "lead": "cert-mx",
    "affected_sectors": ["energy"],
    "affected_stakeholders": ["pemex"],
    "description": "Production systems encrypted.",
}


def crisis(**body: Any) -> dict[str, Any]:
    fields = objects.read_crisis_fields({**CRISIS_BODY, **body}, load_config(None).crisis.severity, STAKEHOLDERS,
                                      creating=True)  # fmt: skip
    return objects.new_crisis(fields, "cidge", objects.read_tlp({**CRISIS_BODY, **body}))


def action(**body: Any) -> dict[str, Any]:
    request = {"assignee": "pemex", "name": "Isolate the OT network", "in_minutes": 30, **body}
    return objects.new_action(crisis()["id"], request, "cidge", STAKEHOLDERS)


def ack() -> dict[str, Any]:
    c = crisis()
    return objects.new_ack(c["id"], c["id"], c["modified"], "pemex")


def crisis_ext(obj: dict[str, Any]) -> dict[str, Any]:
    ext: dict[str, Any] = obj["extensions"][EXT]
    return ext


def with_ext(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**obj, "extensions": {EXT: {**crisis_ext(obj), **changes}}}


def without(obj: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in names}


def ext_without(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {**obj, "extensions": {EXT: without(crisis_ext(obj), name)}}


# everything the hub builds is valid -----------------------------------------------------------
def built_objects() -> list[tuple[str, dict[str, Any]]]:
    full = crisis(tlp="amber")
    minimal = objects.new_crisis(
        objects.read_crisis_fields({"name": "x", "severity": 0}, load_config(None).crisis.severity, STAKEHOLDERS,
                                 creating=True),
        "cidge",
        None,
    )  # fmt: skip
    assigned = action(description="Cut the links between IT and OT.", tlp="red")
    overdue = action(due="2026-01-01T00:00:00Z")
    item = ack()
    return [
        ("new_crisis, every field", full),
        ("new_crisis, only what is required", minimal),
        ("revise_crisis, each field", objects.revise_crisis(full, {
            "name": "Renamed", "description": "More", "severity": 5, "category": "availability",
            "subcategory": "ddos", "status": "containing", "lead": "sspc", "affected_sectors": [],
            "affected_stakeholders": ["pemex", "banxico"],
        })),
        ("revise_crisis, closed", objects.revise_crisis(minimal, {"status": "closed"})),
        ("new_ack", item),
        ("new_ack at the item's TLP", objects.marked(dict(item), TLP.AMBER_STRICT)),
        ("new_action, every field", assigned),
        ("new_action, due", overdue),
        ("revise_action, status and comment",
         objects.revise_action(assigned, {"status": "accepted", "comment": "Yes"})),
        ("revise_action, comment only", objects.revise_action(overdue, {"comment": "Still waiting for the vendor"})),
        ("escalated", objects.escalated(overdue, TLP.AMBER)[0]),
    ]  # fmt: skip


@pytest.mark.parametrize("label, obj", built_objects(), ids=[label for label, _ in built_objects()])
def test_every_object_the_hub_builds_is_valid(label: str, obj: dict[str, Any]) -> None:
    assert hub_object_problem(obj) is None


@pytest.mark.parametrize("status", ACTION_STATUSES)
def test_every_action_status_is_valid(status: str) -> None:
    assert hub_object_problem(objects.revise_action(action(), {"status": status})) is None


@pytest.mark.parametrize("category, subcategory", [(c, s) for c, subs in RSIT.items() for s in subs])
def test_every_rsit_type_and_crisis_status_is_valid(category: str, subcategory: str) -> None:
    for status in STATUSES:
        assert hub_object_problem(crisis(category=category, subcategory=subcategory, status=status)) is None


def test_objects_that_are_not_the_hubs_own_types_are_not_judged() -> None:
    c = crisis()
    others = [
        objects.escalated(action(), TLP.AMBER)[1],  # the escalation note
        objects.new_update(c["id"], {"content": "Backups are clean"}, "CERT-MX"),
        objects.new_sitrep(c["id"], {"name": "Sitrep 1"}, None),
        without(c, "extensions"),  # an incident that is not a crisis, even a strange one
        {**c, "extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"severity": "high"}}},
        {"type": "indicator", "severity": "high"},
        {},
    ]
    for obj in others:
        assert hub_object_problem(obj) is None


# malformed ones are refused, naming the property ------------------------------------------------
Case = tuple[str, Callable[[], dict[str, Any]], str]
MALFORMED: list[Case] = [
    ("action without status", lambda: without(action(), "status"), "crisis-action: 'status' is a required property"),
    ("action without due", lambda: without(action(), "due"), "crisis-action: 'due' is a required property"),
    ("action with only a crisis_ref", lambda: {"type": "crisis-action", "spec_version": "2.1",
        "id": objects.new_id("crisis-action"), "created": objects.now_stix(), "modified": objects.now_stix(),
        "crisis_ref": crisis()["id"], "extensions": {EXT: {"extension_type": "new-sdo"}}},
        "crisis-action: 'name' is a required property"),
    ("action with an unknown status", lambda: {**action(), "status": "done"}, "crisis-action: status must be one of"),
    ("action due without milliseconds", lambda: {**action(), "due": "2026-01-01T00:00:00Z"},
        "crisis-action: due must be a UTC time with milliseconds"),
    ("action due not a time", lambda: {**action(), "due": "tomorrow"}, "crisis-action: due must be"),
    ("action escalated as text", lambda: {**action(), "escalated": "yes"}, "crisis-action: escalated must be true"),
    ("action with a blank name", lambda: {**action(), "name": "  "}, "crisis-action: name must be text that is not"),
    ("action assigned to no one", lambda: {**action(), "assignee": ""}, "crisis-action: assignee must be"),
    ("action of no crisis", lambda: {**action(), "crisis_ref": "report--" + crisis()["id"].split("--")[1]},
        "crisis-action: crisis_ref must be an incident identifier"),
    ("action comment not text", lambda: {**action(), "comment": 42}, "crisis-action: comment must be a string"),
    ("action with an unknown property", lambda: {**action(), "priority": "high"},
        "crisis-action: unknown property 'priority'"),
    ("action not declared by the extension", lambda: {**action(), "extensions": {}},
        f"crisis-action: the crisis extension ({EXT}) is a required property in extensions"),
    ("action declared as a property extension", lambda: with_ext(action(), extension_type="property-extension"),
        "crisis-action crisis extension: extension_type must be 'new-sdo'"),
    ("ack without object_ref", lambda: without(ack(), "object_ref"),
        "crisis-acknowledgment: 'object_ref' is a required property"),
    ("ack without acknowledged_by", lambda: without(ack(), "acknowledged_by"),
        "crisis-acknowledgment: 'acknowledged_by' is a required property"),
    ("ack of a version that is no time", lambda: {**ack(), "object_modified": "v2"},
        "crisis-acknowledgment: object_modified must be a STIX timestamp"),
    ("ack of something that is no STIX id", lambda: {**ack(), "object_ref": "the crisis"},
        "crisis-acknowledgment: object_ref must be a STIX identifier"),
    ("ack without its extension", lambda: without(ack(), "extensions"),
        "crisis-acknowledgment: 'extensions' is a required property"),
    ("crisis severity as a word", lambda: with_ext(crisis(), severity="high"),
        "incident crisis extension: severity must be an integer"),
    ("crisis severity true", lambda: with_ext(crisis(), severity=True),
        "incident crisis extension: severity must be an integer"),
    ("crisis severity below the scale", lambda: with_ext(crisis(), severity=-1),
        "incident crisis extension: severity must be at least 0"),
    ("crisis without severity", lambda: ext_without(crisis(), "severity"),
        "incident crisis extension: 'severity' is a required property"),
    ("crisis without status", lambda: ext_without(crisis(), "status"),
        "incident crisis extension: 'status' is a required property"),
    ("crisis status unknown", lambda: with_ext(crisis(), status="panic"),
        "incident crisis extension: status must be one of detected, assessing"),
    ("crisis category outside RSIT", lambda: with_ext(crisis(), category="aliens"),
        "incident crisis extension: category must be an RSIT category"),
    ("crisis subcategory outside RSIT", lambda: with_ext(crisis(), subcategory="aliens"),
        "incident crisis extension: subcategory must be an RSIT incident type"),
    ("crisis lead a number", lambda: with_ext(crisis(), lead=7), "incident crisis extension: lead must be a string"),
    ("crisis sectors a word", lambda: with_ext(crisis(), affected_sectors="energy"),
        "incident crisis extension: affected_sectors must be a list"),
    ("crisis sector a number", lambda: with_ext(crisis(), affected_sectors=["energy", 3]),
        "incident crisis extension: affected_sectors[1] must be a string"),
    ("crisis stakeholder twice", lambda: with_ext(crisis(), affected_stakeholders=["pemex", "pemex"]),
        "incident crisis extension: affected_stakeholders must not name the same item twice"),
    ("crisis extension of the wrong kind", lambda: with_ext(crisis(), extension_type="new-sdo"),
        "incident crisis extension: extension_type must be 'property-extension'"),
    ("crisis extension with an unknown field", lambda: with_ext(crisis(), colour="red"),
        "incident crisis extension: unknown property 'colour'"),
    ("crisis extension not an object", lambda: {**crisis(), "extensions": {EXT: "severity 3"}},
        "incident: the crisis extension must be an object"),
]  # fmt: skip


@pytest.mark.parametrize("label, build, reason", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_crisis_objects_get_one_sentence_naming_the_property(
    label: str, build: Callable[[], dict[str, Any]], reason: str
) -> None:
    problem = hub_object_problem(build())
    assert problem is not None and problem.startswith(reason), problem
    assert "\n" not in problem and len(problem) < 200


# the published schema ---------------------------------------------------------------------------
def test_the_extension_definition_names_the_schema_the_hub_checks_with() -> None:
    """Its ``schema`` field points at the file this check loads, and that file is shipped as package data."""
    definition = objects.extension_definition()
    assert definition["schema"].split()[0] == f"schemas/{SCHEMA_FILE}"
    shipped = crisis_schema()
    assert shipped == json.loads((SCHEMAS / SCHEMA_FILE).read_text("utf-8"))
    assert EXT in shipped["description"] and definition["version"] in shipped["description"]
    assert set(definition["extension_types"]) == {"property-extension", "new-sdo"}


def test_the_schema_speaks_the_taxonomy_of_the_code() -> None:
    defs = crisis_schema()["definitions"]
    props = defs["crisis-properties"]["properties"]
    assert props["category"]["enum"] == list(RSIT)
    assert props["subcategory"]["enum"] == [s for subs in RSIT.values() for s in subs]
    assert props["status"]["enum"] == list(STATUSES)
    assert defs["crisis-action"]["properties"]["status"]["enum"] == list(ACTION_STATUSES)
    assert list(defs["incident"]["properties"]["extensions"]["properties"]) == [EXT]
    assert defs["new-sdo-extensions"]["required"] == [EXT]
    assert defs["crisis-action"]["properties"]["type"]["const"] == objects.ACTION_TYPE
    assert defs["crisis-acknowledgment"]["properties"]["type"]["const"] == objects.ACK_TYPE


def test_the_check_is_pure() -> None:
    """Importing it and checking an object loads neither aiohttp, nor redis, nor asyncio."""
    code = (
        "import sys\n"
        "from hub.crisis.schema import hub_object_problem\n"
        "assert hub_object_problem({'type': 'crisis-action'}) is not None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'redis', 'asyncio')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
