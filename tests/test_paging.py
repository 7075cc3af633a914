"""One page of a channel read through a decision (hub.paging). Pure: no loop, no Redis.

The channel is a list of events here; :func:`read` answers as the store does
(up to ``count`` events strictly after an id).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.events import Event
from hub.paging import MIN_BATCH, Page, PageScan, scan_budget, take
from hub.tlp import TLP


def channel(*visible: bool) -> list[Event]:
    """One event per flag, ids ``1-0``, ``2-0``…; a visible event is GREEN, a hidden one RED."""
    return [
        Event(f"{n}-0", "ops", "cert", TLP.GREEN if v else TLP.RED, "note", f"note--{n}", "", b"{}")
        for n, v in enumerate(visible, 1)
    ]


def visible(event: Event) -> bool:
    return event.tlp is TLP.GREEN


def read(events: list[Event], after: str, count: int) -> list[Event]:
    ms = int(after.split("-")[0])
    return [e for e in events if e.millis > ms][:count]


def page_of(events: list[Event], limit: int, *, look_ahead: bool = False, after: str = "0-0") -> Page:
    """The page :class:`PageScan` answers over ``events``, read as the hub reads a channel."""
    scan = PageScan(limit, look_ahead=look_ahead)
    while True:
        want = scan.want
        batch = read(events, scan.after or after, want)
        page = scan.feed(batch, visible, end=len(batch) < want)
        if page is not None:
            return page


def ids(page: Page) -> list[str]:
    return [e.id for e in page.events]


# take ------------------------------------------------------------------------------------------------


def test_take_keeps_what_the_decision_accepts_in_order() -> None:
    taken = take(channel(True, False, True), visible)
    assert ([e.id for e in taken.events], taken.examined) == (["1-0", "3-0"], 3)


def test_take_stops_examining_once_the_room_is_full() -> None:
    taken = take(channel(True, False, True, True), visible, room=2)
    assert ([e.id for e in taken.events], taken.examined) == (["1-0", "3-0"], 3)


def test_take_of_nothing_examines_nothing() -> None:
    assert take([], visible) == take([], visible, room=5)
    assert take([], visible).examined == 0


# plain pages (the events API) --------------------------------------------------------------------------


def test_a_read_that_reaches_the_end_says_no_more() -> None:
    page = page_of(channel(True, False, True), 10)
    assert (ids(page), page.more, page.after) == (["1-0", "3-0"], False, None)


def test_a_page_full_before_the_end_goes_on_after_its_last_event() -> None:
    page = page_of(channel(True, True, False, True), 2)
    assert (ids(page), page.more, page.after, page.scanned) == (["1-0", "2-0"], True, "2-0", 2)


def test_a_page_full_on_the_last_event_of_a_final_read_says_no_more() -> None:
    page = page_of(channel(False, True, True), 2)
    assert (ids(page), page.more, page.after) == (["2-0", "3-0"], False, None)


def test_a_page_full_on_the_last_event_of_a_whole_read_says_more_though_nothing_follows() -> None:
    """Without looking ahead the read cannot tell: the next page is empty."""
    page = page_of(channel(*[True] * MIN_BATCH), MIN_BATCH)
    assert (page.more, page.after) == (True, f"{MIN_BATCH}-0")


def test_the_scan_budget_cuts_a_page_of_hidden_events_after_the_last_examined() -> None:
    events = channel(True, *[False] * 2000, True)
    page = page_of(events, 2)
    # Reads of a whole batch each, until at least scan_budget(2) = 1020 events were examined.
    assert scan_budget(2) == 1020
    assert (ids(page), page.more, page.after, page.scanned) == (["1-0"], True, "1100-0", 1100)


def test_a_page_goes_on_from_where_the_last_one_stopped() -> None:
    events = channel(True, *[False] * 2000, True)
    first = page_of(events, 2)
    assert first.after is not None
    second = page_of(events, 2, after=first.after)
    assert (ids(second), second.more) == (["2002-0"], False)


def test_each_read_asks_for_what_the_page_still_needs_but_never_fewer_than_a_batch() -> None:
    scan = PageScan(300)
    assert scan.want == 300
    scan.feed(channel(*[True] * 300)[:250], visible, end=False)
    assert scan.want == MIN_BATCH


def test_a_decided_page_takes_no_more_batches() -> None:
    scan = PageScan(1)
    assert scan.feed(channel(True), visible, end=True) is not None
    with pytest.raises(RuntimeError):
        scan.feed(channel(True), visible, end=True)


def test_a_page_holds_at_least_one_event() -> None:
    with pytest.raises(ValueError):
        PageScan(0)


# looking ahead (TAXII) ---------------------------------------------------------------------------------


def test_looking_ahead_a_full_page_says_more_only_if_an_event_follows() -> None:
    assert page_of(channel(True, True), 2, look_ahead=True).more is False
    page = page_of(channel(True, True, False, True), 2, look_ahead=True)
    assert (ids(page), page.more, page.after) == (["1-0", "2-0"], True, "2-0")


def test_looking_ahead_asks_for_one_event_more() -> None:
    assert PageScan(500, look_ahead=True).want == 501


def test_a_read_by_ids_goes_on_after_what_it_examined_not_after_what_it_found() -> None:
    scan = PageScan(1, look_ahead=True, budget=1)
    assert scan.feed([], visible, end=False, examined_to="7-0") is None
    assert scan.after == "7-0"
    page = scan.feed(channel(False), visible, end=False, examined_to="9-0")
    assert page == Page([], True, "9-0", 1)


# the loops this replaced --------------------------------------------------------------------------------


def api_loop_before(events: list[Event], limit: int) -> tuple[list[str], bool, str, int]:
    """The events API's own loop, as it was: page ids, more, the cursor it stopped at, events scanned."""
    kept: list[str] = []
    cursor, budget, scanned = "0-0", 10 * limit + 1000, 0
    while True:
        want = max(limit - len(kept), 100)
        batch = read(events, cursor, want)
        consumed = 0
        for event in batch:
            consumed += 1
            cursor = event.id
            if visible(event):
                kept.append(event.id)
                if len(kept) == limit:
                    break
        scanned += consumed
        if consumed < len(batch):
            return kept, True, cursor, scanned
        if len(batch) < want:
            return kept, False, cursor, scanned
        if len(kept) == limit or scanned >= budget:
            return kept, True, cursor, scanned


def taxii_loop_before(events: list[Event], limit: int) -> tuple[list[str], bool, str | None]:
    """TAXII's own loop, as it was: page ids, more, the position the next page starts after."""
    kept: list[str] = []
    start, examined, budget = 0, 0, 10 * limit + 1000
    while True:
        count = max(limit + 1 - len(kept), 100)
        batch = [e for e in events if e.millis >= start][:count]
        for event in batch:
            if visible(event):
                kept.append(event.id)
                if len(kept) > limit:
                    return kept[:limit], True, kept[limit - 1]
        examined += len(batch)
        if len(batch) < count or not batch:
            return kept, False, None
        if examined >= budget:
            return kept, True, batch[-1].id
        start = batch[-1].millis + 1


# The machine running the tests may be busy: no deadline per example.
untimed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Runs of visible and of hidden events, some long enough to exhaust a scan budget.
_runs = st.lists(st.tuples(st.booleans(), st.integers(1, 700)), max_size=6)
_channels = _runs.map(lambda runs: channel(*(flag for flag, length in runs for _ in range(length))))
_limits = st.integers(1, 120)


@untimed
@given(_channels, _limits)
def test_the_events_api_pages_as_its_own_loop_did(events: list[Event], limit: int) -> None:
    kept, more, cursor, scanned = api_loop_before(events, limit)
    page = page_of(events, limit)
    assert (ids(page), page.more, page.scanned) == (kept, more, scanned)
    assert page.after == (cursor if more else None)


@untimed
@given(_channels, _limits)
def test_taxii_pages_as_its_own_loop_did(events: list[Event], limit: int) -> None:
    page = page_of(events, limit, look_ahead=True)
    assert (ids(page), page.more, page.after) == taxii_loop_before(events, limit)
