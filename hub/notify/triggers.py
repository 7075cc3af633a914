"""Which stored event calls for a notification, and to whom. Pure: no I/O.

* ``crisis-declared`` / ``crisis-raised`` — the first version of a crisis, or
  one whose severity went up: to everyone who may read it and whose rule asks
  for crises at that severity.
* ``action-assigned`` — the first version of an action item (a plan's step is
  one): to the people of its assignee (only the person it names, if it names
  one), and the webhooks of the assignee.
* ``action-overdue`` — an item's version that escalates it: the same.
* ``ack-requested`` — a new sitrep, or a new version of one: to the people of
  the stakeholders awaited to acknowledge it.

Everyone is checked by the policy (:func:`hub.policy.may_read`) with their
own rights: a person with a lower ceiling than their stakeholder is not told
of what they may not read. Quiet hours hold a person's notification until
they end, unless the crisis is at ``quiet_hours_override`` or above.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hub.crisis import objects
from hub.crisis.model import severity_of
from hub.crisis.taxonomy import SeverityLevel
from hub.events import Event
from hub.notify import NotificationSettings, Rule
from hub.people import Person
from hub.policy import Level, Principal, may_read
from hub.tlp import TLP


@dataclass(frozen=True, slots=True)
class Notice:
    """Something that happened that people must be told of: what, where, how severe, in the item's own words."""

    kind: str
    channel: str
    event_id: str
    tlp: TLP
    item_id: str
    crisis_id: str
    crisis_name: str
    severity: SeverityLevel
    exercise: bool
    title: str
    """The item's name: a crisis's, an action item's or a sitrep's (content: shown only where its TLP allows)."""
    detail: str
    """More of its content in its own words: the description's start (same rule)."""
    by: str
    """Who did it, "Luis Herrera (Central Bank)" or the stakeholder's name; "" for the hub itself (same rule)."""
    assignee: str = ""
    assignee_person: str = ""
    due: str = ""
    """An action item's due time (a STIX time), which each message gives in its reader's words."""
    raised_from: int | None = None
    """A raised crisis's severity before it was raised."""
    quoted: Level | None = None
    """The crisis it quotes (its name, its severity), which every recipient must be able to read too."""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.channel}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where one notification goes: a person's e-mail address, or a webhook (for its stakeholders)."""

    via: Literal["email", "webhook"]
    address: str
    """The e-mail address, or the webhook's id."""
    person: str = ""
    not_before: float = 0.0
    """Not sent before this (epoch seconds): the end of the person's quiet hours."""
    language: str | None = None
    """The person's own language; None: the hub's (``hub.language``), as for every webhook."""


@dataclass(frozen=True, slots=True)
class Crisis:
    """The crisis an event concerns, as it stands."""

    id: str
    obj: Mapping[str, Any]
    level: Level | None = None
    """Where that version is stored and at what TLP: what a notice quoting the crisis is marked with, at least."""

    @property
    def fields(self) -> dict[str, Any]:
        return objects.crisis_fields(self.obj)


def _short(text: Any, limit: int = 280) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def notice_of(
    event: Event,
    obj: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    crisis: Crisis | None,
    scale: Sequence[SeverityLevel],
    by: str,
) -> Notice | None:
    """The notice ``event`` calls for, if any. ``previous``: the object's version before it in the channel;
    ``crisis``: the crisis it concerns (itself, for a crisis); ``by``: who did it, as people read it."""
    if crisis is None:
        return None
    fields = crisis.fields
    severity = severity_of(int(fields["severity"]), scale)

    # A notice quotes the crisis: it is marked at the higher of the item's TLP and the crisis's.
    tlp = max(event.tlp, crisis.level.tlp) if crisis.level is not None else event.tlp

    def notice(kind: str, title: str, detail: str, **extra: Any) -> Notice:
        return Notice(kind, event.channel, event.id, tlp, str(obj["id"]), crisis.id, str(fields["name"]),
                      severity, objects.is_exercise(crisis.obj), _short(title, 300), _short(detail), by,
                      quoted=crisis.level, **extra)  # fmt: skip

    kind = obj.get("type")
    if objects.is_crisis(obj):
        if previous is None:
            return notice("crisis-declared", str(obj["name"]), obj.get("description", ""))
        before = objects.crisis_fields(previous)["severity"]
        if int(fields["severity"]) > int(before):
            return notice("crisis-raised", str(obj["name"]), "", raised_from=int(before))
        return None
    if kind == objects.ACTION_TYPE:
        named = obj.get("assignee_person") or {}
        extra = {"assignee": str(obj["assignee"]), "assignee_person": str(named.get("id", "")), "due": str(obj["due"])}
        if previous is None:
            return notice("action-assigned", str(obj["name"]), "", **extra)
        if obj.get("escalated") and not previous.get("escalated"):
            return notice("action-overdue", str(obj["name"]), "", **extra)
        return None
    if kind == "report" and crisis.id in obj.get("object_refs", ()):
        return notice("ack-requested", str(obj.get("name", "")), obj.get("description", ""))
    return None


def _wants(rule: Rule, notice: Notice) -> bool:
    if notice.kind in ("crisis-declared", "crisis-raised"):
        return rule.crises and notice.severity.level >= rule.crisis_min_severity
    if notice.kind == "action-assigned":
        return rule.actions
    if notice.kind == "action-overdue":
        return rule.overdue
    return rule.acknowledgments


def _concerned(notice: Notice, stakeholder: str, person: str, awaited: Iterable[str]) -> bool:
    """Whether the notice is for this stakeholder (and person) at all, whatever their rule says."""
    if notice.kind in ("action-assigned", "action-overdue"):
        return stakeholder == notice.assignee and (not person or notice.assignee_person in ("", person))
    if notice.kind == "ack-requested":
        return stakeholder in set(awaited)
    return True


def quiet_until(rule: Rule, now: datetime) -> datetime | None:
    """When ``rule``'s quiet hours around ``now`` (aware, in the hub's time zone) end; None if not quiet now."""
    window = rule.quiet()
    if window is None:
        return None
    start, end = window
    today_start = now.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    today_end = now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if start <= end:  # 13:00-14:00
        return today_end if today_start <= now < today_end else None
    # over midnight, 22:00-07:00
    if now >= today_start:
        return today_end + timedelta(days=1)
    return today_end if now < today_end else None


def _may_read_all(reader: Principal, event: Event, notice: Notice) -> bool:
    """Whether ``reader`` may read the event and the crisis its notice quotes."""
    return bool(may_read(reader, event)) and (notice.quoted is None or bool(may_read(reader, notice.quoted)))


def recipients(
    notice: Notice,
    event: Event,
    people: Iterable[tuple[Person, Principal]],
    stakeholders: Mapping[str, Principal],
    settings: NotificationSettings,
    now: float,
    awaited: Sequence[str] = (),
) -> list[Recipient]:
    """Who gets ``notice``: each person by e-mail (if they have an address and want it), each webhook once.

    ``people``: everyone who may sign in, with their rights now; ``awaited``: the
    stakeholders awaited to acknowledge (for ``ack-requested``).
    """
    out: list[Recipient] = []
    local = datetime.fromtimestamp(now, ZoneInfo(settings.time_zone))
    for person, rights in people:
        if settings.smtp is None or not person.email:
            continue
        rule = settings.rules.for_person(person.id, person.stakeholder)
        if not rule.email or not _concerned(notice, person.stakeholder, person.id, awaited) or not _wants(rule, notice):
            continue
        if not _may_read_all(rights, event, notice):
            continue
        until = quiet_until(rule, local) if notice.severity.level < settings.quiet_hours_override else None
        out.append(Recipient("email", person.email, person.id, until.timestamp() if until else 0.0, person.language))
    for hook in settings.webhooks:
        holders = [stakeholders[h] for h in hook.stakeholders if h in stakeholders]
        # Everyone in the channel must be allowed to read what it is told; one of them must want to be told.
        if not holders or not all(_may_read_all(holder, event, notice) for holder in holders):
            continue
        if any(
            _concerned(notice, h.id, "", awaited) and _wants(settings.rules.for_stakeholder(h.id), notice)
            for h in holders
        ):
            out.append(Recipient("webhook", hook.id))
    return out
