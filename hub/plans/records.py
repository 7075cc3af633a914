"""A plan run as the STIX objects the hub stores: the run itself, and the action items of its steps. Pure.

A run is a ``crisis-plan-run`` object, a new object type of the crisis
extension like ``crisis-action``: it names its crisis (``crisis_ref``), the
course-of-action carrying the plan (``plan_ref``) and the playbook's id and
version, and holds the engine's state (:mod:`hub.plans.run`): its cursors
and what happened to each step. Every move is a new version, written by the
hub in the crisis's channel at the run's TLP, with the action items the move
assigns in the same write; so the stream, TAXII and the audit trail carry
every transition like any other object, to whoever may read it.

Ids are derived from what they stand for: a run started by a trigger from
the crisis and the trigger's name (two processes noticing the same crisis
start one run), an action item from its run, step, visit and assignee, a
child run from its parent run, step and visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from hub.crisis import objects
from hub.crisis.objects import ACTION_TYPE, EXTENSION_ID, HUB_IDENTITY_ID, RUN_TYPE, stable_id
from hub.plans.run import (
    NewItem,
    RunState,
    cursors_from_json,
    cursors_json,
    record_from_json,
    record_json,
)
from hub.policy import HUB, Actor
from hub.tlp import TLP

TRIGGERS: Final = ("declared", "raised", "by-hand", "sub-plan")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a run says of itself beside the engine's state."""

    name: str
    """The plan's name."""
    plan_ref: str
    """The course-of-action carrying the plan."""
    trigger: str
    started_by: str
    """The stakeholder who started it by hand, else the hub."""
    created: str
    parent: tuple[str, str] | None = None
    """A sub-plan's parent run and step."""
    started_by_person: Actor | None = None
    """The person who started it by hand for ``started_by``, if one did."""


def trigger_run_id(crisis_id: str, trigger: str) -> str:
    return stable_id(RUN_TYPE, crisis_id, "trigger", trigger)


def hand_run_id(crisis_id: str, playbook_id: str, version: str, stamp: str) -> str:
    return stable_id(RUN_TYPE, crisis_id, "by-hand", playbook_id, version, stamp)


def item_id(run_id: str, step: str, visit: int, assignee: str) -> str:
    return stable_id(ACTION_TYPE, run_id, step, str(visit), assignee)


def child_id(run_id: str, step: str, visit: int) -> str:
    return stable_id(RUN_TYPE, run_id, "child", step, str(visit))


def is_run(obj: Mapping[str, Any]) -> bool:
    return obj.get("type") == RUN_TYPE


def run_object(
    state: RunState, info: RunInfo, modified: str, tlp: TLP | None, *, exercise: bool = False
) -> dict[str, Any]:
    """The version of the run that says ``state``."""
    obj: dict[str, Any] = {
        "type": RUN_TYPE,
        "spec_version": "2.1",
        "id": state.id,
        "created": info.created,
        "modified": modified,
        "created_by_ref": HUB_IDENTITY_ID,
        "crisis_ref": state.crisis,
        "plan_ref": info.plan_ref,
        "playbook_ref": state.plan,
        "playbook_version": state.plan_version,
        "name": info.name,
        "trigger": info.trigger,
        "started_by": info.started_by,
        "status": state.status,
        "extensions": {EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    # STIX allows no empty list or dictionary: a run that stands nowhere (finished) or did nothing yet says none.
    if state.cursors:
        obj["cursors"] = cursors_json(state.cursors)
    if state.steps:
        obj["steps"] = {step: record_json(record) for step, record in state.steps.items()}
    if info.parent is not None:
        obj["parent_ref"], obj["parent_step"] = info.parent
    if info.started_by_person is not None:
        obj["started_by_person"] = {"id": info.started_by_person.id, "name": info.started_by_person.name}
    if state.note is not None:
        obj["note"] = state.note
    if state.finished is not None:
        obj["finished"] = state.finished
    return objects.marked(objects.exercise_marked(obj, exercise), tlp)


def read_run(obj: Mapping[str, Any]) -> tuple[RunState, RunInfo]:
    """The engine's state and the run's own facts, from a stored version (checked against its schema)."""
    state = RunState(
        id=obj["id"],
        crisis=obj["crisis_ref"],
        plan=obj["playbook_ref"],
        plan_version=obj["playbook_version"],
        status=obj["status"],
        cursors=cursors_from_json(obj.get("cursors", ())),
        steps={step: record_from_json(raw) for step, raw in obj.get("steps", {}).items()},
        note=obj.get("note"),
        finished=obj.get("finished"),
    )
    parent = (obj["parent_ref"], obj["parent_step"]) if "parent_ref" in obj else None
    person = obj.get("started_by_person")
    actor = Actor(person["id"], person["name"]) if person else None
    info = RunInfo(obj["name"], obj["plan_ref"], obj["trigger"], obj["started_by"], obj["created"], parent, actor)
    return state, info


def step_item(
    crisis_id: str, item: NewItem, run_id: str, created: str, tlp: TLP | None, stakeholders: tuple[str, ...],
    *, exercise: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The action item a step assigns: an ordinary action item, assigned by the hub, naming its run and step."""
    body = {"name": item.name[:300], "assignee": item.assignee, "due": item.due, "description": item.description}
    obj = objects.new_action(crisis_id, body, HUB, stakeholders)
    obj.update(id=item.id, created=created, modified=created, plan_run_ref=run_id, plan_step=item.step)
    return objects.marked(objects.exercise_marked(obj, exercise), tlp)
