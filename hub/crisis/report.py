"""The after-action report of a crisis: what was decided, who answered how fast, what was shared with whom. Pure.

The service reads what the caller may read (:class:`ReportSource`: the
crisis's versions, its updates and sitreps, its action items with every
version, the acknowledgments and the objects its updates and sitreps name);
:func:`build_report` turns that into a :class:`Report`, a tree of frozen
values that :func:`report_json` writes as JSON and :func:`render_markdown` as
a document for the debrief.

How it counts:

* **Timeline**: the declaration and each revision (with what changed), each
  update and sitrep version, each action item's assignment, status change and
  escalation, each acknowledgment, in time order. The escalation notes the
  hub writes are the escalations already listed, so they are not repeated.
* **Time to acknowledge**: from the moment an item version was stored to the
  moment a stakeholder acknowledged that version. Versions a stakeholder was
  awaited on and never acknowledged are counted as ``unacknowledged``.
* **Action items**: time to complete runs from the assignment to the version
  that made the item ``completed``. An item is *late* when it was completed
  after its due time, or is still open past it at the time of the report.
* **Shared**: every object of the crisis the reader may see (the crisis,
  updates, sitreps, action items, what updates and sitreps name and the
  sightings of those), latest version each, grouped by channel and TLP, with
  the stakeholders :mod:`hub.policy` lets read that channel at that TLP.
  Acknowledgments are not counted: they only say who saw what.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from hub.crisis.model import Acknowledgment, AckStatus, Stored, label
from hub.crisis.objects import changes, crisis_fields, is_crisis, is_exercise
from hub.crisis.taxonomy import OPEN_ACTION_STATUSES
from hub.crisis.wording import acted_by, clock, crisis_label, display_name, one_line, parse_time, status_name
from hub.events import Event
from hub.i18n import Translator, translator
from hub.policy import Level, Principal, may_read
from hub.tlp import TLP


@dataclass(frozen=True, slots=True)
class ReportSource:
    """What the service read for the report, all of it readable by the caller."""

    crisis_versions: Sequence[Stored]
    """Every version of the crisis, oldest first."""
    notes: Sequence[Stored]
    """The newest version of every note naming the crisis (updates, escalation notes)."""
    sitreps: Sequence[Stored]
    """Every version of every sitrep."""
    actions: Sequence[Sequence[Stored]]
    """Every action item, each as its versions, oldest first."""
    acks: Sequence[Acknowledgment]
    statuses: Sequence[AckStatus]
    """Per item version: who acknowledged it, who is still awaited (as the service's acknowledgments say)."""
    named: Sequence[Event]
    """The objects updates and sitreps name, and the sightings of those: their newest readable version."""


# the report --------------------------------------------------------------------------------
def exercise_line(tr: Translator) -> str:
    """What the report of an exercise says first and last."""
    return tr("**EXERCISE EXERCISE EXERCISE** — this crisis is an exercise: nothing in this report is real.")


EXERCISE_LINE: Final = exercise_line(translator("en"))
"""The exercise line in English."""


@dataclass(frozen=True, slots=True)
class CrisisSummary:
    id: str
    name: str
    exercise: bool
    severity: int
    status: str
    lead: str
    channel: str
    tlp: str
    declared: str
    declared_by: str
    last_change: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened: ``kind`` is declared, revised, update, sitrep, assigned, status, escalated or
    acknowledged; ``by`` the stakeholder (or the hub) that did it, ``person`` the name of the person who did
    it for them, if one did.

    ``summary`` says what happened in the item's own words and the hub's codes, the same in every language;
    ``facts`` holds what it says as values (a crisis's name, severity and status; an action item's name,
    assignee, due time, statuses) for renderings in the reader's language. ``facts`` is not part of the JSON.
    """

    time: str
    kind: str
    by: str
    item: str
    summary: str
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    person: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Durations:
    """Several durations in seconds: how many, their median and the longest."""

    count: int
    median: float | None
    worst: float | None


@dataclass(frozen=True, slots=True)
class StakeholderSummary:
    id: str
    acknowledged: int
    unacknowledged: int
    time_to_acknowledge: Durations
    actions_assigned: int
    actions_completed: int
    actions_late: int
    actions_escalated: int
    time_to_complete: Durations


@dataclass(frozen=True, slots=True)
class ActionSummary:
    """An action item that ran late or was escalated: where it stands now."""

    id: str
    name: str
    assignee: str
    assigned: str
    due: str
    status: str
    completed: str | None
    late: bool
    escalated: bool


@dataclass(frozen=True, slots=True)
class Shared:
    """``count`` objects (by type in ``types``) on ``channel`` at ``tlp``, which ``readers`` may read."""

    channel: str
    tlp: str
    count: int
    types: Mapping[str, int]
    readers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    crisis: CrisisSummary
    generated: str
    timeline: tuple[TimelineEntry, ...]
    stakeholders: tuple[StakeholderSummary, ...]
    late_or_escalated: tuple[ActionSummary, ...]
    shared: tuple[Shared, ...]


# building it ---------------------------------------------------------------------------------
def seconds_between(start: str, end: str) -> float | None:
    """Seconds from ``start`` to ``end`` (STIX or event times), millisecond precise; None if one is unreadable."""
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)


def durations(values: Iterable[float]) -> Durations:
    found = sorted(values)
    if not found:
        return Durations(0, None, None)
    return Durations(len(found), round(statistics.median(found), 3), found[-1])


def _crisis_entries(versions: Sequence[Stored]) -> list[TimelineEntry]:
    out = []
    previous: Mapping[str, Any] | None = None
    for stored in versions:
        changed = changes(previous, stored.obj)
        if previous is None:
            fields = crisis_fields(stored.obj)
            summary = f"{one_line(fields['name'])}: severity {fields['severity']}, {fields['status']}"
            out.append(
                TimelineEntry(stored.event.time, "declared", stored.event.source, stored.obj["id"], summary,
                              person=stored.event.person_name, facts=_crisis_facts(fields))
            )  # fmt: skip
        else:
            summary = ", ".join(f"{name} {_brief(old)} → {_brief(new)}" for name, (old, new) in changed.items())
            out.append(
                TimelineEntry(
                    stored.event.time,
                    "revised",
                    stored.event.source,
                    stored.obj["id"],
                    summary,
                    changed,
                    stored.event.person_name,
                )  # fmt: skip
            )
        previous = stored.obj
    return out


def _crisis_facts(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": fields["name"], "severity": fields["severity"], "status": fields["status"]}


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    text = one_line(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _action_entries(versions: Sequence[Stored]) -> list[TimelineEntry]:
    out = []
    previous: Mapping[str, Any] | None = None
    for stored in versions:
        obj, event = stored.obj, stored.event
        name = one_line(obj["name"])
        if previous is None:
            summary = f"{name} → {obj['assignee']}, due {obj['due']}"
            facts = {"name": name, "assignee": obj["assignee"], "due": obj["due"]}
            out.append(TimelineEntry(event.time, "assigned", event.source, obj["id"], summary,
                                     person=event.person_name, facts=facts))  # fmt: skip
        else:
            if obj["escalated"] and not previous["escalated"]:
                out.append(TimelineEntry(event.time, "escalated", event.source, obj["id"], f"{name}: overdue",
                                         person=event.person_name, facts={"name": name}))  # fmt: skip
            if obj["status"] != previous["status"]:
                summary = f"{name}: {previous['status']} → {obj['status']}"
                facts = {"name": name, "from": previous["status"], "to": obj["status"]}
                out.append(TimelineEntry(event.time, "status", event.source, obj["id"], summary,
                                         person=event.person_name, facts=facts))  # fmt: skip
        previous = obj
    return out


def _completed(versions: Sequence[Stored]) -> Stored | None:
    """The version that made the item completed (the first of the completed run that lasts), or None."""
    done: Stored | None = None
    for stored in versions:
        if stored.obj["status"] == "completed":
            done = done or stored
        else:
            done = None
    return done


def _action_summary(versions: Sequence[Stored], now: str) -> ActionSummary:
    first, last = versions[0], versions[-1]
    done = _completed(versions)
    completed = done.event.time if done is not None else None
    due = last.obj["due"]
    late = completed > due if completed is not None else last.obj["status"] in OPEN_ACTION_STATUSES and due < now
    return ActionSummary(
        id=last.obj["id"],
        name=last.obj["name"],
        assignee=last.obj["assignee"],
        assigned=first.event.time,
        due=due,
        status=last.obj["status"],
        completed=completed,
        late=late,
        escalated=any(s.obj["escalated"] for s in versions),
    )


def _shared(events: Iterable[Event], principals: Iterable[Principal]) -> tuple[Shared, ...]:
    groups: dict[tuple[str, TLP], Counter[str]] = {}
    for event in events:
        groups.setdefault((event.channel, event.tlp), Counter())[event.type] += 1
    everyone = list(principals)
    out = []
    for (channel, tlp), types in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1])):
        readers = tuple(sorted(p.id for p in everyone if may_read(p, Level(channel, tlp))))
        out.append(Shared(channel, tlp.token, sum(types.values()), dict(sorted(types.items())), readers))
    return tuple(out)


def build_report(source: ReportSource, principals: Iterable[Principal], hub: str, now: str) -> Report:
    """The after-action report of what ``source`` holds, at ``now`` (a STIX time).

    ``principals``: the stakeholders whose access the "shared" section lists;
    ``hub``: the source the hub writes its own objects under (its escalation
    notes are left out, the escalations themselves are listed).
    """
    versions = source.crisis_versions
    first, current = versions[0], versions[-1]
    fields = crisis_fields(current.obj)
    action_ids = {v[0].obj["id"] for v in source.actions if v}
    timeline = _crisis_entries(versions)
    for note in source.notes:
        if note.event.source == hub and action_ids & set(note.obj.get("object_refs", ())):
            continue  # an escalation note: the escalation is listed from the action item
        timeline.append(
            TimelineEntry(note.event.time, "update", note.event.source, note.obj["id"], label(note.obj),
                          person=note.event.person_name)
        )  # fmt: skip
    for sitrep in source.sitreps:
        timeline.append(
            TimelineEntry(
                sitrep.event.time,
                "sitrep",
                sitrep.event.source,
                sitrep.obj["id"],
                label(sitrep.obj),
                person=sitrep.event.person_name,
            )  # fmt: skip
        )
    for action in source.actions:
        timeline += _action_entries(action)
    labels = {
        (s.obj["id"], s.event.version): s
        for s in (*versions, *source.notes, *source.sitreps)
    }  # fmt: skip
    for ack in source.acks:
        item = labels.get((ack.item, ack.version))
        what = label(item.obj) if item is not None else ack.item
        facts = _crisis_facts(crisis_fields(item.obj)) if item is not None and is_crisis(item.obj) else {}
        timeline.append(TimelineEntry(ack.time, "acknowledged", ack.acknowledged_by, ack.item, what,
                                      person=ack.person or "", facts=facts))  # fmt: skip
    timeline.sort(key=lambda e: (e.time, _KIND_ORDER.get(e.kind, 9)))

    # acknowledgments, per stakeholder
    to_ack: dict[str, list[float]] = {}
    unacked: Counter[str] = Counter()
    for status in source.statuses:
        item = labels.get((status.id, status.version))
        for ack in status.acknowledged:
            took = seconds_between(item.event.time, ack.time) if item is not None else None
            to_ack.setdefault(ack.acknowledged_by, [])
            if took is not None:
                to_ack[ack.acknowledged_by].append(max(took, 0.0))
        for who in status.pending:
            unacked[who] += 1

    # action items, per assignee
    summaries = [_action_summary(v, now) for v in source.actions if v]
    to_complete: dict[str, list[float]] = {}
    for summary in summaries:
        if summary.completed is not None:
            took = seconds_between(summary.assigned, summary.completed)
            if took is not None:
                to_complete.setdefault(summary.assignee, []).append(took)
    people = sorted({*to_ack, *unacked, *(s.assignee for s in summaries)})
    stakeholders = tuple(
        StakeholderSummary(
            id=who,
            acknowledged=len(to_ack.get(who, ())),
            unacknowledged=unacked[who],
            time_to_acknowledge=durations(to_ack.get(who, ())),
            actions_assigned=sum(1 for s in summaries if s.assignee == who),
            actions_completed=sum(1 for s in summaries if s.assignee == who and s.completed is not None),
            actions_late=sum(1 for s in summaries if s.assignee == who and s.late),
            actions_escalated=sum(1 for s in summaries if s.assignee == who and s.escalated),
            time_to_complete=durations(to_complete.get(who, ())),
        )
        for who in people
    )
    shared_events = [
        current.event,
        *(n.event for n in source.notes),
        *_newest(source.sitreps),
        *(v[-1].event for v in source.actions if v),
        *source.named,
    ]
    return Report(
        crisis=CrisisSummary(
            id=current.obj["id"],
            name=fields["name"],
            exercise=is_exercise(current.obj),
            severity=fields["severity"],
            status=fields["status"],
            lead=fields["lead"],
            channel=current.event.channel,
            tlp=current.event.tlp.token,
            declared=first.event.time,
            declared_by=first.event.source,
            last_change=current.event.time,
        ),
        generated=now,
        timeline=tuple(timeline),
        stakeholders=stakeholders,
        late_or_escalated=tuple(s for s in sorted(summaries, key=lambda s: s.due) if s.late or s.escalated),
        shared=_shared(shared_events, principals),
    )


# The order of entries stored in the same millisecond: what happened first in the story comes first.
_KIND_ORDER = {"declared": 0, "revised": 1, "assigned": 2, "status": 3, "escalated": 4, "update": 5, "sitrep": 6,
               "acknowledged": 7}  # fmt: skip


def _newest(versions: Iterable[Stored]) -> list[Event]:
    """The newest of each object's ``versions`` (given oldest first), as events."""
    newest: dict[str, Event] = {}
    for stored in versions:
        newest[stored.obj["id"]] = stored.event
    return list(newest.values())


# renderings ----------------------------------------------------------------------------------
def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data: every field of the tree (but the timeline's ``facts``), tuples as lists."""
    plain: dict[str, Any] = _plain(asdict(report))
    for entry in plain["timeline"]:
        del entry["facts"]  # the summary says it, the same in every language
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def duration(seconds: float | None) -> str:
    """``45 s``, ``3 min 5 s``, ``2 h 10 min``: a duration as a debrief says it; ``—`` for none."""
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def moment(stamp: str, now: datetime, tr: Translator, zone: str) -> str:
    """``11:10:05 CST``: :func:`~hub.crisis.wording.clock` to the second, as a timeline of minutes needs."""
    return clock(stamp, now, tr, zone, seconds=True)


def kind_name(kind: str, tr: Translator) -> str:
    """What a timeline entry is, at the start of its line."""
    words = {
        "declared": tr("Declared"),
        "revised": tr("Revised"),
        "update": tr("Update"),
        "sitrep": tr("Sitrep"),
        "assigned": tr("Assigned"),
        "status": tr("Action"),
        "escalated": tr("Escalated"),
        "acknowledged": tr("Acknowledged"),
    }
    return words.get(kind, kind)


def render_markdown(report: Report, *, names: Mapping[str, str], now: datetime, lang: str = "en",
                    zone: str = "UTC") -> str:  # fmt: skip
    """The report as a Markdown document; ``names`` maps stakeholder ids (and the hub's source) to display names.

    ``lang`` is the reader's language (``en``, ``es``), ``zone`` the hub's time zone: every time is shown in it,
    with its abbreviation. The crisis's and the items' own words stay as written.
    """
    tr = translator(lang)

    def who(stakeholder: str) -> str:
        return display_name(stakeholder, names)

    def at(stamp: str) -> str:
        return moment(stamp, now, tr, zone)

    crisis = report.crisis
    # Like a briefing, the report of an exercise says so first and last: forwarded, it must never be taken for real.
    out = [exercise_line(tr), ""] if crisis.exercise else []
    out += [
        "# " + tr("After-action report: {name}", name=one_line(crisis.name)),
        "",
        tr("**Severity {level}** · status **{status}** · lead **{lead}** · TLP:{tlp} · channel {channel}",
           level=crisis.severity, status=status_name(crisis.status, tr), lead=who(crisis.lead),
           tlp=crisis.tlp.upper(), channel=crisis.channel),
        "",
        "- " + tr("Declared: {when} by {who}", when=at(crisis.declared), who=who(crisis.declared_by)),
        "- " + tr("Last change: {when}", when=at(crisis.last_change)),
        "- " + tr("Report generated: {when}", when=at(report.generated)),
        "",
        "## " + tr("Timeline"),
        "",
    ]  # fmt: skip
    for entry in report.timeline:
        out.append(f"- {at(entry.time)} · {kind_name(entry.kind, tr)} · {acted_by(entry.by, entry.person, names)}: "
                   f"{_summary(entry, tr, names, now, zone)}")  # fmt: skip
    out += ["", "## " + tr("Stakeholders"), ""]
    if report.stakeholders:
        out += [
            tr("| stakeholder | acknowledged | not acknowledged | to acknowledge (median / worst) | actions | "
               "completed | late | escalated | to complete (median / worst) |"),
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]  # fmt: skip
        for s in report.stakeholders:
            ack, done = s.time_to_acknowledge, s.time_to_complete
            out.append(
                f"| {who(s.id)} | {s.acknowledged} | {s.unacknowledged} | "
                f"{duration(ack.median)} / {duration(ack.worst)} | {s.actions_assigned} | {s.actions_completed} | "
                f"{s.actions_late} | {s.actions_escalated} | {duration(done.median)} / {duration(done.worst)} |"
            )
    else:
        out.append(tr("No stakeholder was awaited or assigned anything."))
    out += ["", "## " + tr("Late and escalated action items"), ""]
    if not report.late_or_escalated:
        out.append(tr("None: every action item was on time."))
    for action in report.late_or_escalated:
        flags = ", ".join(f for f, on in ((tr("late"), action.late), (tr("escalated"), action.escalated)) if on)
        if action.completed:
            state = tr("completed {when}", when=clock(action.completed, now, tr, zone))
        else:
            state = status_name(action.status, tr)
        out.append("- " + tr("{name} — {assignee}, due {due}, {state} ({flags})", name=one_line(action.name),
                             assignee=who(action.assignee), due=clock(action.due, now, tr, zone), state=state,
                             flags=flags))  # fmt: skip
    out += ["", "## " + tr("What was shared with whom"), ""]
    if report.shared:
        out += [tr("| channel | TLP | objects | readers |"), "| --- | --- | --- | --- |"]
        for shared in report.shared:
            kinds = ", ".join(f"{n} {t}" for t, n in shared.types.items())
            readers = ", ".join(who(r) for r in shared.readers) or tr("nobody")
            out.append(f"| {shared.channel} | TLP:{shared.tlp.upper()} | {shared.count} ({kinds}) | {readers} |")
    out.append("")
    if crisis.exercise:
        out += [exercise_line(tr), ""]
    return "\n".join(out)


def _summary(entry: TimelineEntry, tr: Translator, names: Mapping[str, str], now: datetime, zone: str) -> str:
    """What a timeline entry says, in the reader's language: from its facts, or its summary (the item's words)."""
    facts = entry.facts
    if entry.kind == "revised" and entry.changes:
        return ", ".join(
            f"{_field_name(name, tr)} {_value(name, old, tr, names)} → {_value(name, new, tr, names)}"
            for name, (old, new) in entry.changes.items()
        )
    if entry.kind == "declared" and facts:
        return tr("{name}: severity {level}, {status}", name=one_line(facts["name"]), level=facts["severity"],
                  status=status_name(str(facts["status"]), tr))  # fmt: skip
    if entry.kind == "acknowledged" and facts:
        return crisis_label(facts["name"], facts["severity"], str(facts["status"]), tr)
    if entry.kind == "assigned" and facts:
        return tr(
            "{name} → {assignee}, due {due}",
            name=facts["name"],
            assignee=display_name(str(facts["assignee"]), names),
            due=clock(str(facts["due"]), now, tr, zone),
        )
    if entry.kind == "escalated" and facts:
        return tr("{name}: overdue", name=facts["name"])
    if entry.kind == "status" and facts:
        return tr("{name}: {old} → {new}", name=facts["name"], old=status_name(str(facts["from"]), tr),
                  new=status_name(str(facts["to"]), tr))  # fmt: skip
    return one_line(entry.summary)


def _field_name(name: str, tr: Translator) -> str:
    """A crisis field, as a revision names it."""
    words = {
        "name": tr("name"),
        "description": tr("description"),
        "severity": tr("severity"),
        "category": tr("category"),
        "subcategory": tr("subcategory"),
        "status": tr("status"),
        "lead": tr("lead"),
        "affected_sectors": tr("affected sectors"),
        "affected_stakeholders": tr("affected stakeholders"),
    }
    return words.get(name, name)


def _value(name: str, value: Any, tr: Translator, names: Mapping[str, str]) -> str:
    """A crisis field's value, as a revision says it: statuses in the reader's language, stakeholders by name."""
    if name == "status" and isinstance(value, str):
        return status_name(value, tr)
    if name == "lead" and isinstance(value, str):
        return display_name(value, names)
    if name == "affected_stakeholders" and isinstance(value, list):
        return _brief([display_name(str(v), names) for v in value])
    return _brief(value)
