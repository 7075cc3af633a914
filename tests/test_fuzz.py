"""Hypothesis against every parser of untrusted input: it answers with its own error, never crashes.

A parser that raised anything but the hub's errors would surface as a 500 (or
kill a stream); these properties say it cannot, whatever the bytes.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.config import parse_config
from hub.errors import HubError
from hub.events import parse_event_id
from hub.stix import decode
from hub.stream.protocol import ProtocolError, parse_client_message
from hub.taxii.filters import OBJECTS_FILTERS, parse_query
from hub.taxii.pagination import decode_cursor, parse_limit
from hub.tokens import split_token

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
messages = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["auth", "subscribe", "unsubscribe", "ping", "x"])},
        optional={"channels": json_values, "since": json_values, "token": json_values},
    ).map(json.dumps),
)


@given(messages)
def test_stream_messages_parse_or_raise_a_protocol_error(text: str | bytes) -> None:
    try:
        parse_client_message(text)
    except ProtocolError as exc:
        assert exc.code and exc.message


@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
@settings(max_examples=200)
def test_request_bodies_decode_or_raise_a_hub_error(body: bytes) -> None:
    try:
        decode(body)
    except HubError as exc:
        assert exc.status_hint == 400 and exc.description


@given(st.text(max_size=400))
def test_config_text_parses_or_raises_a_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.toml")
    except HubError as exc:
        assert exc.description.startswith("fuzz.toml")


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=6))
def test_taxii_filters_parse_or_raise_a_hub_error(params: list[tuple[str, str]]) -> None:
    try:
        parse_query(params, OBJECTS_FILTERS)
    except HubError as exc:
        assert exc.status_hint == 400


@given(st.text(max_size=120), st.text(max_size=12))
def test_cursors_limits_and_event_ids_parse_or_raise_a_hub_error(text: str, number: str) -> None:
    for parse in (
        lambda: decode_cursor(b"k" * 32, b"c", text),
        lambda: parse_limit(number, 1000),
        lambda: parse_event_id(text),
    ):
        try:
            parse()
        except HubError as exc:
            assert exc.status_hint == 400


@given(st.text(max_size=120))
def test_tokens_split_or_are_refused(text: str) -> None:
    parts = split_token(text)
    assert parts is None or (len(parts[0]) == 12 and len(parts[1]) == 43)
