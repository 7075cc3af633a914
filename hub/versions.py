"""Which stored version of an object is the newest: one ranking for every reader.

Pure: no I/O.

STIX 2.1 orders the versions of an object by ``modified`` (``created`` for an
object that was never modified, nothing at all for an SCO). The hub compares
timestamps by instant, whatever their number of fraction digits
(:func:`hub.events.version_key`), and an unversioned object ranks below every
timestamp.

A channel stores each version string once, but ``…:48.000Z`` and
``…:48.000000Z`` are two strings for one instant, and one version may be
stored in several channels: two stored copies of the same version. **Of two
copies, the one stored first (the lower event id) stands for the version**:
it is the newest when that version is the newest, the oldest when it is the
oldest. Why:

* Every reader must name the same event for "the newest version" (TAXII's
  ``match[version]=last``, the objects API, the crisis workflow), including
  after a delete: they all rank the store's index of an object's versions
  with :func:`newest_id`, so a later copy of the same instant never displaces
  the first.
* A re-post of a version already known does not take over the object, nor
  its authorship: what readers were shown stays what they are shown.

:func:`order` lists versions oldest first, and copies of one version in the
order they were stored; so the list starts with :func:`oldest`, and it ends
with :func:`newest` unless the newest version has several copies. For lists
of something that holds an event: :func:`history_rank` is the sort key of
:func:`order`, and the greatest :func:`version_rank` is the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.events import Event, id_key, version_key

UNVERSIONED = "0"
"""The order key of an object without a version (an SCO): below every timestamp."""


def version_of(obj: Mapping[str, Any]) -> str:
    """The version STIX gives an object: its ``modified``, else its ``created``, else none ("")."""
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return ""


def order_key(version: str) -> str:
    """The order of a ``modified`` value as text, the key the store's Lua scripts compare.

    Equal for two spellings of one instant; greater for a later instant.
    """
    return version_key(version) or UNVERSIONED


def version_rank(event: Event) -> tuple[str, int, int]:
    """How new a stored version is: greater is newer; of two copies of one version, the first stored."""
    return _rank(event.version, event.id)


def _rank(version: str, event_id: str) -> tuple[str, int, int]:
    ms, seq = id_key(event_id)
    return order_key(version), -ms, -seq


def history_rank(event: Event) -> tuple[str, int, int]:
    """The place of a stored version in its object's history: by version, and copies as they were stored."""
    ms, seq = id_key(event.id)
    return order_key(event.version), ms, seq


def newest(events: Iterable[Event]) -> Event | None:
    """The newest of ``events``: the greatest version, and of its copies the first stored; None if none."""
    return max(events, key=version_rank, default=None)


def newest_id(versions: Mapping[str, str]) -> str | None:
    """Of an object's stored versions (version → event id), the event id of the newest; None if none.

    The same ranking as :func:`newest`, without reading the events.
    """
    newest = max(versions.items(), key=lambda pair: _rank(*pair), default=None)
    return newest[1] if newest is not None else None


def oldest(events: Iterable[Event]) -> Event | None:
    """The oldest of ``events``: the least version, and of its copies the first stored; None if none."""
    return min(events, key=history_rank, default=None)


def order(events: Iterable[Event]) -> list[Event]:
    """``events`` oldest version first, copies of one version in the order they were stored."""
    return sorted(events, key=history_rank)
