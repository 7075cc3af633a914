"""A sitrep as a Markdown briefing, written to be read aloud to the committee. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _line(text: Any) -> str:
    return " ".join(str(text).split())


def render_markdown(
    crisis: Mapping[str, Any],
    report: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    actions: Sequence[Mapping[str, Any]],
    acknowledgments: Sequence[Mapping[str, Any]],
) -> str:
    """The briefing: the crisis state, the sitrep, what it refers to, open actions and who has not acknowledged.

    ``items`` are the objects the report refers to (other than the crisis) as
    events, so each carries its source, time and TLP.
    """
    severity = crisis["severity"]
    out = [
        f"# Situation report: {_line(crisis['name'])}",
        "",
        f"**Severity {severity['level']} — {severity['name']}** · status **{crisis['status']}** · "
        f"lead **{crisis['lead']}** · TLP:{crisis['tlp'].upper()}",
        "",
        f"- Incident type: {crisis['category']} / {crisis['subcategory']}",
        f"- Affected sectors: {', '.join(crisis['affected_sectors']) or 'none declared'}",
        f"- Affected stakeholders: {', '.join(crisis['affected_stakeholders']) or 'none declared'}",
        f"- Last change: {crisis['updated']} by {crisis['updated_by']}",
        "",
        f"## {_line(report['name'])}",
        "",
        f"_Published {report.get('published', report['modified'])}, version {report['modified']}._",
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
                f"- {event['time']} · {event['source']} · TLP:{event['tlp'].upper()}: {title}{_line(obj['content'])}"
            )
        out.append("")
    if others:
        out += ["## Referenced intelligence", ""]
        for event in others:
            obj = event["object"]
            label = obj.get("name") or obj.get("pattern") or obj["id"]
            out.append(f"- {event['type']} · {_line(label)} · from {event['source']} · TLP:{event['tlp'].upper()}")
        out.append("")
    open_actions = [a for a in actions if a["status"] not in ("completed", "cancelled")]
    if actions:
        out += ["## Action items", ""]
        for action in actions:
            flag = " — **OVERDUE**" if action["overdue"] else ""
            flag += " (escalated)" if action.get("escalated") else ""
            out.append(f"- [{'x' if action['status'] == 'completed' else ' '}] {_line(action['name'])} — "
                       f"{action['assignee']}, due {action['due']}, {action['status']}{flag}")  # fmt: skip
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
            out.append(f"- {kind} “{item['label']}” ({item['source']}): awaiting {', '.join(item['pending'])}")
        out.append("")
    return "\n".join(out)
