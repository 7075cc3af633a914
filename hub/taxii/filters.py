"""TAXII 2.1 filtering: ``added_after`` and ``match[<field>]`` parameters, parsed and applied.

Pure: no aiohttp, redis or asyncio import.

The rules (TAXII 2.1, filtering): each ``match[<field>]`` may appear once;
its value is a comma-separated list whose items are ORed; different fields
are ANDed. ``match[version]`` takes ``first``, ``last``, ``all`` or STIX
timestamps; each endpoint has its own default (``last`` when reading objects,
every version when listing versions or deleting). ``added_after`` keeps what
was added strictly after a timestamp.

A ``match`` field an endpoint does not support is refused (400) rather than
ignored: answering an unfiltered query as if it were filtered would mislead
the client.

Which version is an object's "first" or "last" is decided among the versions
the reader may see, in the order :func:`hub.versions.version_rank` defines: by ``modified``
(whatever its number of fraction digits), and between two versions with the
same timestamp, the one stored first — the rule the store's Lua append uses
for its per-channel "latest" hash, so that both always agree.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from hub.errors import BadRequest
from hub.events import Event
from hub.versions import order_key

SPEC_VERSION: Final = "2.1"
"""Every object the hub stores was validated as STIX 2.1 (SCOs without ``spec_version`` included)."""

ADDED_AFTER: Final = "added_after"
MATCH_ID: Final = "match[id]"
MATCH_TYPE: Final = "match[type]"
MATCH_VERSION: Final = "match[version]"
MATCH_SPEC_VERSION: Final = "match[spec_version]"
_PAGING: Final = frozenset({"limit", "next"})
_TAXII_MATCH_FIELDS: Final = frozenset({MATCH_ID, MATCH_TYPE, MATCH_VERSION, MATCH_SPEC_VERSION})

OBJECTS_FILTERS: Final = frozenset({ADDED_AFTER, MATCH_ID, MATCH_TYPE, MATCH_VERSION, MATCH_SPEC_VERSION})
"""Get Objects and Get Object Manifests."""
OBJECT_FILTERS: Final = frozenset({ADDED_AFTER, MATCH_VERSION, MATCH_SPEC_VERSION})
"""Get An Object."""
VERSIONS_FILTERS: Final = frozenset({ADDED_AFTER, MATCH_SPEC_VERSION})
"""Get Object Versions."""
DELETE_FILTERS: Final = frozenset({MATCH_VERSION, MATCH_SPEC_VERSION})
"""Delete An Object."""

_TIMESTAMP: Final = re.compile(r"\A(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z\Z", re.ASCII)


@dataclass(frozen=True, slots=True)
class VersionMatch:
    """A ``match[version]`` value: which versions of each object to keep (ORed)."""

    first: bool = False
    last: bool = False
    all: bool = False
    stamps: frozenset[str] = frozenset()
    """Order keys (see :func:`order_key`) of the timestamps asked for."""

    def matches_stamp(self, version: str) -> bool:
        """Whether ``version`` (as reported, see :func:`reported_version`) is one of the timestamps asked for."""
        return bool(self.stamps) and order_key(version) in self.stamps

    @property
    def needs_ranking(self) -> bool:
        """Whether keeping a version depends on the object's other versions."""
        return not self.all and (self.first or self.last)


LAST: Final = VersionMatch(last=True)
ALL: Final = VersionMatch(all=True)


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of one request."""

    ids: frozenset[str] | None = None
    types: frozenset[str] | None = None
    versions: VersionMatch = field(default=LAST)
    spec_versions: frozenset[str] | None = None
    added_after_ms: int | None = None
    """``added_after`` in whole milliseconds, rounded down (entries carry millisecond times)."""

    def matches(self, stix_id: str, stix_type: str) -> bool:
        """Whether an object passes the filters that do not depend on its versions."""
        if self.ids is not None and stix_id not in self.ids:
            return False
        if self.types is not None and stix_type not in self.types:
            return False
        return self.spec_versions is None or SPEC_VERSION in self.spec_versions

    def with_ids(self, ids: Iterable[str]) -> Query:
        """The same query restricted to ``ids`` (an object's own endpoints)."""
        return replace(self, ids=frozenset(ids))


def parse_query(params: Iterable[tuple[str, str]], allowed: frozenset[str], versions: VersionMatch = LAST) -> Query:
    """Read the filter parameters of a request; ``versions`` is the endpoint's default ``match[version]``.

    Raises BadRequest naming the parameter at fault: a repeated parameter, an
    empty list item, a bad timestamp, a ``match`` field this endpoint does not
    support. Parameters that are not filters are left to the caller.
    """
    seen: dict[str, str] = {}
    for key, value in params:
        if key.startswith("match[") and key.endswith("]"):
            if key not in allowed:
                where = "on this endpoint" if key in _TAXII_MATCH_FIELDS else "on this server"
                raise BadRequest(f"{_short(key)} is not a supported filter {where}")
        elif key not in allowed and key not in _PAGING:
            continue  # not a filter of this endpoint: ignored, as HTTP does unknown parameters
        if key in seen:
            raise BadRequest(f"{_short(key)} may appear only once (separate several values with commas)")
        seen[key] = value
    added_after = seen.get(ADDED_AFTER)
    return Query(
        ids=_values(seen, MATCH_ID),
        types=_values(seen, MATCH_TYPE),
        versions=_version_match(seen[MATCH_VERSION]) if MATCH_VERSION in seen else versions,
        spec_versions=_values(seen, MATCH_SPEC_VERSION),
        added_after_ms=None if added_after is None else timestamp_millis(added_after, ADDED_AFTER),
    )


def _values(seen: dict[str, str], key: str) -> frozenset[str] | None:
    if key not in seen:
        return None
    items = seen[key].split(",")
    if any(not item for item in items):
        raise BadRequest(f"{key} must be a comma-separated list of values without empty items")
    return frozenset(items)


def _version_match(text: str) -> VersionMatch:
    items = text.split(",")
    keywords = {item for item in items if item in ("first", "last", "all")}
    stamps: set[str] = set()
    for item in items:
        if item not in keywords:
            timestamp_millis(item, MATCH_VERSION)  # validates the timestamp
            stamps.add(order_key(item))
    return VersionMatch("first" in keywords, "last" in keywords, "all" in keywords, frozenset(stamps))


def timestamp_millis(text: str, name: str) -> int:
    """The STIX timestamp ``text`` (``2026-11-27T10:00:00.123456Z``) in Unix milliseconds, rounded down."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise BadRequest(f"{name} must be a timestamp like 2026-11-27T10:00:00.000Z, got {_short(text)!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name} is not a valid date and time: {_short(text)!r}") from None
    fraction = (match.group(7) or "")[:3].ljust(3, "0")
    return calendar.timegm(moment.utctimetuple()) * 1000 + int(fraction)


def reported_version(version: str, date_added: str) -> str:
    """The version TAXII reports for an object: ``modified``, else ``created``, else its ``date_added``."""
    return version or date_added


def event_version(event: Event) -> str:
    """:func:`reported_version` of a stored event; its time is formatted only when it has no version."""
    return event.version or event.time


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"
