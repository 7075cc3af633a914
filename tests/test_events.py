"""Event ids, times and envelopes; token format. Pure: no loop, no Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import BadRequest
from hub.events import Event, iso_millis, parse_event_id, version_key
from hub.tlp import TLP, level_of_markings
from hub.tokens import new_token, secret_matches, split_token


def test_iso_millis_is_utc_with_three_fraction_digits() -> None:
    assert iso_millis(0) == "1970-01-01T00:00:00.000Z"
    assert iso_millis(1764236259007) == "2025-11-27T09:37:39.007Z"


@given(st.integers(min_value=-62_000_000_000_000, max_value=250_000_000_000_000))
def test_iso_millis_agrees_with_datetime_to_the_millisecond(millis: int) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    assert iso_millis(millis) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize("text", ["1-0", "1764236259007-12", "0"])
def test_good_event_ids_pass(text: str) -> None:
    assert parse_event_id(text) in (text, "0-0")


@pytest.mark.parametrize("text", ["", "-", "1-", "abc-1", "1-0;DROP", "(1-0", "+", "1" * 40 + "-0"])
def test_bad_event_ids_are_refused_naming_the_parameter(text: str) -> None:
    with pytest.raises(BadRequest, match="since"):
        parse_event_id(text, "since")


def test_version_key_orders_timestamps_of_any_precision() -> None:
    assert version_key("2016-04-06T20:03:48Z") == version_key("2016-04-06T20:03:48.000Z")
    assert version_key("2016-04-06T20:03:48.5Z") > version_key("2016-04-06T20:03:48.123Z")
    assert version_key("") < version_key("1970-01-01T00:00:00Z")


def test_envelope_splices_the_stored_bytes_unchanged() -> None:
    raw = b'{"type":"note","id":"note--1","content":"\\u00e9t\\u00e9"}'
    event = Event("1764236259007-3", "committee", "cidge", TLP.AMBER, "note", "note--1", "v", raw)
    encoded = event.to_json()
    assert raw in encoded
    assert orjson.loads(encoded) == {
        "id": "1764236259007-3", "channel": "committee", "time": "2025-11-27T09:37:39.007Z",
        "source": "cidge", "tlp": "amber", "type": "note", "object": orjson.loads(raw),
    }  # fmt: skip


@pytest.mark.parametrize(
    "text, level",
    [("clear", TLP.CLEAR), ("TLP:WHITE", TLP.CLEAR), ("amber+strict", TLP.AMBER_STRICT), ("TLP:RED", TLP.RED)],
)
def test_tlp_parse_reads_config_and_label_forms(text: str, level: TLP) -> None:
    assert TLP.parse(text) is level
    assert TLP.parse(level.label) is level and TLP.parse(level.token) is level


def test_tlp_parse_refuses_unknown_levels() -> None:
    with pytest.raises(ValueError, match="mauve"):
        TLP.parse("mauve")


def test_most_restrictive_marking_wins_and_unknown_markings_are_ignored() -> None:
    assert level_of_markings([TLP.GREEN.marking_id, TLP.RED.marking_id]) is TLP.RED
    assert level_of_markings(["marking-definition--00000000-0000-4000-8000-000000000000"]) is None


def test_tokens_are_random_split_back_and_checked_against_their_digest() -> None:
    token = new_token()
    assert token.text != new_token().text
    assert split_token(token.text) == (token.token_id, token.secret)
    assert secret_matches(token.secret, token.digest)
    assert not secret_matches(token.secret + "x", token.digest)
    assert token.secret not in token.digest


@pytest.mark.parametrize("text", ["", "chub_", "chub_xyz_abc", "Bearer chub_0123456789ab_" + "a" * 43])
def test_malformed_tokens_do_not_split(text: str) -> None:
    assert split_token(text) is None
