"""A sitrep as a Markdown briefing, written to be read aloud to the committee. Pure.

A briefing names stakeholders by their display names (the config's ``name``,
passed in by the caller: this module does no I/O) and gives times as a
listener hears them: "17:10 UTC (6 min ago)". Relative times belong only in
renderings made at read time, like this one; what is stored (an escalation
note, say) uses :func:`full_time`, which says the same thing whenever it is
read and so keeps idempotent writes byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _line(text: Any) -> str:
    return " ".join(str(text).split())


def parse_time(stamp: str) -> datetime | None:
    """A STIX or event timestamp (``2026-11-27T17:10:00.123Z``, any fraction) as an aware UTC datetime, or None."""
    text = stamp.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most six fractional digits; STIX allows more.
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)].ljust(1, '0')}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def full_time(stamp: str) -> str:
    """``17:10 UTC on 27 Nov 2026``: an absolute time that reads the same whenever it is read."""
    moment = parse_time(stamp)
    if moment is None:
        return stamp
    return f"{moment:%H:%M} UTC on {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def clock(stamp: str, now: datetime) -> str:
    """``17:10 UTC``, with the day when it is not today's (UTC) and the year when it is not this one."""
    moment = parse_time(stamp)
    if moment is None:
        return stamp
    if moment.date() == now.astimezone(UTC).date():
        return f"{moment:%H:%M} UTC"
    year = f" {moment.year}" if moment.year != now.astimezone(UTC).year else ""
    return f"{moment.day} {MONTHS[moment.month - 1]}{year} {moment:%H:%M} UTC"


def relative(stamp: str, now: datetime) -> str:
    """``6 min ago``, ``in 4 h``, ``just now``: how far ``stamp`` is from ``now``, for a listener."""
    moment = parse_time(stamp)
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    past = seconds >= 0
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "just now" if past else "in under a minute"
    if minutes < 60:
        amount = f"{minutes} min"
    elif minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        amount = f"{hours} h {rest} min" if hours < 3 and rest else f"{hours} h"
    else:
        days = minutes // (24 * 60)
        amount = f"{days} days"
    return f"{amount} ago" if past else f"in {amount}"


def when(stamp: str, now: datetime) -> str:
    """``17:10 UTC (6 min ago)``."""
    around = relative(stamp, now)
    return f"{clock(stamp, now)} ({around})" if around else clock(stamp, now)


def display_name(stakeholder: str, names: Mapping[str, str]) -> str:
    """The display name of a stakeholder id (the id itself if the config does not know it)."""
    return names.get(stakeholder) or stakeholder


def render_markdown(
    crisis: Mapping[str, Any],
    report: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    actions: Sequence[Mapping[str, Any]],
    acknowledgments: Sequence[Mapping[str, Any]],
    *,
    names: Mapping[str, str],
    now: datetime,
) -> str:
    """The briefing: the crisis state, the sitrep, what it refers to, open actions and who has not acknowledged.

    ``items`` are the objects the report refers to (other than the crisis) as
    events, so each carries its source, time and TLP. ``names`` maps
    stakeholder ids (and the hub's own source) to display names; ``now`` is
    the moment relative times are counted from.
    """

    def who(stakeholder: str) -> str:
        return display_name(stakeholder, names)

    def whom(stakeholders: Sequence[str]) -> str:
        return ", ".join(who(s) for s in stakeholders)

    severity = crisis["severity"]
    out = [
        f"# Situation report: {_line(crisis['name'])}",
        "",
        f"**Severity {severity['level']} — {severity['name']}** · status **{crisis['status']}** · "
        f"lead **{who(crisis['lead'])}** · TLP:{crisis['tlp'].upper()}",
        "",
        f"- Incident type: {crisis['category']} / {crisis['subcategory']}",
        f"- Affected sectors: {', '.join(crisis['affected_sectors']) or 'none declared'}",
        f"- Affected stakeholders: {whom(crisis['affected_stakeholders']) or 'none declared'}",
        f"- Last change: {when(crisis['updated'], now)} by {who(crisis['updated_by'])}",
        "",
        f"## {_line(report['name'])}",
        "",
        f"_Published {when(report.get('published', report['modified']), now)}._",
        "",
    ]
    if report.get("description"):
        out += [str(report["description"]).strip(), ""]
    notes = [e for e in items if e["type"] == "note"]
    others = [e for e in items if e["type"] != "note"]
    if notes:
        out += ["## Situation updates", ""]
        for event in sorted(notes, key=lambda e: e["time"]):
            obj = event["object"]
            title = f"**{_line(obj['abstract'])}** — " if obj.get("abstract") else ""
            out.append(
                f"- {when(event['time'], now)} · {who(event['source'])} · TLP:{event['tlp'].upper()}: "
                f"{title}{_line(obj['content'])}"
            )
        out.append("")
    if others:
        out += ["## Referenced intelligence", ""]
        for event in others:
            obj = event["object"]
            label = obj.get("name") or obj.get("pattern") or obj["id"]
            out.append(f"- {event['type']} · {_line(label)} · from {who(event['source'])} · TLP:{event['tlp'].upper()}")
        out.append("")
    open_actions = [a for a in actions if a["status"] not in ("completed", "cancelled")]
    if actions:
        out += ["## Action items", ""]
        for action in actions:
            flag = " — **OVERDUE**" if action["overdue"] else ""
            flag += " (escalated)" if action.get("escalated") else ""
            out.append(f"- [{'x' if action['status'] == 'completed' else ' '}] {_line(action['name'])} — "
                       f"assigned to {who(action['assignee'])} by {who(action['assigned_by'])}, "
                       f"due {when(action['due'], now)}, {action['status']}{flag}")  # fmt: skip
        out.append("")
        out.append(f"{len(open_actions)} of {len(actions)} action items open.")
        out.append("")
    # Only the crisis as it stands now matters for acknowledgments, not its superseded versions.
    current = [a for a in acknowledgments if a["id"] != crisis["id"] or a["version"] == crisis["modified"]]
    pending = [a for a in current if a["pending"]]
    if current:
        out += ["## Acknowledgments", ""]
        if not pending:
            out.append("Every expected stakeholder has acknowledged every item.")
        for item in pending:
            kind = "Crisis status" if item["id"] == crisis["id"] else item["type"].capitalize()
            out.append(f"- {kind} “{item['label']}” ({who(item['source'])}): awaiting {whom(item['pending'])}")
        out.append("")
    return "\n".join(out)
