"""WebSocket message formats (``schemas/stream-*.schema.json``). Pure: no I/O.

Client → server: ``auth``, ``subscribe``, ``unsubscribe``, ``ping``.
Server → client: ``welcome``, ``event``, ``subscribed``, ``unsubscribed``,
``gap``, ``pong``, ``heartbeat``, ``error``.

Event messages are built from the event's encoded bytes by splicing, and
framed once (:func:`text_frame`), so an event is serialised once however
many clients receive it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.events import is_event_id

MAX_CLIENT_MESSAGE = 64 * 1024
_CHANNEL = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,62}\Z")


class ProtocolError(Exception):
    """A client message the server cannot act on; ``code`` is sent back in the error message."""

    def __init__(self, code: str, message: str, channel: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.channel = channel


@dataclass(frozen=True, slots=True)
class Auth:
    token: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    channels: tuple[str, ...]
    since: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientMessage = Auth | Subscribe | Unsubscribe | Ping


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Decode one client message, or raise ProtocolError saying what is wrong."""
    if len(text) > MAX_CLIENT_MESSAGE:
        raise ProtocolError("too-large", f"messages are limited to {MAX_CLIENT_MESSAGE} bytes")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("bad-message", "a message must be a JSON object") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad-message", "a message must be a JSON object")
    op = data.get("op")
    if op == "auth":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError("bad-message", "auth needs a token")
        return Auth(token)
    if op == "ping":
        return Ping()
    if op in ("subscribe", "unsubscribe"):
        channels = _channels(data.get("channels"))
        if op == "unsubscribe":
            return Unsubscribe(channels)
        return Subscribe(channels, _since(data.get("since", {}), channels))
    raise ProtocolError("bad-message", f"unknown op {str(op)[:30]!r}; expected auth, subscribe, unsubscribe or ping")


def _channels(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > 100:
        raise ProtocolError("bad-message", "channels must be a list of 1 to 100 channel names")
    for name in value:
        if not isinstance(name, str) or not _CHANNEL.match(name):
            raise ProtocolError("bad-message", f"not a channel name: {str(name)[:40]!r}")
    return tuple(dict.fromkeys(value))


def _since(value: Any, channels: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ProtocolError("bad-message", "since must map channel names to event ids")
    since: dict[str, str] = {}
    for channel, event_id in value.items():
        if channel not in channels:
            raise ProtocolError("bad-message", f"since names {channel[:40]!r}, which is not subscribed", channel)
        if event_id == "0":
            event_id = "0-0"
        if not isinstance(event_id, str) or not is_event_id(event_id):
            raise ProtocolError("bad-message", f"since[{channel}] is not an event id", channel)
        since[channel] = event_id
    return since


def event_message(event_json: bytes) -> bytes:
    """``{"op": "event", "event": …}`` around an already-encoded event."""
    return b'{"op":"event","event":' + event_json + b"}"


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one WebSocket text frame as a server sends it: final, unmasked (RFC 6455 §5.2).

    Built once per message and written as is to every recipient's socket,
    several frames to one ``write``: the per-recipient cost of an event is
    then appending bytes, not a call into the WebSocket writer and a syscall.
    """
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big") + payload
    return b"\x81\x7f" + length.to_bytes(8, "big") + payload


def message(op: str, **fields: Any) -> bytes:
    return orjson.dumps({"op": op, **fields})


def error_message(code: str, text: str, channel: str | None = None, **extra: Any) -> bytes:
    fields: dict[str, Any] = {"code": code, "message": text, **extra}
    if channel is not None:
        fields["channel"] = channel
    return message("error", **fields)
