"""A sitrep as a Markdown briefing, written to be read aloud to the committee. Pure.

The briefing speaks as :mod:`hub.crisis.wording` does: stakeholders by their
display names (the config's ``name``, passed in by the caller: this module
does no I/O) and times as a listener hears them, in the hub's time zone and
the reader's language: "11:10 CST (6 min. ago)", "11:10 CST (hace 6 min)".
Every sentence of the hub's own is a message of :mod:`hub.i18n`; the
crisis's texts, the updates and the stakeholders' names stay as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.crisis.model import AckStatus, ActionItem, Crisis, Sitrep, SitrepEntry
from hub.crisis.wording import (
    acted_by,
    crisis_label,
    display_name,
    one_line,
    severity_name,
    status_name,
    when,
)
from hub.i18n import Translator, translator


def exercise_line(tr: Translator) -> str:
    """What a briefing of an exercise says first and last."""
    return tr("**EXERCISE EXERCISE EXERCISE** — this crisis is an exercise: nothing in this briefing is real.")


EXERCISE_LINE: Final = exercise_line(translator("en"))
"""The exercise line in English."""


@dataclass(frozen=True, slots=True)
class StepProgress:
    """One reached step of a plan run, as the briefing tells it."""

    name: str
    state: str
    due: str | None
    late: bool
    waiting_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """Where one plan run of the crisis stands (see :mod:`hub.plans`)."""

    name: str
    status: str
    done: int
    steps: int
    open: tuple[StepProgress, ...]
    """Its steps now running or waiting, late first."""


def object_kind(stix_type: str, tr: Translator) -> str:
    """What an object named by a sitrep is, as people call it; a type this module does not know, as it is."""
    words = {
        "indicator": tr("indicator"),
        "sighting": tr("sighting"),
        "malware": tr("malware"),
        "note": tr("note"),
        "report": tr("report"),
        "vulnerability": tr("vulnerability"),
        "threat-actor": tr("threat actor"),
        "attack-pattern": tr("attack pattern"),
        "campaign": tr("campaign"),
        "course-of-action": tr("course of action"),
        "intrusion-set": tr("intrusion set"),
        "infrastructure": tr("infrastructure"),
        "observed-data": tr("observed data"),
        "tool": tr("tool"),
    }
    return words.get(stix_type, stix_type)


def render_markdown(
    crisis: Crisis,
    sitrep: Sitrep,
    entries: Sequence[SitrepEntry],
    actions: Sequence[ActionItem],
    acknowledgments: Sequence[AckStatus],
    *,
    names: Mapping[str, str],
    now: datetime,
    plans: Sequence[PlanProgress] = (),
    lang: str = "en",
    zone: str = "UTC",
) -> str:
    """The briefing: the crisis state, the sitrep, what it refers to, open actions and who has not acknowledged.

    The briefing of an exercise opens and closes with :func:`exercise_line`.

    ``entries`` are the objects the sitrep names other than the crisis;
    ``plans`` the crisis's plan runs the reader may see.
    ``names`` maps stakeholder ids (and the hub's own source) to display
    names; ``now`` is the moment relative times are counted from; ``lang``
    the reader's language (``en``, ``es``) and ``zone`` the hub's time zone.
    """
    tr = translator(lang)

    def who(stakeholder: str) -> str:
        return display_name(stakeholder, names)

    def author(entry: SitrepEntry) -> str:
        return acted_by(entry.source, entry.person, names)

    def whom(stakeholders: Sequence[str]) -> str:
        return ", ".join(who(s) for s in stakeholders)

    def at(stamp: str) -> str:
        return when(stamp, now, tr, zone)

    severity = crisis.severity
    sectors = ", ".join(crisis.affected_sectors)
    affected = whom(crisis.affected_stakeholders)
    # An exercise says so before anything else, and again at the end: read aloud or forwarded, a briefing
    # of an exercise must never be taken for a real one.
    out = [exercise_line(tr), ""] if crisis.exercise else []
    out += [
        "# " + tr("Situation report: {name}", name=one_line(crisis.name)),
        "",
        tr("**Severity {level} — {name}** · status **{status}** · lead **{lead}** · TLP:{tlp}", level=severity.level,
           name=severity_name(severity, tr), status=status_name(crisis.status, tr), lead=who(crisis.lead),
           tlp=crisis.tlp.token.upper()),
        "",
        "- " + tr("Incident type: {category} / {subcategory}", category=crisis.category,
                  subcategory=crisis.subcategory),
        "- " + (tr("Affected sectors: {sectors}", sectors=sectors) if sectors
                else tr("Affected sectors: none declared")),
        "- " + (tr("Affected stakeholders: {stakeholders}", stakeholders=affected) if affected
                else tr("Affected stakeholders: none declared")),
        "- " + tr("Last change: {when} by {who}", when=at(crisis.updated), who=who(crisis.updated_by)),
        "",
        f"## {one_line(sitrep.name)}",
        "",
        "_" + tr("Published {when}.", when=at(sitrep.published)) + "_",
        "",
    ]  # fmt: skip
    if sitrep.description:
        out += [sitrep.description.strip(), ""]
    updates = [e for e in entries if e.is_update]
    others = [e for e in entries if not e.is_update]
    if updates:
        out += ["## " + tr("Situation updates"), ""]
        for entry in sorted(updates, key=lambda e: e.time):
            title = f"**{one_line(entry.abstract)}** — " if entry.abstract else ""
            out.append(
                f"- {at(entry.time)} · {author(entry)} · TLP:{entry.tlp.token.upper()}: {title}{one_line(entry.text)}"
            )
        out.append("")
    if others:
        out += ["## " + tr("Referenced intelligence"), ""]
        for entry in others:
            source = tr("from {who}", who=author(entry))
            out.append(
                f"- {object_kind(entry.type, tr)} · {one_line(entry.text)} · {source} · TLP:{entry.tlp.token.upper()}"
            )
        out.append("")
    if actions:
        out += ["## " + tr("Action items"), ""]
        for action in actions:
            flag = " — " + tr("**OVERDUE**") if action.overdue else ""
            flag += " " + tr("(escalated)") if action.escalated else ""
            line = tr("{name} — assigned to {assignee} by {by}, due {due}, {status}", name=one_line(action.name),
                      assignee=acted_by(action.assignee, action.assignee_name, names), by=who(action.assigned_by),
                      due=at(action.due), status=status_name(action.status, tr))  # fmt: skip
            out.append(f"- [{'x' if action.status == 'completed' else ' '}] {line}{flag}")
        out.append("")
        open_count = sum(1 for a in actions if a.is_open)
        out.append(tr.plural("{open} of {n} action item open.", "{open} of {n} action items open.", len(actions),
                             open=open_count))  # fmt: skip
        out.append("")
    if plans:
        out += ["## " + tr("Plans"), ""]
        for plan in plans:
            done = tr("{done} of {steps} steps done", done=plan.done, steps=plan.steps)
            out.append(f"- **{one_line(plan.name)}** — {status_name(plan.status, tr)}, {done}")
            for step in plan.open:
                due = ", " + tr("due {when}", when=at(step.due)) if step.due else ""
                late = " — " + tr("**LATE**") if step.late else ""
                waiting = ", " + tr("waiting on {whom}", whom=whom(step.waiting_on)) if step.waiting_on else ""
                out.append(f"  - {one_line(step.name)}: {status_name(step.state, tr)}{due}{waiting}{late}")
        out.append("")
    # Only the crisis as it stands now matters for acknowledgments, not its superseded versions.
    current = [a for a in acknowledgments if a.id != crisis.id or a.version == crisis.modified]
    pending = [a for a in current if a.pending]
    if current:
        out += ["## " + tr("Acknowledgments"), ""]
        if not pending:
            out.append(tr("Every expected stakeholder has acknowledged every item."))
        for item in pending:
            if item.id == crisis.id:
                kind = tr("Crisis status")
                label = crisis_label(crisis.name, severity.level, crisis.status, tr)
            else:
                kind, label = _ack_kind(item.type, tr), item.label
            out.append("- " + tr("{kind} “{label}” ({who}): awaiting {whom}", kind=kind, label=label,
                                 who=who(item.source), whom=whom(item.pending)))  # fmt: skip
        out.append("")
    if crisis.exercise:
        out += [exercise_line(tr), ""]
    return "\n".join(out)


def _ack_kind(stix_type: str, tr: Translator) -> str:
    """What an item awaiting acknowledgment is, at the start of its line."""
    if stix_type == "note":
        return tr("Update")
    if stix_type == "report":
        return tr("Sitrep")
    return stix_type.capitalize()
