"""A sitrep as a Markdown briefing, written to be read aloud to the committee. Pure.

The briefing speaks as :mod:`hub.crisis.wording` does: stakeholders by their
display names (the config's ``name``, passed in by the caller: this module
does no I/O) and times as a listener hears them, "17:10 UTC (6 min ago)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.crisis.model import AckStatus, ActionItem, Crisis, Sitrep, SitrepEntry
from hub.crisis.wording import acted_by, display_name, one_line, when

EXERCISE_LINE = "**EXERCISE EXERCISE EXERCISE** — this crisis is an exercise: nothing in this briefing is real."


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
) -> str:
    """The briefing: the crisis state, the sitrep, what it refers to, open actions and who has not acknowledged.

    The briefing of an exercise opens and closes with :data:`EXERCISE_LINE`.

    ``entries`` are the objects the sitrep names other than the crisis;
    ``plans`` the crisis's plan runs the reader may see.
    ``names`` maps stakeholder ids (and the hub's own source) to display
    names; ``now`` is the moment relative times are counted from.
    """

    def who(stakeholder: str) -> str:
        return display_name(stakeholder, names)

    def author(entry: SitrepEntry) -> str:
        return acted_by(entry.source, entry.person, names)

    def whom(stakeholders: Sequence[str]) -> str:
        return ", ".join(who(s) for s in stakeholders)

    severity = crisis.severity
    # An exercise says so before anything else, and again at the end: read aloud or forwarded, a briefing
    # of an exercise must never be taken for a real one.
    out = [EXERCISE_LINE, ""] if crisis.exercise else []
    out += [
        f"# Situation report: {one_line(crisis.name)}",
        "",
        f"**Severity {severity.level} — {severity.name}** · status **{crisis.status}** · "
        f"lead **{who(crisis.lead)}** · TLP:{crisis.tlp.token.upper()}",
        "",
        f"- Incident type: {crisis.category} / {crisis.subcategory}",
        f"- Affected sectors: {', '.join(crisis.affected_sectors) or 'none declared'}",
        f"- Affected stakeholders: {whom(crisis.affected_stakeholders) or 'none declared'}",
        f"- Last change: {when(crisis.updated, now)} by {who(crisis.updated_by)}",
        "",
        f"## {one_line(sitrep.name)}",
        "",
        f"_Published {when(sitrep.published, now)}._",
        "",
    ]
    if sitrep.description:
        out += [sitrep.description.strip(), ""]
    updates = [e for e in entries if e.is_update]
    others = [e for e in entries if not e.is_update]
    if updates:
        out += ["## Situation updates", ""]
        for entry in sorted(updates, key=lambda e: e.time):
            title = f"**{one_line(entry.abstract)}** — " if entry.abstract else ""
            out.append(
                f"- {when(entry.time, now)} · {author(entry)} · TLP:{entry.tlp.token.upper()}: "
                f"{title}{one_line(entry.text)}"
            )
        out.append("")
    if others:
        out += ["## Referenced intelligence", ""]
        for entry in others:
            out.append(
                f"- {entry.type} · {one_line(entry.text)} · from {author(entry)} · TLP:{entry.tlp.token.upper()}"
            )
        out.append("")
    if actions:
        out += ["## Action items", ""]
        for action in actions:
            flag = " — **OVERDUE**" if action.overdue else ""
            flag += " (escalated)" if action.escalated else ""
            out.append(f"- [{'x' if action.status == 'completed' else ' '}] {one_line(action.name)} — "
                       f"assigned to {acted_by(action.assignee, action.assignee_name, names)} "
                       f"by {who(action.assigned_by)}, "
                       f"due {when(action.due, now)}, {action.status}{flag}")  # fmt: skip
        out.append("")
        out.append(f"{sum(1 for a in actions if a.is_open)} of {len(actions)} action items open.")
        out.append("")
    if plans:
        out += ["## Plans", ""]
        for plan in plans:
            out.append(f"- **{one_line(plan.name)}** — {plan.status}, {plan.done} of {plan.steps} steps done")
            for step in plan.open:
                due = f", due {when(step.due, now)}" if step.due else ""
                late = " — **LATE**" if step.late else ""
                waiting = f", waiting on {whom(step.waiting_on)}" if step.waiting_on else ""
                out.append(f"  - {one_line(step.name)}: {step.state}{due}{waiting}{late}")
        out.append("")
    # Only the crisis as it stands now matters for acknowledgments, not its superseded versions.
    current = [a for a in acknowledgments if a.id != crisis.id or a.version == crisis.modified]
    pending = [a for a in current if a.pending]
    if current:
        out += ["## Acknowledgments", ""]
        if not pending:
            out.append("Every expected stakeholder has acknowledged every item.")
        for item in pending:
            kind = "Crisis status" if item.id == crisis.id else item.type.capitalize()
            out.append(f"- {kind} “{item.label}” ({who(item.source)}): awaiting {whom(item.pending)}")
        out.append("")
    if crisis.exercise:
        out += [EXERCISE_LINE, ""]
    return "\n".join(out)
