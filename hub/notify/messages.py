"""What a notification says, by e-mail and to a webhook: at most what its TLP lets leave the hub. Pure: no I/O.

A notice whose TLP the policy lets travel (:func:`hub.policy.may_travel`: at
or below ``notifications.max_tlp``, never RED or AMBER+STRICT) carries its
content: the item's name, a few words of it, who did it. Above that, only
that something needs attention, the crisis's severity, the TLP and the link:
no name, no description, nothing of the crisis's own words. Several notices
for one recipient within the digest window become one digest.

Each message is written in its recipient's language (a :class:`~hub.i18n.Translator`)
with its time in the hub's time zone; what a TLP allows is the same in every
language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from hub.crisis.wording import parse_time, severity_name
from hub.i18n import Translator
from hub.notify import Format
from hub.notify.triggers import Notice
from hub.policy import may_travel
from hub.tlp import TLP

PREFIX: Final = "[Crisis Hub] "
"""What every subject opens with: the product's name, in every language."""
STAMP: Final = "d MMM y HH:mm"
"""How a notification gives its time: with the date, since it may be read long after."""


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


def what(kind: str, tr: Translator) -> str:
    """A kind of notice as a subject names it: "Crisis declared", "Crisis declarada"."""
    words = {
        "crisis-declared": tr("Crisis declared"),
        "crisis-raised": tr("Crisis raised"),
        "action-assigned": tr("Action item assigned to you"),
        "action-overdue": tr("Action item overdue"),
        "ack-requested": tr("Sitrep to acknowledge"),
    }
    return words.get(kind) or tr("Needs your attention")


def render(notice: Notice, public_url: str, max_tlp: TLP, time_zone: str, tr: Translator) -> Message:
    """The message for ``notice`` in ``tr``'s language: its content where its TLP may travel, else only what
    needs attention. Times are in ``time_zone`` (the hub's)."""
    url = link(public_url, notice)
    kind = what(notice.kind, tr)
    exercise = tr("EXERCISE · ") if notice.exercise else ""
    name = severity_name(notice.severity, tr)
    severity = tr("severity {level} ({name})", level=notice.severity.level, name=name)
    stored = datetime.fromtimestamp(int(notice.event_id.split("-")[0]) / 1000, UTC)
    stamp = tr.moment(stored, time_zone, STAMP)
    if not may_travel(notice.tlp, max_tlp):
        text = "\n".join([
            exercise + tr("Something in the situation room needs your attention: {what}, {severity}.",
                          what=kind[:1].lower() + kind[1:], severity=severity),
            tr("It is marked {tlp}, which this hub does not send by e-mail or webhook: open it in the situation room.",
               tlp=notice.tlp.label),
            "", url, "", stamp,
        ])  # fmt: skip
        return Message(f"{PREFIX}{exercise}{kind}: {severity} · {notice.tlp.label}", text, url, False)
    lines = [f"{exercise}{kind}: {notice.title}"]
    if notice.kind not in ("crisis-declared", "crisis-raised"):
        lines.append(tr("Crisis: {name}, {severity}", name=notice.crisis_name, severity=severity))
    else:
        lines.append(tr("Severity: {level} ({name})", level=notice.severity.level, name=name))
    if notice.raised_from is not None:
        lines.append(tr("Raised from severity {before} to {after}.", before=notice.raised_from,
                        after=notice.severity.level))  # fmt: skip
    if notice.due:
        due = parse_time(notice.due)
        at = tr.moment(due, time_zone, STAMP) if due is not None else notice.due
        lines.append(tr("Was due {when}.", when=at) if notice.kind == "action-overdue" else tr("Due {when}.", when=at))
    if notice.detail:
        lines.append(notice.detail)
    by = notice.by or tr("the hub")
    lines += [tr("By {who}, {when}. Marked {tlp}.", who=by, when=stamp, tlp=notice.tlp.label), "", url]
    subject = f"{PREFIX}{exercise}{kind}: {notice.title}"
    return Message(subject if len(subject) <= 160 else subject[:159] + "…", "\n".join(lines), url, True)


def digest(messages: Sequence[Message], public_url: str, tr: Translator) -> Message:
    """Several messages for one recipient as one, in their language: their subjects, then each in full."""
    if len(messages) == 1:
        return messages[0]
    n = len(messages)
    parts = [
        tr.plural("{n} thing in the situation room needs your attention:",
                  "{n} things in the situation room need your attention:", n),
        "",
    ]  # fmt: skip
    parts += [f"- {m.subject.removeprefix(PREFIX)}" for m in messages]
    for m in messages:
        parts += ["", "—" * 20, m.text]
    subject = PREFIX + tr.plural("{n} thing needs your attention", "{n} things need your attention", n)
    return Message(subject, "\n".join(parts), public_url, all(m.full for m in messages))


def _slack_text(text: str) -> str:
    """Text as Slack shows it literally: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mattermost_text(text: str) -> str:
    """Text that pings nobody: Mattermost's channel-wide mentions broken by a zero-width space."""
    for mention in ("@channel", "@all", "@here"):
        text = text.replace(mention, f"@\u200b{mention[1:]}")
    return text


def webhook_payload(
    form: Format, message: Message, kinds: Sequence[str], severity: int, tr: Translator
) -> dict[str, Any]:
    """What a webhook of ``form`` gets: the hub's JSON, or what Slack, Mattermost or Teams take."""
    title = message.subject.removeprefix(PREFIX)
    if form == "slack":
        # Institutions' words are text, not Slack markup: no <!channel> ping, no <url|disguised link>.
        return {"text": f"*{_slack_text(title)}*\n{_slack_text(message.text)}", "unfurl_links": False}
    if form == "mattermost":
        text = _mattermost_text(f"#### {title}\n{message.text}")
        return {"text": text, "username": "Crisis Hub"}
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
                    "name": tr("Open the situation room"),
                    "targets": [{"os": "default", "uri": message.link}],
                }
            ],
        }
    return {"title": title, "text": message.text, "link": message.link, "kinds": list(kinds), "severity": severity,
            "content": message.full}  # fmt: skip
