"""Which stored version of an object is the newest: one ranking for every reader.

Pure: no I/O.

STIX 2.1 orders the versions of an object by ``modified`` (``created`` for an
object that was never modified, nothing at all for an SCO). The hub compares
timestamps by instant, whatever their number of fraction digits
(:func:`hub.events.version_key`), and an unversioned object ranks below every
timestamp.

A channel stores each version string once, but ``…:48Z`` and ``…:48.000Z`` are
two strings for one instant, and one version may be stored in several
channels: two stored copies of the same version. **Of two copies, the one
stored first (the lower event id) ranks as the newer.** Why:

* The store's append script keeps, per channel, a "latest" index that moves
  only to a strictly greater version (``hub.store``: its "version order"
  argument is :func:`order_key`); a later copy of the same instant never
  displaces the first, and TAXII's delete script elects the replacement the
  same way. Readers that rank in Python must name the event that index names.
* A re-post of a version already known does not take over the object: what
  readers were shown as the newest stays the newest.

:func:`version_rank` is a total order, so an object's versions listed by
:func:`order` begin with :func:`oldest` and end with :func:`newest` — TAXII's
``first`` and ``last`` are the two ends of its versions list.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.events import Event, id_key, version_key

UNVERSIONED = "0"
"""The order key of an object without a version (an SCO): below every timestamp."""


def order_key(version: str) -> str:
    """The order of a ``modified`` value as text, the key the store's Lua scripts compare.

    Equal for two spellings of one instant; greater for a later instant.
    """
    return version_key(version) or UNVERSIONED


def version_rank(event: Event) -> tuple[str, int, int]:
    """The sort key of a stored version: greater is newer; of two copies of one version, the first stored."""
    ms, seq = id_key(event.id)
    return order_key(event.version), -ms, -seq


def newest(events: Iterable[Event]) -> Event | None:
    """The newest of ``events`` by :func:`version_rank`; None if there are none."""
    return max(events, key=version_rank, default=None)


def oldest(events: Iterable[Event]) -> Event | None:
    """The oldest of ``events`` by :func:`version_rank`; None if there are none."""
    return min(events, key=version_rank, default=None)


def order(events: Iterable[Event]) -> list[Event]:
    """``events`` oldest first by :func:`version_rank`: the first is :func:`oldest`, the last :func:`newest`."""
    return sorted(events, key=version_rank)
