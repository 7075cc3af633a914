"""Which stored version is the newest: one ranking (hub.versions). Pure: no loop, no Redis."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.events import Event
from hub.tlp import TLP
from hub.versions import history_rank, newest, oldest, order, order_key, version_rank

SID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def stored(event_id: str, version: str, channel: str = "ops") -> Event:
    return Event(event_id, channel, "cert", TLP.GREEN, "indicator", SID, version, b"{}")


def test_a_later_modified_is_newer_whenever_it_was_stored() -> None:
    older = stored("9-0", "2026-11-27T10:00:00Z")
    later = stored("1-0", "2026-11-27T10:00:00.5Z")
    assert version_rank(later) > version_rank(older)
    assert newest([older, later]) is later
    assert oldest([later, older]) is older


def test_timestamps_compare_by_instant_whatever_their_fraction_digits() -> None:
    assert order_key("2026-11-27T10:00:00Z") == order_key("2026-11-27T10:00:00.000Z")
    assert order_key("2026-11-27T10:00:00.5Z") > order_key("2026-11-27T10:00:00.123Z")


def test_an_unversioned_object_ranks_below_every_timestamp_as_the_store_does() -> None:
    assert order_key("") == "0"
    assert order_key("") < order_key("1970-01-01T00:00:00Z")


def test_of_two_copies_of_one_version_the_first_stored_stands_for_it() -> None:
    first = stored("5-0", "2026-11-27T10:00:00Z")
    again = stored("6-0", "2026-11-27T10:00:00.000Z")
    for events in ([first, again], [again, first]):
        assert newest(events) is first
        assert oldest(events) is first
        assert order(events) == [first, again]
    assert version_rank(first) > version_rank(again)


def test_a_history_lists_versions_oldest_first_and_copies_as_they_were_stored() -> None:
    old = stored("1-0", "2026-11-26T00:00:00.000Z")
    old_again = stored("9-0", "2026-11-26T00:00:00.000000Z")
    new = stored("2-0", "2026-11-27T00:00:00.000Z")
    new_again = stored("3-0", "2026-11-27T00:00:00Z")
    assert order([new_again, old_again, new, old]) == [old, old_again, new, new_again]
    assert oldest([new_again, old_again, new, old]) is old
    assert newest([new_again, old_again, new, old]) is new


def test_event_ids_compare_as_numbers_not_as_text() -> None:
    early = stored("9-0", "2026-11-27T10:00:00Z")
    late = stored("10-0", "2026-11-27T10:00:00Z")
    assert newest([late, early]) is early
    same_ms_early = stored("7-9", "2026-11-27T10:00:00Z")
    same_ms_late = stored("7-10", "2026-11-27T10:00:00Z")
    assert newest([same_ms_late, same_ms_early]) is same_ms_early


def test_copies_in_several_channels_rank_by_when_each_was_stored() -> None:
    here = stored("20-0", "2026-11-27T10:00:00Z", "ops")
    there = stored("10-0", "2026-11-27T10:00:00Z", "committee")
    assert newest([here, there]) is there


def test_nothing_has_no_newest_and_no_oldest() -> None:
    assert newest([]) is None
    assert oldest([]) is None
    assert order([]) == []


# The machine running the tests may be busy: no deadline per example.
untimed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_versions = st.sampled_from(
    ["", "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00.5Z", "2026-11-28T00:00:00.12Z"]
)
_stored = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 3), _versions), min_size=1, max_size=12, unique_by=lambda t: t[:2]
).map(lambda rows: [stored(f"{ms}-{seq}", version) for ms, seq, version in rows])


def first_stored(events: list[Event]) -> Event:
    return min(events, key=lambda e: tuple(map(int, e.id.split("-"))))


@untimed
@given(_stored)
def test_the_ends_of_the_history_are_the_first_stored_copies_of_the_oldest_and_newest(events: list[Event]) -> None:
    ranked = order(events)
    assert order(reversed(events)) == ranked
    assert ranked[0] is oldest(events)
    keys = [order_key(e.version) for e in ranked]
    assert keys == sorted(keys)
    assert oldest(events) is first_stored([e for e in events if order_key(e.version) == keys[0]])
    assert newest(events) is first_stored([e for e in events if order_key(e.version) == keys[-1]])
    assert newest(events) is max(events, key=version_rank)
    assert ranked == sorted(events, key=history_rank)


@untimed
@given(_stored)
def test_the_newest_is_what_the_store_keeps_as_latest_appending_in_id_order(events: list[Event]) -> None:
    """The append script's rule: move "latest" only to a strictly greater version order key."""
    latest: Event | None = None
    for event in sorted(events, key=lambda e: tuple(map(int, e.id.split("-")))):
        if latest is None or order_key(latest.version) < order_key(event.version):
            latest = event
    assert newest(events) is latest
