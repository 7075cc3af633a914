"""Events: the entries of a channel, and how they are encoded.

Pure: no I/O. An event's id is its Redis Stream entry id (``<ms>-<seq>``):
its position in the channel, and its time (the milliseconds part) — so the
event time, TAXII's ``date_added`` and the resume point are one value.

The STIX object is kept as the bytes it was serialised to at ingest and is
spliced into the envelope as is (``orjson.Fragment``): it is never decoded
and re-encoded on the way out. How an event is stored in a Redis Stream
entry is :mod:`hub.store.entries`'.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from hub.errors import BadRequest
from hub.tlp import TLP

MAX_SEQUENCE: Final = 2**64 - 1  # Redis Stream ids are two unsigned 64-bit numbers
_EVENT_ID = re.compile(r"\A([0-9]{1,15})-([0-9]{1,20})\Z")


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a channel."""

    id: str
    channel: str
    source: str
    tlp: TLP
    type: str
    stix_id: str
    version: str
    raw: bytes
    person: str = ""
    """The id of the person who acted for ``source``; "" when none did (a token, a connector, the hub)."""
    person_name: str = ""
    """Their display name when they acted."""

    @property
    def millis(self) -> int:
        return int(self.id.split("-", 1)[0])

    @property
    def time(self) -> str:
        return iso_millis(self.millis)

    def envelope(self) -> dict[str, Any]:
        """The event as the API shows it, the object left as raw JSON; ``person`` only when one acted."""
        out: dict[str, Any] = {
            "id": self.id,
            "channel": self.channel,
            "time": self.time,
            "source": self.source,
            "tlp": self.tlp.token,
            "type": self.type,
            "object": orjson.Fragment(self.raw),
        }
        if self.person:
            out["person"] = {"id": self.person, "name": self.person_name}
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.envelope())


def id_key(event_id: str) -> tuple[int, int]:
    """Event ids compare as (milliseconds, sequence), not as text: ``9-0`` is before ``10-0``."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def iso_millis(millis: int) -> str:
    """``2026-11-27T09:17:39.123Z`` for a Unix time in milliseconds."""
    seconds, fraction = divmod(millis, 1000)
    return f"{_iso_second(seconds)}.{fraction:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    # Events come in bursts within a second; formatting a datetime was 3 % of ingest.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def is_event_id(text: str) -> bool:
    """Whether ``text`` is an event id, ``<ms>-<seq>`` in ASCII digits, each part a number Redis accepts."""
    match = _EVENT_ID.match(text)
    return match is not None and int(match.group(2)) <= MAX_SEQUENCE


def parse_event_id(text: str, name: str = "after") -> str:
    """Check a client-supplied event id (``<ms>-<seq>``, or ``0``); raise BadRequest naming ``name``."""
    if text == "0":
        return "0-0"
    if not is_event_id(text):
        raise BadRequest(f"{name} must be an event id like 1732700000000-0, got {text[:40]!r}")
    return text


def version_key(version: str) -> str:
    """A sort key for STIX timestamps that ignores how many fraction digits they carry.

    ``2016-04-06T20:03:48Z`` and ``2016-04-06T20:03:48.000Z`` are the same
    instant; compared as text they would not be.
    """
    if not version:
        return ""
    stamp = version.rstrip("Zz")
    whole, _, fraction = stamp.partition(".")
    return f"{whole}.{fraction:0<9}"
