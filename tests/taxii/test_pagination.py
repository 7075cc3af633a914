"""Stream positions, opaque cursors and limits. Pure: no loop, no Redis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import BadRequest
from hub.events import MAX_SEQUENCE
from hub.taxii.pagination import (
    ORIGIN,
    StreamId,
    cursor_context,
    decode_cursor,
    encode_cursor,
    parse_limit,
    start_position,
)

COLLECTION = "b86fe17f-0f40-502f-bfb3-2e3f75443989"
OTHER = "bc59f1ba-de79-5f42-a3b3-3b49462e33e4"
SECRET = bytes(range(32))
CONTEXT = cursor_context("taxii", COLLECTION, "partner-cert")
positions = st.builds(StreamId, st.integers(0, 2**48), st.integers(0, MAX_SEQUENCE))


def test_stream_ids_order_by_millisecond_then_sequence_not_as_text() -> None:
    assert StreamId.parse("9-5") < StreamId.parse("10-0") < StreamId.parse("10-1")
    assert str(StreamId.parse("1764236259007-12")) == "1764236259007-12"


@pytest.mark.parametrize("text", ["", "1", "1-", "-1", "a-1", "1-0-0", "1 -0", f"1-{2**64}"])
def test_malformed_stream_ids_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        StreamId.parse(text)


def test_the_successor_of_the_last_sequence_is_the_next_millisecond() -> None:
    assert StreamId(5, 3).successor() == StreamId(5, 4)
    assert StreamId(5, MAX_SEQUENCE).successor() == StreamId(6, 0)


@given(positions)
def test_a_cursor_decodes_to_the_position_it_was_made_from(position: StreamId) -> None:
    assert decode_cursor(SECRET, CONTEXT, encode_cursor(SECRET, CONTEXT, position)) == position


@given(positions)
def test_a_cursor_is_opaque_url_safe_text(position: StreamId) -> None:
    cursor = encode_cursor(SECRET, CONTEXT, position)
    assert str(position) not in cursor and COLLECTION not in cursor
    assert cursor.replace("-", "").replace("_", "").isalnum()


def test_a_cursor_of_another_collection_is_refused() -> None:
    cursor = encode_cursor(SECRET, cursor_context("taxii", OTHER, "partner-cert"), StreamId(1, 0))
    with pytest.raises(BadRequest, match="next"):
        decode_cursor(SECRET, CONTEXT, cursor)


@pytest.mark.parametrize(
    "text",
    ["", "!!", "abc", "a" * 300, "a" * 66, encode_cursor(SECRET, CONTEXT, StreamId(1, 2))[:-2], "MTox"],
    ids=["empty", "not-base64", "too-short", "too-long", "unsigned", "truncated", "foreign"],
)
def test_tampered_or_foreign_cursors_are_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="next"):
        decode_cursor(SECRET, CONTEXT, text)


def test_added_after_starts_at_the_next_millisecond() -> None:
    assert start_position(None, None) == ORIGIN
    assert start_position(1000, None) == StreamId(1001, 0)


def test_next_continues_right_after_its_position_and_the_later_bound_wins() -> None:
    assert start_position(None, StreamId(1000, 4)) == StreamId(1000, 5)
    assert start_position(1000, StreamId(1000, 4)) == StreamId(1001, 0)
    assert start_position(1000, StreamId(1002, 0)) == StreamId(1002, 1)


def test_limit_defaults_to_the_server_maximum_and_is_capped_by_it() -> None:
    assert parse_limit(None, 1000) == 1000
    assert parse_limit("7", 1000) == 7
    assert parse_limit("5000", 1000) == 1000


@pytest.mark.parametrize("text", ["0", "-1", "+5", " 5", "5_000", "1.5", "many", ""])
def test_a_limit_that_is_not_a_positive_whole_number_is_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="limit"):
        parse_limit(text, 1000)
