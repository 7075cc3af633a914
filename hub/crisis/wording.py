"""How the crisis workflow speaks to people: times as a listener hears them, stakeholders by name. Pure.

A briefing names stakeholders by their display names (the config's ``name``,
passed in by the caller: this module does no I/O) and gives times as a
listener hears them, in the reader's language and the hub's time zone:
"11:10 CST (6 min ago)", "11:10 CST (hace 6 min)". Relative times belong only
in renderings made at read time, like a sitrep briefing; what is stored (an
escalation note, say) uses :func:`full_time`, which says the same thing
whenever it is read and so keeps idempotent writes byte-identical.

The words of the hub's scales — the default NCISS severity names, crisis,
action item and plan statuses — are translated here, once, for every
rendering; a code this module does not know is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from hub.crisis.taxonomy import NCISS, SeverityLevel
from hub.i18n import Translator

DAYS_FROM: Final = 2 * 86400
"""From how far (seconds) a relative time is counted in days."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def one_line(text: Any) -> str:
    """``text`` on one line, its runs of white space (newlines included) made single spaces."""
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
    """``17:10 UTC on 27 Nov 2026``: an absolute time that reads the same whenever it is read.

    For what the hub stores (an escalation note): in English and UTC, whatever the reader's language and the
    hub's time zone, so that two processes writing it write the same bytes.
    """
    moment = parse_time(stamp)
    if moment is None:
        return stamp
    return f"{moment:%H:%M} UTC on {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def clock(stamp: str, now: datetime, tr: Translator, zone: str, *, seconds: bool = False) -> str:
    """``11:10 CST`` in the hub's time zone, with the day when it is not today's there and the year when it is
    not this one: ``26 Nov 09:00 CST``, ``2 ene 2025 03:04 CST``; to the second with ``seconds``."""
    moment = parse_time(stamp)
    if moment is None:
        return stamp
    tz = ZoneInfo(zone)
    local, today = moment.astimezone(tz), now.astimezone(tz)
    time = "HH:mm:ss" if seconds else "HH:mm"
    if local.date() == today.date():
        pattern = time
    elif local.year == today.year:
        pattern = f"d MMM {time}"
    else:
        pattern = f"d MMM y {time}"
    return tr.moment(moment, zone, pattern)


def relative(stamp: str, now: datetime, tr: Translator) -> str:
    """``6 min. ago``, ``in 2 hr.``, ``hace 6 min``, ``12 days ago``: how far ``stamp`` is from ``now``.

    Beyond two days in days, however many: an item overdue since January is "334 days ago", never a
    rounded "11 mo. ago" that hides how long it has waited.
    """
    moment = parse_time(stamp)
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    if abs(seconds) < DAYS_FROM:
        return tr.relative(seconds)
    days = int(abs(seconds) // 86400)
    if seconds < 0:
        return tr.plural("{n} day ago", "{n} days ago", days)
    return tr.plural("in {n} day", "in {n} days", days)


def when(stamp: str, now: datetime, tr: Translator, zone: str) -> str:
    """``11:10 CST (6 min. ago)``, ``11:10 CST (hace 6 min)``."""
    around = relative(stamp, now, tr)
    at = clock(stamp, now, tr, zone)
    return f"{at} ({around})" if around else at


def display_name(stakeholder: str, names: Mapping[str, str]) -> str:
    """The display name of a stakeholder id (the id itself if the config does not know it)."""
    return names.get(stakeholder) or stakeholder


def acted_by(stakeholder: str, person: str | None, names: Mapping[str, str]) -> str:
    """``Luis Herrera (Central Bank)`` when a person acted for the stakeholder, else the stakeholder's name."""
    name = display_name(stakeholder, names)
    return f"{person} ({name})" if person else name


# the words of the scales -------------------------------------------------------------------
def severity_name(severity: SeverityLevel, tr: Translator) -> str:
    """A level's name: the default NCISS scale's in the reader's language, a configured scale's as configured."""
    default = NCISS[severity.level] if 0 <= severity.level < len(NCISS) else None
    if default is None or severity.name != default.name:
        return severity.name
    names = (tr("Baseline"), tr("Low"), tr("Medium"), tr("High"), tr("Severe"), tr("Emergency"))
    return names[severity.level]


def status_name(status: str, tr: Translator) -> str:
    """A crisis's status, an action item's, a plan run's or a plan step's state, as people read it."""
    words = {
        # a crisis
        "detected": tr("detected"),
        "assessing": tr("assessing"),
        "containing": tr("containing"),
        "recovering": tr("recovering"),
        "closed": tr("closed"),
        # an action item, a plan run
        "assigned": tr("assigned"),
        "accepted": tr("accepted"),
        "in-progress": tr("in-progress"),
        "completed": tr("completed"),
        "failed": tr("failed"),
        "cancelled": tr("cancelled"),
        "running": tr("running"),
        # a plan step
        "delayed": tr("delayed"),
        "timed-out": tr("timed-out"),
        "skipped": tr("skipped"),
    }
    return words.get(status, status)


def crisis_label(name: Any, level: Any, status: str, tr: Translator) -> str:
    """A crisis version as an item to acknowledge: ``Grid ransomware (severity 4, containing)``."""
    return tr("{name} (severity {level}, {status})", name=one_line(name), level=level,
              status=status_name(status, tr))  # fmt: skip
