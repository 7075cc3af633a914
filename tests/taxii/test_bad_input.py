"""TAXII parameters that become stream positions: before 1970, malformed, out of range; and what ``next`` reveals.

Every time before the epoch means "from the start"; a malformed one is a
TAXII error 400, never a 500. A ``next`` cursor of a page cut short over
entries hidden from the reader names none of them, and the date headers
come from the objects returned alone.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import BadRequest
from hub.events import MAX_SEQUENCE, iso_millis
from hub.taxii.filters import OBJECTS_FILTERS, parse_query
from hub.taxii.pagination import StreamId, start_position
from hub.taxii.resources import DATE_ADDED_FIRST, DATE_ADDED_LAST
from hub.tlp import TLP
from tests.conftest import Hub
from tests.schemas import conforms
from tests.taxii.helpers import TAXII, append, bulk_items, collection_path, taxii_headers

FINANCE = collection_path("sector.finance")
PRE_EPOCH = ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.998Z", "1900-02-28T12:00:00.5Z"]
MALFORMED = ["0000-01-01T00:00:00Z", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "-0001-01-01T00:00:00Z", "1e9"]


async def get(hub: Hub, who: str, path: str, **params: str) -> tuple[int, Any, dict[str, str]]:
    async with hub.client.get(path, params=params, headers=taxii_headers(hub, who)) as response:
        return response.status, orjson.loads(await response.read()), dict(response.headers)


def routes(stix_id: str) -> list[str]:
    return [
        FINANCE + "objects/",
        FINANCE + "manifest/",
        FINANCE + f"objects/{stix_id}/",
        FINANCE + f"objects/{stix_id}/versions/",
    ]


@pytest.mark.parametrize("stamp", PRE_EPOCH)
async def test_added_after_before_1970_is_from_the_start_on_every_route(hub: Hub, stamp: str) -> None:
    [stored] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    for path in routes(stored.item.id):
        status, body, _ = await get(hub, "banxico", path, added_after=stamp)
        assert status == 200, (path, body)
        assert body.get("objects") or body.get("versions"), path


@pytest.mark.parametrize("stamp", MALFORMED)
async def test_a_malformed_added_after_is_a_taxii_400_on_every_route(hub: Hub, stamp: str) -> None:
    [stored] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    for path in routes(stored.item.id):
        status, body, headers = await get(hub, "banxico", path, added_after=stamp)
        assert status == 400, (path, body)
        assert headers["Content-Type"] == TAXII and "added_after" in body["description"]
        conforms("error", body)


@pytest.mark.parametrize("stamp", PRE_EPOCH + ["9999-12-31T23:59:59.999999999Z"])
async def test_match_version_timestamps_at_the_ends_of_time_match_nothing_and_fail_nothing(
    hub: Hub, stamp: str
) -> None:
    [stored] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    for path in routes(stored.item.id)[:3]:
        status, body, _ = await get(hub, "banxico", path, **{"match[version]": stamp})
        assert status == 200 and "objects" not in body, (path, body)


async def test_added_after_at_the_end_of_time_is_an_empty_page(hub: Hub) -> None:
    await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    status, body, _ = await get(hub, "banxico", FINANCE + "objects/", added_after="9999-12-31T23:59:59.999Z")
    assert status == 200 and body == {"more": False}


# --- what a page cut short reveals -------------------------------------------------------------------------------


def reveals(cursor: str, ids: set[str]) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return False
    return any(i in decoded for i in ids)


async def test_a_page_cut_short_over_hidden_entries_gives_a_cursor_that_names_none(hub: Hub) -> None:
    """1,100 RED entries, then AMBER: banxico's page (limit 1) is cut short; ``next`` holds no hidden position."""
    hidden = {a.event_id for a in await append(hub, "sector.finance", "cert-mx", bulk_items(1100, TLP.RED))}
    [readable] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    status, page, headers = await get(hub, "banxico", FINANCE + "objects/", limit="1")
    assert status == 200 and page["more"] and "objects" not in page
    assert not reveals(page["next"], hidden)
    # No object returned: no date header, which could only come from a hidden entry.
    assert DATE_ADDED_FIRST not in headers and DATE_ADDED_LAST not in headers
    # Two cursors for one position differ: comparing them says nothing either.
    _, again, _ = await get(hub, "banxico", FINANCE + "objects/", limit="1")
    assert again["next"] != page["next"]
    # Another reader (cert-mx reads the channel too) may not page from it.
    status, refused, _ = await get(hub, "cert-mx", FINANCE + "objects/", limit="1", next=page["next"])
    assert status == 400 and "next" in refused["description"]
    # banxico goes on from it and gets the AMBER object, once.
    status, following, headers = await get(hub, "banxico", FINANCE + "objects/", limit="1", next=page["next"])
    assert status == 200 and not following["more"]
    assert [o["id"] for o in following["objects"]] == [readable.item.id]
    assert headers[DATE_ADDED_FIRST] == headers[DATE_ADDED_LAST]


async def test_date_headers_come_from_the_objects_returned_not_the_hidden_ones_around_them(hub: Hub) -> None:
    [first] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    await append(hub, "sector.finance", "cert-mx", bulk_items(3, TLP.RED))
    [second] = await append(hub, "sector.finance", "cert-mx", bulk_items(1, TLP.AMBER))
    await append(hub, "sector.finance", "cert-mx", bulk_items(3, TLP.RED))
    for path in (FINANCE + "objects/", FINANCE + "manifest/"):
        status, body, headers = await get(hub, "banxico", path, **{"match[version]": "all"})
        assert status == 200 and len(body["objects"]) == 2
        stamps = [e["date_added"] for e in body["objects"]] if path.endswith("manifest/") else None
        assert (headers[DATE_ADDED_FIRST], headers[DATE_ADDED_LAST]) == (
            _time(first.event_id),
            _time(second.event_id),
        )
        if stamps is not None:
            assert stamps == [_time(first.event_id), _time(second.event_id)]


def _time(event_id: str) -> str:
    return iso_millis(int(event_id.split("-")[0]))


# --- the pure parsing, fuzzed ------------------------------------------------------------------------------------

stamps = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}Z".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.one_of(st.just(""), st.from_regex(r"\A\.\d{1,9}\Z")),
)


@given(st.one_of(stamps, st.text(max_size=40)))
def test_added_after_becomes_a_position_redis_accepts_or_a_400(stamp: str) -> None:
    try:
        query = parse_query([("added_after", stamp)], OBJECTS_FILTERS)
    except BadRequest:
        return
    start = start_position(query.added_after_ms, None)
    assert StreamId.parse(str(start)) == start


@given(st.one_of(stamps, st.text(max_size=40)))
def test_match_version_timestamps_parse_or_are_a_400(stamp: str) -> None:
    try:
        parse_query([("match[version]", stamp)], OBJECTS_FILTERS)
    except BadRequest:
        pass


@given(st.one_of(st.none(), st.integers(-(2**70), 2**70)), st.integers(0, MAX_SEQUENCE), st.integers(0, MAX_SEQUENCE))
def test_every_start_is_a_position_redis_accepts(added_after_ms: int | None, ms: int, seq: int) -> None:
    start = start_position(added_after_ms, StreamId(ms, seq))
    assert StreamId.parse(str(start)) == start
