"""Parsing of stream client messages. Pure: no loop, no sockets."""

from __future__ import annotations

import orjson
import pytest

from hub.stream.protocol import (
    Auth,
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    error_message,
    event_message,
    parse_client_message,
)
from tests.schemas import conforms


@pytest.mark.parametrize(
    "text, parsed",
    [
        ('{"op": "auth", "token": "t"}', Auth("t")),
        ('{"op": "ping"}', Ping()),
        ('{"op": "subscribe", "channels": ["a", "b", "a"]}', Subscribe(("a", "b"))),
        ('{"op": "subscribe", "channels": ["a"], "since": {"a": "12-3"}}', Subscribe(("a",), {"a": "12-3"})),
        ('{"op": "subscribe", "channels": ["a"], "since": {"a": "0"}}', Subscribe(("a",), {"a": "0-0"})),
        ('{"op": "unsubscribe", "channels": ["a"]}', Unsubscribe(("a",))),
    ],
)
def test_valid_messages_parse_and_match_the_published_schema(text: str, parsed: object) -> None:
    assert parse_client_message(text) == parsed
    conforms("stream-client", orjson.loads(text))


@pytest.mark.parametrize(
    "text, code, fragment",
    [
        ("not json", "bad-message", "JSON"),
        ("[1]", "bad-message", "object"),
        ('{"op": "dance"}', "bad-message", "unknown op"),
        ('{"op": "auth"}', "bad-message", "token"),
        ('{"op": "subscribe", "channels": []}', "bad-message", "channels"),
        ('{"op": "subscribe", "channels": ["Bad Name"]}', "bad-message", "channel name"),
        ('{"op": "subscribe", "channels": ["a"], "since": {"b": "1-0"}}', "bad-message", "not subscribed"),
        ('{"op": "subscribe", "channels": ["a"], "since": {"a": "latest"}}', "bad-message", "event id"),
        ('{"op": "subscribe", "channels": ["a"], "since": ["1-0"]}', "bad-message", "since"),
        ('{"op": "ping", "pad": "' + "x" * 70000 + '"}', "too-large", "limited"),
    ],
)
def test_bad_messages_raise_a_coded_protocol_error(text: str, code: str, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    assert caught.value.code == code and fragment in caught.value.message


def test_event_messages_splice_the_encoded_event() -> None:
    event = (
        b'{"id":"1-0","channel":"c","time":"2026-01-01T00:00:00.000Z","source":"s","tlp":"red","type":"t",'
        b'"object":{"type":"t","id":"t--1"}}'
    )
    assert orjson.loads(event_message(event)) == {"op": "event", "event": orjson.loads(event)}
    conforms("stream-server", orjson.loads(event_message(event)))


def test_error_messages_carry_their_code_and_channel() -> None:
    decoded = orjson.loads(error_message("forbidden", "no", "committee"))
    assert decoded == {"op": "error", "code": "forbidden", "message": "no", "channel": "committee"}
    conforms("stream-server", decoded)
