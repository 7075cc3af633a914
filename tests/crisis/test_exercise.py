"""Exercises: crises declared to rehearse the plan, marked on every object, never taken for real ones.

The pure part (building, reading, the briefing) needs no server; the rest runs
against a real hub and Redis.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hub import keys
from hub.crisis import objects
from hub.crisis.model import Crisis, Sitrep, Stored
from hub.crisis.schema import hub_object_problem
from hub.crisis.sitrep import EXERCISE_LINE, render_markdown
from hub.crisis.taxonomy import SeverityLevel
from hub.errors import BadRequest
from hub.events import Event
from hub.stix import validate
from hub.tlp import TLP
from tests.conftest import Hub
from tests.crisis.test_routes import call, new_crisis

EXT = objects.EXTENSION_ID
CRISIS_ID = "incident--8c3c8a4b-1a0e-4e53-9a1d-0d7f2b1c3e01"
SCALE = [SeverityLevel(2, "Medium", "#ffff00")]
STAKEHOLDERS = ["cidge", "cert-mx", "pemex"]
PAST = "2026-01-01T00:00:00Z"


def declared(**body: Any) -> dict[str, Any]:
    fields = objects.read_crisis_fields(
        {"name": "Grid drill", "severity": 2, "category": "availability", "subcategory": "outage", **body},
        SCALE,
        STAKEHOLDERS,
        creating=True,
    )
    return objects.new_crisis(fields, "cidge", None)


def workflow_objects(exercise: bool) -> list[dict[str, Any]]:
    """One of each object the workflow writes for a crisis, an exercise or not."""
    update = objects.new_update(CRISIS_ID, {"content": "Substation down"}, "Committee", exercise=exercise)
    sitrep = objects.new_sitrep(CRISIS_ID, {"name": "Sitrep 1"}, None, exercise=exercise)
    action = objects.new_action(
        CRISIS_ID, {"assignee": "pemex", "name": "Isolate", "due": PAST}, "cidge", STAKEHOLDERS, exercise=exercise
    )
    ack = objects.new_ack(CRISIS_ID, update["id"], update["modified"], "pemex", exercise=exercise)
    escalated, note = objects.escalated(action, TLP.AMBER)
    return [update, sitrep, objects.new_sitrep(CRISIS_ID, {}, sitrep), action,
            objects.revise_action(action, {"status": "accepted"}), ack, escalated, note]  # fmt: skip


# building and reading (pure) ---------------------------------------------------------------------
def test_an_exercise_is_a_crisis_property_set_at_declaration() -> None:
    exercise = declared(exercise=True)
    assert exercise["extensions"][EXT]["exercise"] is True and objects.is_exercise(exercise)
    real, explicit = declared(), declared(exercise=False)
    assert "exercise" not in real["extensions"][EXT] and "exercise" not in explicit["extensions"][EXT]
    assert not objects.is_exercise(real)
    revised = objects.revise_crisis(exercise, {"status": "assessing"})
    assert objects.is_exercise(revised)
    assert hub_object_problem(exercise) is None and hub_object_problem(revised) is None


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_exercise_must_be_true_or_false(value: Any) -> None:
    with pytest.raises(BadRequest, match="exercise must be true or false"):
        declared(exercise=value)


@pytest.mark.parametrize("value", [True, False])
def test_a_revision_never_changes_whether_a_crisis_is_an_exercise(value: bool) -> None:
    with pytest.raises(BadRequest, match="set when a crisis is declared and never changes"):
        objects.read_crisis_fields({"exercise": value}, SCALE, STAKEHOLDERS, creating=False)


def test_every_object_of_an_exercise_carries_the_mark_and_passes_stix_and_the_crisis_schema() -> None:
    built = workflow_objects(exercise=True)
    assert all(objects.is_exercise(obj) for obj in built), [o["type"] for o in built if not objects.is_exercise(o)]
    for obj in built:
        if obj["type"] in (objects.ACTION_TYPE, objects.ACK_TYPE):
            assert obj["exercise"] is True  # the extension's own types: top-level, like their other properties
        else:
            assert obj["extensions"][EXT] == {"extension_type": "property-extension", "exercise": True}
        assert hub_object_problem(obj) is None
    submission = validate(built, TLP.AMBER)
    assert not submission.rejected and len(submission.items) == len(built)


def test_the_objects_of_a_real_crisis_carry_no_mark() -> None:
    for obj in [declared(), *workflow_objects(exercise=False)]:
        assert not objects.is_exercise(obj)
        assert b"exercise" not in orjson.dumps(obj), obj
        if obj["type"] in ("note", "report"):
            assert "extensions" not in obj


def test_the_crisis_schema_refuses_an_exercise_mark_that_is_not_true() -> None:
    action = objects.new_action(CRISIS_ID, {"assignee": "pemex", "name": "x", "due": PAST}, "cidge", STAKEHOLDERS)
    problem = hub_object_problem({**action, "exercise": "yes"})
    assert problem is not None and "exercise" in problem


def test_only_a_true_mark_makes_an_object_an_exercise_one() -> None:
    assert objects.is_exercise({"type": "indicator", "exercise": True})
    assert not objects.is_exercise({"type": "indicator", "exercise": "true"})
    assert not objects.is_exercise({"type": "note", "extensions": {EXT: {"extension_type": "property-extension"}}})
    assert not objects.is_exercise({"type": "note", "extensions": ["exercise"]})


def crisis_value(exercise: bool) -> Crisis:
    event = Event(
        id="1796536800000-0", channel="committee", source="cidge", tlp=TLP.AMBER, type="incident",
        stix_id=CRISIS_ID, version="2026-12-06T06:00:00.000Z", raw=b"{}",
    )  # fmt: skip
    return Crisis.from_stored(Stored(event, declared(exercise=exercise)), SCALE)


def test_the_briefing_of_an_exercise_opens_and_closes_with_the_exercise_line() -> None:
    sitrep = Sitrep("report--1", "Sitrep 1", None, "2026-12-06T06:00:00.000Z", "2026-12-06T06:00:00.000Z", ())
    now = datetime(2026, 12, 6, 6, 10, tzinfo=UTC)
    exercise = render_markdown(crisis_value(True), sitrep, [], [], [], names={}, now=now)
    assert exercise.startswith(EXERCISE_LINE) and exercise.rstrip().endswith(EXERCISE_LINE)
    assert "EXERCISE" in EXERCISE_LINE
    real = render_markdown(crisis_value(False), sitrep, [], [], [], names={}, now=now)
    assert real.startswith("# Situation report") and "EXERCISE" not in real


# over HTTP ---------------------------------------------------------------------------------------
async def stored_object(hub: Hub, stix_id: str) -> dict[str, Any]:
    """The newest stored version of ``stix_id``, as the committee reads it."""
    status, found = await call(hub, "sspc", "GET", f"/api/v1/objects/{stix_id}")
    assert status == 200, found
    newest: dict[str, Any] = max(found["events"], key=lambda e: e["object"]["modified"])["object"]
    return newest


async def run_crisis(hub: Hub, exercise: bool) -> list[dict[str, Any]]:
    """Declare a crisis and exercise its whole workflow; every object it wrote, as stored."""
    crisis = await new_crisis(hub, **({"exercise": True} if exercise else {}))
    assert crisis["exercise"] is exercise
    cid = crisis["id"]
    _, update = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/updates", {"content": "Substation down"})
    _, sitrep = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/sitreps", {"name": "Sitrep 1"})
    sitrep_id = sitrep["object"]["id"]
    status, _ = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/sitreps", {"sitrep_id": sitrep_id})
    assert status == 201
    body = {"assignee": "pemex", "name": "Isolate the OT network", "due": PAST}
    _, action = await call(hub, "cidge", "POST", f"/api/v1/crises/{cid}/actions", body)
    assert (action.get("exercise") is True) is exercise
    await call(hub, "pemex", "PATCH", f"/api/v1/crises/{cid}/actions/{action['id']}", {"status": "accepted"})
    _, ack = await call(hub, "pemex", "POST", f"/api/v1/crises/{cid}/acks", {"item": update["object"]["id"]})
    assert await hub.client.app[keys.CRISIS_SERVICE].escalate_overdue() == 1
    _, page = await call(hub, "cidge", "GET", f"/api/v1/crises/{cid}")
    [escalation] = [e for e in page["updates"] if e["object"].get("created_by_ref") == objects.HUB_IDENTITY_ID]
    ack_id = objects.stable_id(objects.ACK_TYPE, "pemex", update["object"]["id"], ack["version"])
    ids = [cid, update["object"]["id"], sitrep_id, action["id"], ack_id, escalation["object"]["id"]]
    stored = [await stored_object(hub, i) for i in ids]
    assert stored[3]["escalated"] is True and stored[3]["status"] == "accepted"
    assert stored[2]["modified"] > sitrep["object"]["modified"]  # the sitrep's second version
    return stored


async def test_every_object_an_exercise_writes_is_marked(hub: Hub) -> None:
    stored = await run_crisis(hub, exercise=True)
    assert [o["type"] for o in stored] == [
        "incident", "note", "report", objects.ACTION_TYPE, objects.ACK_TYPE, "note"
    ]  # fmt: skip
    unmarked = [o["type"] for o in stored if not objects.is_exercise(o)]
    assert not unmarked


async def test_a_real_crisis_writes_no_mark_at_all(hub: Hub) -> None:
    for obj in await run_crisis(hub, exercise=False):
        assert b"exercise" not in orjson.dumps(obj), obj


async def test_the_crisis_list_marks_exercises_and_filters_on_them(hub: Hub) -> None:
    real = await new_crisis(hub, severity=3, name="Real outage")
    drill = await new_crisis(hub, severity=2, name="Grid drill", exercise=True)
    _, both = await call(hub, "sspc", "GET", "/api/v1/crises")
    assert [(c["id"], c["exercise"]) for c in both["crises"]] == [(real["id"], False), (drill["id"], True)]
    _, only_real = await call(hub, "sspc", "GET", "/api/v1/crises?exercise=false")
    assert [c["id"] for c in only_real["crises"]] == [real["id"]]
    _, only_drills = await call(hub, "sspc", "GET", "/api/v1/crises?exercise=true")
    assert [c["id"] for c in only_drills["crises"]] == [drill["id"]]
    status, error = await call(hub, "sspc", "GET", "/api/v1/crises?exercise=maybe")
    assert status == 400 and "exercise must be true or false" in error["description"]


async def test_a_revision_that_tries_to_change_exercise_is_400_and_changes_nothing(hub: Hub) -> None:
    drill = await new_crisis(hub, exercise=True)
    path = f"/api/v1/crises/{drill['id']}"
    for body in ({"exercise": False}, {"exercise": False, "status": "assessing"}, {"exercise": True}):
        status, error = await call(hub, "cidge", "PATCH", path, body)
        assert status == 400 and "never changes" in error["description"], error
    _, page = await call(hub, "cidge", "GET", path)
    assert page["crisis"]["exercise"] is True and page["crisis"]["status"] == "detected"
    _, history = await call(hub, "cidge", "GET", f"{path}/history")
    assert len(history["versions"]) == 1


async def test_the_briefing_of_an_exercise_says_so_first(hub: Hub) -> None:
    for exercise in (True, False):
        crisis = await new_crisis(hub, **({"exercise": True} if exercise else {}))
        await call(hub, "cidge", "POST", f"/api/v1/crises/{crisis['id']}/sitreps", {"name": "Sitrep 1"})
        status, text = await call(hub, "sspc", "GET", f"/api/v1/crises/{crisis['id']}/sitrep?format=md")
        assert status == 200
        assert text.startswith(EXERCISE_LINE) is exercise and ("EXERCISE" in text) is exercise
