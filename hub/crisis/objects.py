"""The crisis workflow's STIX objects, built from requests. Pure.

* A **crisis** is a STIX ``incident`` carrying the hub's crisis properties
  (severity, RSIT category and sub-type, status, lead, affected sectors and
  stakeholders) in a property extension declared by :data:`EXTENSION_ID`.
  Every change is a new version (a later ``modified``).
* A **situation update** is a STIX ``note`` whose ``object_refs`` name the crisis;
  a **sitrep** is a versioned STIX ``report`` that refers to it.
* An **acknowledgment** and an **action item** are new STIX object types
  (``crisis-acknowledgment``, ``crisis-action``) declared by the same
  extension definition. Action items are their own type, not a
  ``course-of-action`` plus ``relationship``: a course of action describes how
  to prevent or respond to an attack, with no assignee, due time or status —
  repurposing it would mislead every partner tool that reads our TAXII feed,
  while a declared new object type is how STIX 2.1 says "this is ours".
* An **exercise** is a crisis declared to rehearse the plan: ``exercise: true``
  among its crisis properties, set at declaration and never revised. Every
  object the workflow writes for it carries the mark too — action items and
  acknowledgments (the extension's own types) as a top-level ``exercise``,
  notes and reports in the extension, as a property-extension holding only
  ``exercise`` — so that whoever holds one object, here or at a partner, can
  tell it is not real (:func:`is_exercise`). Objects of a real crisis carry no
  mark at all.

Building goes from a request body to a STIX object (``new_crisis``,
``revise_action``, …), checked with errors that name the field at fault.
Reading them back as typed values is :mod:`hub.crisis.model`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.crisis.taxonomy import ACTION_STATUSES, RSIT, STATUSES, SeverityLevel
from hub.crisis.wording import display_name, full_time
from hub.errors import BadRequest
from hub.events import iso_millis
from hub.tlp import TLP

EXTENSION_ID = "extension-definition--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e01"
HUB_IDENTITY_ID = "identity--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e02"
ACK_TYPE = "crisis-acknowledgment"
ACTION_TYPE = "crisis-action"
RUN_TYPE = "crisis-plan-run"
_NS = uuid.UUID("0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e00")
_EPOCH = "2026-11-27T00:00:00.000Z"
_DEFINITION_MODIFIED = "2026-12-06T00:00:00.000Z"  # version 1.1.0: the exercise mark
EXERCISE = "exercise"

CRISIS_FIELDS = (
    "name", "description", "severity", "category", "subcategory", "status", "lead",
    "affected_sectors", "affected_stakeholders",
)  # fmt: skip


def _sdo(stix_type: str, stix_id: str, created: str, modified: str | None = None) -> dict[str, Any]:
    """The common properties every object the crisis workflow builds opens with, in the order it stores them."""
    return {
        "type": stix_type,
        "spec_version": "2.1",
        "id": stix_id,
        "created": created,
        "modified": created if modified is None else modified,
    }


def hub_identity() -> dict[str, Any]:
    """The identity that authors the hub's own definitions and escalations."""
    return {**_sdo("identity", HUB_IDENTITY_ID, _EPOCH), "name": "Crisis Hub", "identity_class": "system"}


def extension_definition() -> dict[str, Any]:
    """The STIX extension-definition that declares the crisis properties and object types."""
    return {
        **_sdo("extension-definition", EXTENSION_ID, _EPOCH, _DEFINITION_MODIFIED),
        "created_by_ref": HUB_IDENTITY_ID,
        "name": "Crisis Hub crisis management",
        "description": (
            "Crisis properties on incident (severity, RSIT category and sub-type, status, lead, affected "
            "sectors and stakeholders, and whether the crisis is an exercise) and two object types: "
            "crisis-acknowledgment and crisis-action. The objects of an exercise carry exercise: true "
            "(notes and reports in this extension as a property-extension)."
        ),
        "schema": "schemas/crisis-extension.schema.json in the Crisis Hub source",
        "version": "1.1.0",
        "extension_types": ["property-extension", "new-sdo"],
    }


def now_stix() -> str:
    return iso_millis(int(datetime.now(UTC).timestamp() * 1000))


def later_than(previous: str, candidate: str) -> str:
    """``candidate``, or one millisecond after ``previous`` if the clock has not moved past it."""
    if candidate > previous:
        return candidate
    moment = datetime.strptime(previous[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    return iso_millis(int((moment + timedelta(milliseconds=1)).timestamp() * 1000))


def new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def stable_id(stix_type: str, *parts: str) -> str:
    """The same id for the same parts, so that writing it twice is idempotent."""
    return f"{stix_type}--{uuid.uuid5(_NS, '|'.join(parts))}"


def marked(obj: dict[str, Any], tlp: TLP | None) -> dict[str, Any]:
    if tlp is not None:
        obj["object_marking_refs"] = [tlp.marking_id]
    return obj


# reading requests ----------------------------------------------------------------------
def _one_of(body: Mapping[str, Any], name: str, default: str, allowed: Iterable[str], what: str) -> Any:
    """``body[name]`` (or ``default``) when it is among ``allowed``; else BadRequest: "``name`` must be ``what`` …"."""
    value = body.get(name, default)
    if value not in allowed:
        raise BadRequest(f"{name} must be {what} {', '.join(allowed)}")
    return value


def _text(body: Mapping[str, Any], name: str, *, required: bool = False, limit: int = 10_000) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequest(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _names(body: Mapping[str, Any], name: str, known: Sequence[str] | None = None) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadRequest(f"{name} must be a list of names")
    if known is not None:
        unknown = [v for v in value if v not in known]
        if unknown:
            raise BadRequest(f"{name}: unknown {', '.join(unknown)}")
    return list(dict.fromkeys(value))


def read_tlp(body: Mapping[str, Any]) -> TLP | None:
    value = body.get("tlp")
    if value is None:
        return None
    try:
        return TLP.parse(str(value))
    except ValueError:
        raise BadRequest(
            f"tlp must be one of clear, green, amber, amber+strict, red; got {str(value)[:20]!r}"
        ) from None


def read_level(body: Mapping[str, Any], default: TLP) -> TLP:
    """The TLP a request asks for, else ``default`` (not ``read_tlp(body) or default``: CLEAR is falsy)."""
    tlp = read_tlp(body)
    return default if tlp is None else tlp


def read_crisis_fields(
    body: Mapping[str, Any], scale: Sequence[SeverityLevel], stakeholders: Sequence[str], *, creating: bool
) -> dict[str, Any]:
    """The crisis fields a create or update request sets, checked; BadRequest names the field at fault."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    unknown = set(body) - set(CRISIS_FIELDS) - {"tlp", "channel", EXERCISE}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    if EXERCISE in body:
        if not creating:
            raise BadRequest(
                "exercise is set when a crisis is declared and never changes: "
                "declare a new crisis to turn an exercise into a real one or back"
            )
        if not isinstance(body[EXERCISE], bool):
            raise BadRequest("exercise must be true or false")
        if body[EXERCISE]:
            fields[EXERCISE] = True
    name = _text(body, "name", required=creating, limit=300)
    if name is not None:
        fields["name"] = name
    description = _text(body, "description")
    if description is not None:
        fields["description"] = description
    if "severity" in body or creating:
        severity = body.get("severity", 0 if not creating else None)
        levels = [s.level for s in scale]
        if not isinstance(severity, int) or isinstance(severity, bool) or severity not in levels:
            raise BadRequest(f"severity must be one of {levels}")
        fields["severity"] = severity
    if "category" in body or creating:
        fields["category"] = _one_of(body, "category", "other", RSIT, "an RSIT category:")
    if "subcategory" in body or creating:
        category = fields.get("category")
        subcategory = body.get("subcategory", RSIT[category][0] if category else None)
        if category is not None and subcategory not in RSIT[category]:
            raise BadRequest(f"subcategory of {category} must be one of {', '.join(RSIT[category])}")
        if category is None and not any(subcategory in subs for subs in RSIT.values()):
            raise BadRequest("subcategory must be an RSIT sub-type")
        fields["subcategory"] = subcategory
    if "status" in body or creating:
        fields["status"] = _one_of(body, "status", "detected", STATUSES, "one of")
    if "lead" in body:
        lead = body["lead"]
        if lead not in stakeholders:
            raise BadRequest(f"lead must be a stakeholder id, got {str(lead)[:40]!r}")
        fields["lead"] = lead
    sectors = _names(body, "affected_sectors")
    if sectors is not None:
        fields["affected_sectors"] = sectors
    affected = _names(body, "affected_stakeholders", stakeholders)
    if affected is not None:
        fields["affected_stakeholders"] = affected
    if not creating and not fields:
        raise BadRequest(f"nothing to change: give one of {', '.join(CRISIS_FIELDS)}")
    return fields


# building objects -------------------------------------------------------------------------
def new_crisis(fields: Mapping[str, Any], lead: str, tlp: TLP | None) -> dict[str, Any]:
    now = now_stix()
    ext = {
        "extension_type": "property-extension",
        "severity": fields["severity"],
        "category": fields["category"],
        "subcategory": fields["subcategory"],
        "status": fields["status"],
        "lead": fields.get("lead", lead),
    }
    # Optional, and STIX allows no empty list: absent means none.
    for name in ("affected_sectors", "affected_stakeholders"):
        if fields.get(name):
            ext[name] = fields[name]
    if fields.get(EXERCISE):  # a real crisis carries no mark: absent means real
        ext[EXERCISE] = True
    obj = {**_sdo("incident", new_id("incident"), now), "name": fields["name"], "extensions": {EXTENSION_ID: ext}}
    if "description" in fields:
        obj["description"] = fields["description"]
    return marked(obj, tlp)


def revise_crisis(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The next version of a crisis with ``fields`` changed."""
    obj = dict(current)
    ext = dict(current["extensions"][EXTENSION_ID])
    for name, value in fields.items():
        if name in ("name", "description"):
            obj[name] = value
        elif value == []:  # STIX allows no empty list: none is absent
            ext.pop(name, None)
        else:
            ext[name] = value
    obj["extensions"] = {**current["extensions"], EXTENSION_ID: ext}
    obj["modified"] = later_than(current["modified"], now_stix())
    return obj


def is_crisis(obj: Mapping[str, Any]) -> bool:
    extensions = obj.get("extensions")
    return obj.get("type") == "incident" and isinstance(extensions, dict) and EXTENSION_ID in extensions


def is_exercise(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` belongs to an exercise: it carries ``exercise: true``, top-level or in the crisis extension.

    True for an exercise crisis itself and for every object the workflow
    wrote for one; False for everything else, whatever its type.
    """
    if obj.get(EXERCISE) is True:
        return True
    extensions = obj.get("extensions")
    ext = extensions.get(EXTENSION_ID) if isinstance(extensions, Mapping) else None
    return isinstance(ext, Mapping) and ext.get(EXERCISE) is True


def exercise_marked(obj: dict[str, Any], exercise: bool) -> dict[str, Any]:
    """``obj``, marked as an exercise's when ``exercise`` (else unchanged): where each type carries the mark.

    The extension's own types (action items, acknowledgments, plan runs) carry
    it top-level like their other properties; any other object (a note, a
    report) in the crisis extension, as a property-extension.
    """
    if not exercise:
        return obj
    if obj.get("type") in (ACK_TYPE, ACTION_TYPE, RUN_TYPE):
        obj[EXERCISE] = True
    else:
        extensions = dict(obj.get("extensions") or {})
        extensions[EXTENSION_ID] = {"extension_type": "property-extension", EXERCISE: True}
        obj["extensions"] = extensions
    return obj


def is_hub_object(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is one of the crisis workflow's own objects: a crisis, an acknowledgment, an action item,
    a plan run.

    Those are written only through the crisis API, which sets who did what;
    the same objects posted directly would let anyone forge them.
    """
    return obj.get("type") in (ACK_TYPE, ACTION_TYPE, RUN_TYPE) or is_crisis(obj)


def crisis_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The crisis fields of a crisis object, flat."""
    ext = obj["extensions"][EXTENSION_ID]
    fields = {name: ext.get(name) for name in CRISIS_FIELDS if name not in ("name", "description")}
    for name in ("affected_sectors", "affected_stakeholders"):
        fields[name] = fields[name] or []
    fields["name"] = obj.get("name")
    fields["description"] = obj.get("description")
    return fields


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What changed between two versions of a crisis: ``{field: (old, new)}``, old None for the first version."""
    old = crisis_fields(before) if before is not None else {}
    new = crisis_fields(after)
    return {name: (old.get(name), new[name]) for name in CRISIS_FIELDS if old.get(name) != new[name]}


def new_update(crisis_id: str, body: Mapping[str, Any], author: str, *, exercise: bool = False) -> dict[str, Any]:
    content = _text(body, "content", required=True)
    now = now_stix()
    obj: dict[str, Any] = {
        **_sdo("note", new_id("note"), now),
        "content": content,
        "authors": [author],
        "object_refs": [crisis_id, *(_names(body, "object_refs") or [])],
    }
    abstract = _text(body, "abstract", limit=500)
    if abstract is not None:
        obj["abstract"] = abstract
    return marked(exercise_marked(obj, exercise), read_tlp(body))


def new_sitrep(
    crisis_id: str, body: Mapping[str, Any], previous: Mapping[str, Any] | None, *, exercise: bool = False
) -> dict[str, Any]:
    """A sitrep report, or the next version of ``previous``; marked as an exercise's when ``exercise``."""
    name = _text(body, "name", required=previous is None, limit=300)
    now = now_stix()
    refs = [crisis_id, *[r for r in (_names(body, "object_refs") or []) if r != crisis_id]]
    if previous is None:
        obj: dict[str, Any] = {
            "type": "report",
            "spec_version": "2.1",
            "id": new_id("report"),
            "created": now,
            "report_types": ["threat-report"],
        }
    else:
        obj = dict(previous)
        if not body.get("object_refs"):
            refs = list(previous["object_refs"])
    obj.update(
        modified=later_than(obj.get("modified", ""), now), published=now, object_refs=refs, name=name or obj["name"]
    )
    description = _text(body, "description", limit=50_000)
    if description is not None:
        obj["description"] = description
    return marked(exercise_marked(obj, exercise), read_tlp(body))


def new_ack(crisis_id: str, item_id: str, version: str, stakeholder: str, *, exercise: bool = False) -> dict[str, Any]:
    now = now_stix()
    ack = {
        **_sdo(ACK_TYPE, stable_id(ACK_TYPE, stakeholder, item_id, version), now),
        "crisis_ref": crisis_id,
        "object_ref": item_id,
        "object_modified": version,
        "acknowledged_by": stakeholder,
        "extensions": {EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    return exercise_marked(ack, exercise)


def read_due(body: Mapping[str, Any]) -> str:
    """``due`` as a STIX timestamp: an ISO time, or ``in_minutes`` from now."""
    if "in_minutes" in body:
        minutes = body["in_minutes"]
        if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 0 < minutes <= 525_600:
            raise BadRequest("in_minutes must be a number of minutes up to a year")
        return iso_millis(int((datetime.now(UTC) + timedelta(minutes=minutes)).timestamp() * 1000))
    due = body.get("due")
    if not isinstance(due, str):
        raise BadRequest("give due (an ISO 8601 UTC time) or in_minutes")
    try:
        moment = datetime.fromisoformat(due.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"due is not an ISO 8601 time: {due[:40]!r}") from None
    if moment.tzinfo is None:
        raise BadRequest("due must say its time zone (e.g. end with Z)")
    return iso_millis(int(moment.timestamp() * 1000))


def new_action(
    crisis_id: str, body: Mapping[str, Any], assigner: str, stakeholders: Sequence[str], *, exercise: bool = False
) -> dict[str, Any]:
    assignee = body.get("assignee")
    if assignee not in stakeholders:
        raise BadRequest(f"assignee must be a stakeholder id, got {str(assignee)[:40]!r}")
    now = now_stix()
    obj: dict[str, Any] = {
        **_sdo(ACTION_TYPE, new_id(ACTION_TYPE), now),
        "crisis_ref": crisis_id,
        "name": _text(body, "name", required=True, limit=300),
        "assignee": assignee,
        "assigned_by": assigner,
        "due": read_due(body),
        "status": "assigned",
        "escalated": False,
        "extensions": {EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    description = _text(body, "description")
    if description is not None:
        obj["description"] = description
    return marked(exercise_marked(obj, exercise), read_tlp(body))


def revise_action(current: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    status = body.get("status")
    if status is not None and status not in ACTION_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(ACTION_STATUSES)}")
    comment = _text(body, "comment", limit=5000)
    if status is None and comment is None:
        raise BadRequest("give a status or a comment")
    obj = dict(current)
    if status is not None:
        obj["status"] = status
    if comment is not None:
        obj["comment"] = comment
    obj["modified"] = later_than(current["modified"], now_stix())
    return obj


def escalated(
    action: Mapping[str, Any], tlp: TLP, names: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The escalated version of an overdue action, and the escalation note, both idempotent.

    Their ids, times and text derive from the action, its due time and
    ``names`` (stakeholder ids to display names, from the config), so every
    hub process that notices the same overdue action writes the same two
    objects: the note says when the action was due as an absolute time, never
    "N min ago", which would differ from one process to the next. The note
    quotes the action, so it is marked ``tlp``: the action's own level,
    granular markings included (not only its ``object_marking_refs``). An
    exercise's action keeps its mark in its escalated version, and the note
    carries it too.
    """
    names = names or {}
    due = action["due"]
    stamp = later_than(action["modified"], due)
    new_version = {**action, "escalated": True, "modified": stamp}
    assignee = display_name(action["assignee"], names)
    assigner = display_name(action["assigned_by"], names)
    note = {
        **_sdo("note", stable_id("note", "escalation", action["id"], due), stamp),
        "created_by_ref": HUB_IDENTITY_ID,
        "abstract": f"Overdue: {action['name']}",
        "content": (
            f"Action item '{action['name']}', assigned to {assignee} by {assigner}, was due at {full_time(due)} "
            f"and is still {action['status']}. Escalated to the committee."
        ),
        "authors": ["Crisis Hub"],
        "object_refs": [action["crisis_ref"], action["id"]],
    }
    return new_version, marked(exercise_marked(note, is_exercise(action)), tlp)
