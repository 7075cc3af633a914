"""What a notification says, by e-mail and to a webhook: at most what its TLP lets leave the hub. Pure: no I/O.

A notice whose TLP the policy lets travel (:func:`hub.policy.may_travel`: at
or below ``notifications.max_tlp``, never RED or AMBER+STRICT) carries its
content: the item's name, a few words of it, who did it. Above that, only
that something needs attention, the crisis's severity, the TLP and the link:
no name, no description, nothing of the crisis's own words. Several notices
for one recipient within the digest window become one digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from hub.notify import Format
from hub.notify.triggers import Notice
from hub.policy import may_travel
from hub.tlp import TLP

_WHAT = {
    "crisis-declared": "Crisis declared",
    "crisis-raised": "Crisis raised",
    "action-assigned": "Action item assigned to you",
    "action-overdue": "Action item overdue",
    "ack-requested": "Sitrep to acknowledge",
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    link: str
    full: bool
    """Whether it carries the content (the TLP let it), or only that something needs attention."""


def link(public_url: str, notice: Notice) -> str:
    """The situation room, opening the crisis the notice concerns."""
    return f"{public_url}/?{urlencode({'crisis': notice.crisis_id})}"


def render(notice: Notice, public_url: str, max_tlp: TLP, time_zone: str) -> Message:
    """The message for ``notice``: its content where its TLP may travel, else only what needs attention."""
    url = link(public_url, notice)
    what = _WHAT.get(notice.kind, "Needs your attention")
    exercise = "EXERCISE · " if notice.exercise else ""
    severity = f"severity {notice.severity.level} ({notice.severity.name})"
    when = datetime.fromtimestamp(int(notice.event_id.split("-")[0]) / 1000, ZoneInfo(time_zone))
    stamp = when.strftime("%Y-%m-%d %H:%M %Z")
    if not may_travel(notice.tlp, max_tlp):
        text = (
            f"{exercise}Something in the situation room needs your attention: {what.lower()}, {severity}.\n"
            f"It is marked {notice.tlp.label}, which this hub does not send by e-mail or webhook: "
            f"open it in the situation room.\n\n{url}\n\n{stamp}"
        )
        return Message(f"[Crisis Hub] {exercise}{what}: {severity} · {notice.tlp.label}", text, url, False)
    lines = [f"{exercise}{what}: {notice.title}"]
    if notice.kind not in ("crisis-declared", "crisis-raised"):
        lines.append(f"Crisis: {notice.crisis_name} ({severity})")
    else:
        lines.append(f"Severity: {notice.severity.level} ({notice.severity.name})")
    if notice.detail:
        lines.append(notice.detail)
    lines += [f"By {notice.by}, {stamp}. Marked {notice.tlp.label}.", "", url]
    subject = f"[Crisis Hub] {exercise}{what}: {notice.title}"
    return Message(subject if len(subject) <= 160 else subject[:159] + "…", "\n".join(lines), url, True)


def digest(messages: Sequence[Message], public_url: str) -> Message:
    """Several messages for one recipient as one: their subjects, then each in full."""
    if len(messages) == 1:
        return messages[0]
    parts = [f"{len(messages)} things in the situation room need your attention:", ""]
    parts += [f"- {m.subject.removeprefix('[Crisis Hub] ')}" for m in messages]
    for m in messages:
        parts += ["", "—" * 20, m.text]
    return Message(f"[Crisis Hub] {len(messages)} things need your attention", "\n".join(parts), public_url,
                   all(m.full for m in messages))  # fmt: skip


def webhook_payload(form: Format, message: Message, kinds: Sequence[str], severity: int) -> dict[str, Any]:
    """What a webhook of ``form`` gets: the hub's JSON, or what Slack, Mattermost or Teams take."""
    title = message.subject.removeprefix("[Crisis Hub] ")
    if form == "slack":
        return {"text": f"*{title}*\n{message.text}", "unfurl_links": False}
    if form == "mattermost":
        return {"text": f"#### {title}\n{message.text}", "username": "Crisis Hub"}
    if form == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "title": title,
            "text": message.text.replace("\n", "  \n"),
            "potentialAction": [
                {
                    "@type": "OpenUri",
                    "name": "Open the situation room",
                    "targets": [{"os": "default", "uri": message.link}],
                }
            ],
        }
    return {"title": title, "text": message.text, "link": message.link, "kinds": list(kinds), "severity": severity,
            "content": message.full}  # fmt: skip
