"""The crisis workflow's stored objects read back as typed, frozen values. Pure.

A stored version (:class:`Stored`, the event and the object it holds)
becomes a frozen value — :class:`Crisis`, :class:`ActionItem`,
:class:`Acknowledgment`, :class:`AckStatus`, :class:`Revision`,
:class:`Sitrep`, :class:`SitrepEntry` — that the service returns and the
routes serialise. The objects themselves, and how requests build them, are
:mod:`hub.crisis.objects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.crisis.objects import changes, crisis_fields, is_crisis, is_exercise
from hub.crisis.taxonomy import OPEN_ACTION_STATUSES, SeverityLevel
from hub.crisis.wording import one_line
from hub.events import Event
from hub.tlp import TLP

UNKNOWN_SEVERITY_COLOUR = "#808080"
"""The colour of a stored severity level the configured scale does not name."""


# reading stored objects -------------------------------------------------------------------
# The service hands these functions objects that passed the crisis schema
# (hub.crisis.schema): the properties the schema requires are there.


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored version of an object: the event that holds it, and the object it says."""

    event: Event
    obj: Mapping[str, Any]


def severity_of(level: int, scale: Sequence[SeverityLevel]) -> SeverityLevel:
    """The level of ``scale`` named ``level``; a grey level named by its number if the scale has none."""
    for severity in scale:
        if severity.level == level:
            return severity
    return SeverityLevel(level, str(level), UNKNOWN_SEVERITY_COLOUR)


@dataclass(frozen=True, slots=True)
class Crisis:
    """A crisis as it stands in one stored version, with who stored it when and where.

    ``exercise``: declared to rehearse the plan, never to be counted, briefed
    or acted on as a real crisis; fixed at declaration.
    """

    id: str
    name: str
    description: str | None
    severity: SeverityLevel
    category: str
    subcategory: str
    status: str
    lead: str
    affected_sectors: tuple[str, ...]
    affected_stakeholders: tuple[str, ...]
    created: str
    modified: str
    channel: str
    tlp: TLP
    updated: str
    updated_by: str
    event_id: str
    exercise: bool = False
    updated_by_person: str | None = None
    """The name of the person who acted for ``updated_by``, when one did."""

    @classmethod
    def from_stored(cls, stored: Stored, scale: Sequence[SeverityLevel]) -> Crisis:
        """The crisis ``stored`` holds, its severity named by ``scale`` (the configured one)."""
        obj, event = stored.obj, stored.event
        fields = crisis_fields(obj)
        return cls(
            id=obj["id"],
            name=fields["name"],
            description=fields["description"],
            severity=severity_of(fields["severity"], scale),
            category=fields["category"],
            subcategory=fields["subcategory"],
            status=fields["status"],
            lead=fields["lead"],
            affected_sectors=tuple(fields["affected_sectors"]),
            affected_stakeholders=tuple(fields["affected_stakeholders"]),
            created=obj["created"],
            modified=obj["modified"],
            channel=event.channel,
            tlp=event.tlp,
            updated=event.time,
            updated_by=event.source,
            event_id=event.id,
            exercise=is_exercise(obj),
            updated_by_person=event.person_name or None,
        )


def is_listed(
    crisis: Crisis,
    status: str | None,
    min_severity: int | None,
    sector: str | None,
    *,
    include_closed: bool,
    exercise: bool | None = None,
) -> bool:
    """Whether a crisis list filtered by these (None: any) shows ``crisis``.

    A closed crisis is listed only when asked for by status or with
    ``include_closed``; ``exercise`` True lists only exercises, False only real crises.
    """
    if exercise is not None and crisis.exercise != exercise:
        return False
    if status is not None and crisis.status != status:
        return False
    if status is None and not include_closed and crisis.status == "closed":
        return False
    if min_severity is not None and crisis.severity.level < min_severity:
        return False
    return sector is None or sector in crisis.affected_sectors


@dataclass(frozen=True, slots=True)
class Revision:
    """One version of a crisis in its history: who stored it, when, and what it changed."""

    version: str
    time: str
    by: str
    event_id: str
    changes: Mapping[str, tuple[Any, Any]]


def revisions(versions: Iterable[Stored]) -> list[Revision]:
    """The history of a crisis from its ``versions``, oldest first: each compared with the one before."""
    out = []
    previous: Mapping[str, Any] | None = None
    for stored in versions:
        event = stored.event
        out.append(Revision(stored.obj["modified"], event.time, event.source, event.id, changes(previous, stored.obj)))
        previous = stored.obj
    return out


def is_overdue(status: str, due: str, now: str) -> bool:
    """Whether an action item in ``status``, due at ``due``, is overdue at ``now`` (STIX times with milliseconds).

    The schema makes every due time a UTC time with milliseconds, so that
    due times compare as text.
    """
    return status in OPEN_ACTION_STATUSES and due < now


_ACTION_OWN = frozenset(
    {"type", "spec_version", "extensions", "id", "created", "modified", "crisis_ref", "name", "description",
     "assignee", "assignee_person", "assigned_by", "due", "status", "escalated", "comment"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActionItem:
    """An action item as it stands in one stored version.

    ``common`` holds the object's other STIX properties (its markings, labels,
    …) as stored, so that what the API shows of an action hides none of them.
    """

    id: str
    created: str
    modified: str
    crisis_ref: str
    name: str
    assignee: str
    assigned_by: str
    due: str
    status: str
    escalated: bool
    description: str | None
    comment: str | None
    common: Mapping[str, Any]
    overdue: bool
    channel: str
    tlp: TLP
    updated: str
    updated_by: str
    updated_by_person: str | None = None
    assignee_person: Mapping[str, str] | None = None
    """The person of the assignee the committee named (``{"id", "name"}``), if it named one."""

    @property
    def assignee_name(self) -> str | None:
        """The name of the person who must do it, if the committee named one."""
        return self.assignee_person["name"] if self.assignee_person else None

    @property
    def is_open(self) -> bool:
        """Neither completed nor cancelled."""
        return self.status in OPEN_ACTION_STATUSES

    @classmethod
    def from_stored(cls, stored: Stored, now: str) -> ActionItem:
        """The action item ``stored`` holds, judged overdue or not at ``now`` (a STIX time)."""
        obj, event = stored.obj, stored.event
        return cls(
            id=obj["id"],
            created=obj["created"],
            modified=obj["modified"],
            crisis_ref=obj["crisis_ref"],
            name=obj["name"],
            assignee=obj["assignee"],
            assigned_by=obj["assigned_by"],
            due=obj["due"],
            status=obj["status"],
            escalated=obj["escalated"],
            description=obj.get("description"),
            comment=obj.get("comment"),
            common={name: value for name, value in obj.items() if name not in _ACTION_OWN},
            overdue=is_overdue(obj["status"], obj["due"], now),
            channel=event.channel,
            tlp=event.tlp,
            updated=event.time,
            updated_by=event.source,
            updated_by_person=event.person_name or None,
            assignee_person=obj.get("assignee_person"),
        )


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """``acknowledged_by`` has seen ``version`` of ``item``: recorded by event ``event_id`` at ``time``."""

    item: str
    version: str
    acknowledged_by: str
    time: str
    event_id: str
    person: str | None = None
    """The name of the person who acknowledged for ``acknowledged_by``, when one did."""

    @classmethod
    def from_stored(cls, stored: Stored) -> Acknowledgment:
        """The acknowledgment ``stored`` holds; who acknowledged is who stored it, never a field of the object."""
        event = stored.event
        return cls(
            stored.obj["object_ref"], stored.obj["object_modified"], event.source, event.time, event.id,
            event.person_name or None,
        )  # fmt: skip


def label(obj: Mapping[str, Any]) -> str:
    """A short human name for an item to acknowledge."""
    if is_crisis(obj):
        fields = crisis_fields(obj)
        return f"{fields['name']} (severity {fields['severity']}, {fields['status']})"
    text = one_line(obj.get("name") or obj.get("abstract") or obj.get("content") or obj["id"])
    return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True, slots=True)
class AckStatus:
    """One version of an item of a crisis (a crisis version, an update, a sitrep version): who acknowledged it,
    who is still awaited."""

    id: str
    type: str
    label: str
    source: str
    version: str
    event_id: str
    acknowledged: tuple[Acknowledgment, ...]
    pending: tuple[str, ...]


def ack_status(item: Stored, expected: Iterable[str], acks: Iterable[Acknowledgment]) -> AckStatus:
    """Where ``item`` stands: who of ``expected`` acknowledged its version in ``acks``, who is still awaited.

    ``acks`` for other items or versions are ignored. One acknowledgment per
    stakeholder counts, the last of ``acks``; the author of the item is never
    awaited (nobody acknowledges their own item).
    """
    event = item.event
    done: dict[str, Acknowledgment] = {}
    for ack in acks:
        if (ack.item, ack.version) == (item.obj["id"], event.version):
            done[ack.acknowledged_by] = ack
    return AckStatus(
        id=item.obj["id"],
        type=item.obj["type"],
        label=label(item.obj),
        source=event.source,
        version=event.version,
        event_id=event.id,
        acknowledged=tuple(done[s] for s in sorted(done)),
        pending=tuple(s for s in expected if s != event.source and s not in done),
    )


@dataclass(frozen=True, slots=True)
class Sitrep:
    """What a sitrep version says."""

    id: str
    name: str
    description: str | None
    published: str
    modified: str
    object_refs: tuple[str, ...]

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Sitrep:
        """The sitrep a stored ``report`` says."""
        return cls(
            id=obj["id"],
            name=obj["name"],
            description=obj.get("description"),
            published=obj.get("published", obj["modified"]),
            modified=obj["modified"],
            object_refs=tuple(obj.get("object_refs", ())),
        )


@dataclass(frozen=True, slots=True)
class SitrepEntry:
    """An object a sitrep names, as a briefing lists it: a situation update, or intelligence it refers to."""

    type: str
    time: str
    source: str
    tlp: TLP
    abstract: str | None
    text: str
    person: str | None = None
    """The name of the person who wrote it for ``source``, when one did."""

    @property
    def is_update(self) -> bool:
        return self.type == "note"

    @classmethod
    def from_stored(cls, stored: Stored) -> SitrepEntry:
        """An update's abstract and content; any other object's name, else its pattern, else its id."""
        obj, event = stored.obj, stored.event
        if event.type == "note":
            abstract, text = obj.get("abstract"), obj["content"]
        else:
            abstract, text = None, obj.get("name") or obj.get("pattern") or obj["id"]
        return cls(event.type, event.time, event.source, event.tlp, abstract, str(text), event.person_name or None)


@dataclass(frozen=True, slots=True)
class SitrepExport:
    """The newest sitrep of a crisis a reader may read, with what it names that the reader may read."""

    crisis: Crisis
    sitrep: Sitrep
    events: tuple[Event, ...]
    """The sitrep's stored version, then each object it names (the crisis among them), as stored."""
    entries: tuple[SitrepEntry, ...]
    """What it names other than the crisis, as a briefing lists it."""
