"""Positions handed to a reader (stream ``subscribed``/``gap``, the events page's ``next``) never name a hidden event.

An event id is ``<ms>-<seq>``: handing a reader the id of an event it may not
read tells it when that event was posted. Each test makes the newest or the
boundary event one the reader may not see (cert-mx posts RED to
sector.finance; banxico's ceiling there is AMBER+STRICT), checks the position
it gets is not that id, and that resuming from the position is still exact.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import keys
from hub.errors import BadRequest
from hub.events import MAX_SEQUENCE, parse_event_id
from hub.stream.protocol import ProtocolError, Subscribe, parse_client_message
from hub.taxii.pagination import StreamId
from hub.tlp import TLP
from tests.conftest import Hub
from tests.schemas import conforms
from tests.stixgen import indicator
from tests.stream.clients import open_ws, post
from tests.taxii.helpers import append, bulk_items

FINANCE = "sector.finance"
EVENT_ID = re.compile(r"^\d+-\d+$")


def hidden_ids(answer: dict[str, Any]) -> set[str]:
    return {a["event_id"] for a in answer["accepted"]}


async def test_subscribed_position_is_not_the_newest_event_when_it_is_hidden(hub: Hub) -> None:
    """From now: the channel's newest event is RED; banxico's position says nothing of it, and resuming is exact."""
    hidden = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED)))
    ws = await open_ws(hub, "banxico")
    [subscribed] = await ws.subscribe(FINANCE)
    position = subscribed["position"]
    assert position not in hidden
    assert EVENT_ID.match(position)
    # Dropped before anything arrived: what was posted meanwhile comes once on resuming from the position,
    # the RED event never.
    await ws.ws.close()
    hidden |= hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED)))
    readable = indicator(TLP.AMBER)
    await post(hub, "cert-mx", FINANCE, readable)
    again = await open_ws(hub, "banxico")
    await again.send(op="subscribe", channels=[FINANCE], since={FINANCE: position})
    got = await again.events_until(readable["id"])
    assert [e["object"]["id"] for e in got] == [readable["id"]]
    resumed = await again.until("subscribed", channel=FINANCE)
    assert resumed["position"] == got[-1]["id"] and resumed["position"] not in hidden


async def test_subscribed_position_after_a_replay_of_hidden_events_is_not_one_of_them(hub: Hub) -> None:
    """With ``since``: everything replayed after it is RED; the position is the client's own ``since``."""
    readable = await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN))
    since = readable["accepted"][0]["event_id"]
    hidden = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED), indicator(TLP.RED)))
    ws = await open_ws(hub, "banxico")
    [subscribed] = await ws.subscribe(FINANCE, since={FINANCE: since})
    assert subscribed["replayed"] == 0
    assert subscribed["position"] not in hidden
    assert subscribed["position"] == since


async def test_subscribed_position_is_the_last_event_replayed_when_one_was(hub: Hub) -> None:
    """A readable event replayed after hidden ones and before more hidden ones: the position is that event."""
    since = (await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN)))["accepted"][0]["event_id"]
    before = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED)))
    seen = (await post(hub, "cert-mx", FINANCE, indicator(TLP.AMBER)))["accepted"][0]["event_id"]
    after = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED)))
    ws = await open_ws(hub, "banxico")
    [subscribed] = await ws.subscribe(FINANCE, since={FINANCE: since})
    assert subscribed["replayed"] == 1
    assert subscribed["position"] == seen and seen not in before | after


async def test_a_gap_names_no_hidden_event_as_the_oldest_kept(hub: Hub) -> None:
    """Retention kept a RED event first: ``gap`` names the first event replayed to banxico instead."""
    first = (await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN)))["accepted"][0]["event_id"]
    await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN))
    hidden = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED)))
    kept = (await post(hub, "cert-mx", FINANCE, indicator(TLP.AMBER)))["accepted"][0]["event_id"]
    assert await hub.client.app[keys.STORE].trim(FINANCE, max_events=2) == 2
    ws = await open_ws(hub, "banxico")
    await ws.send(op="subscribe", channels=[FINANCE], since={FINANCE: first})
    gap = await ws.until("gap")
    assert gap == {"op": "gap", "channel": FINANCE, "requested": first, "oldest": kept}
    assert gap["oldest"] not in hidden
    event = await ws.until("event")
    assert event["event"]["id"] == kept
    assert (await ws.until("subscribed"))["replayed"] == 1


async def test_a_gap_with_nothing_readable_kept_names_no_oldest(hub: Hub) -> None:
    first = (await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN)))["accepted"][0]["event_id"]
    await post(hub, "cert-mx", FINANCE, indicator(TLP.GREEN))
    hidden = hidden_ids(await post(hub, "cert-mx", FINANCE, indicator(TLP.RED), indicator(TLP.RED)))
    assert await hub.client.app[keys.STORE].trim(FINANCE, max_events=2) == 2
    ws = await open_ws(hub, "banxico")
    await ws.send(op="subscribe", channels=[FINANCE], since={FINANCE: first})
    gap = await ws.until("gap")
    assert gap["oldest"] is None
    subscribed = await ws.until("subscribed")
    assert subscribed["replayed"] == 0 and subscribed["position"] not in hidden


# --- the HTTP API's events pages -------------------------------------------------------------------------------


async def events(hub: Hub, who: str, channel: str, **params: str) -> tuple[int, dict[str, Any]]:
    async with hub.client.get(f"/api/v1/channels/{channel}/events", params=params, headers=hub.auth(who)) as response:
        body = await response.json()
        conforms("events-page" if response.status == 200 else "error", body)
        return response.status, body


def reveals(value: str, ids: set[str]) -> bool:
    """Whether ``value`` is, or decodes (as base64) to something holding, one of ``ids``."""
    if value in ids:
        return True
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return False
    return any(i in decoded for i in ids)


async def test_an_events_page_cut_short_over_hidden_events_does_not_point_at_one(hub: Hub) -> None:
    """1,100 RED events then an AMBER one: banxico's first page (limit 1) stops on hidden ground; ``next`` is sealed."""
    red = await append(hub, FINANCE, "cert-mx", bulk_items(1100, TLP.RED))
    hidden = {a.event_id for a in red}
    [readable] = await append(hub, FINANCE, "cert-mx", bulk_items(1, TLP.AMBER))
    status, page = await events(hub, "banxico", FINANCE, limit="1")
    assert status == 200 and page["events"] == [] and page["next"]
    assert not EVENT_ID.match(page["next"]) and not reveals(page["next"], hidden)
    # Another reader cannot use it; the reader it was made for goes on from it, exactly.
    status, refused = await events(hub, "cert-mx", FINANCE, after=page["next"], limit="1")
    assert status == 400 and "next" in refused["description"]
    seen: list[str] = []
    after = page["next"]
    for _ in range(5):
        status, page = await events(hub, "banxico", FINANCE, after=after, limit="1")
        assert status == 200
        seen += [e["id"] for e in page["events"]]
        if page["next"] is None:
            break
        assert not reveals(page["next"], hidden)
        after = page["next"]
    assert seen == [readable.event_id]


async def test_a_full_events_page_still_ends_on_the_id_of_its_last_event(hub: Hub) -> None:
    answer = await post(hub, "cert-mx", FINANCE, *[indicator(TLP.AMBER) for _ in range(3)])
    ids = [a["event_id"] for a in answer["accepted"]]
    status, page = await events(hub, "banxico", FINANCE, limit="2")
    assert status == 200 and [e["id"] for e in page["events"]] == ids[:2] and page["next"] == ids[1]


# --- every parameter that becomes a stream id parses to one Redis accepts, or is refused -------------------------


def redis_id(text: str) -> bool:
    try:
        StreamId.parse(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "text",
    [
        "0-\u0a680000000000000000000",  # a Gurmukhi digit: Python's \\d and int() take it, Redis does not
        "\u0661-0",  # an Arabic-Indic one
        "1-0\n",  # $ matched before a final newline
        f"1-{MAX_SEQUENCE + 1}",  # twenty digits, one past what Redis takes
    ],
)
def test_an_after_that_only_python_reads_as_a_number_is_a_400(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_event_id(text)
    with pytest.raises(ValueError):
        StreamId.parse(text)


@given(st.one_of(st.text(max_size=45), st.from_regex(r"\A-?\d{1,21}-\d{1,21}\Z")))
def test_an_after_parameter_is_a_redis_stream_id_or_a_400(text: str) -> None:
    try:
        parsed = parse_event_id(text)
    except BadRequest:
        return
    assert redis_id(parsed)


@given(st.one_of(st.text(max_size=45), st.from_regex(r"\A-?\d{1,21}-\d{1,21}\Z"), st.just("0")))
def test_a_since_is_a_redis_stream_id_or_a_bad_message(text: str) -> None:
    try:
        parsed = parse_client_message(orjson.dumps({"op": "subscribe", "channels": ["c"], "since": {"c": text}}))
    except ProtocolError as exc:
        assert exc.code == "bad-message"
        return
    assert isinstance(parsed, Subscribe) and redis_id(parsed.since["c"])


@pytest.mark.parametrize("ms, seq", [(-1, 0), (0, -1), (MAX_SEQUENCE + 1, 0), (0, MAX_SEQUENCE + 1)])
def test_stream_ids_beyond_what_redis_numbers_are_refused(ms: int, seq: int) -> None:
    with pytest.raises(ValueError):
        StreamId(ms, seq)


def test_the_last_stream_id_has_no_successor_past_it() -> None:
    last = StreamId(MAX_SEQUENCE, MAX_SEQUENCE)
    assert redis_id(str(last.successor()))
