"""How the crisis workflow speaks to people: times as a listener hears them, stakeholders by name. Pure.

A briefing names stakeholders by their display names (the config's ``name``,
passed in by the caller: this module does no I/O) and gives times as a
listener hears them: "17:10 UTC (6 min ago)". Relative times belong only in
renderings made at read time, like a sitrep briefing; what is stored (an
escalation note, say) uses :func:`full_time`, which says the same thing
whenever it is read and so keeps idempotent writes byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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


def acted_by(stakeholder: str, person: str | None, names: Mapping[str, str]) -> str:
    """``Luis Herrera (Central Bank)`` when a person acted for the stakeholder, else the stakeholder's name."""
    name = display_name(stakeholder, names)
    return f"{person} ({name})" if person else name
