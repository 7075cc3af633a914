"""Paging over a channel's stream: positions, opaque ``next`` cursors and ``limit``.

Pure: no aiohttp, redis or asyncio import.

How this works. A TAXII page is a run of stream entries, oldest first, and the
stream entry id (``<ms>-<seq>``) is both an object version's position and its
``date_added``. Several entries may share a millisecond, so a timestamp alone
cannot say where a page stopped; the ``next`` cursor therefore carries the
exact position of the last entry the page covered, and the next page starts
right after it — never skipping, never repeating, whatever the timestamps.
``added_after`` is a timestamp: "strictly after" means from the first position
of the following millisecond; any time before 1970 means from the start.

Why the cursor is sealed. A page over entries mostly hidden from the reader
is cut short after a bounded scan, and the position it stopped at is then
often an entry the reader may not see: its id would tell the reader when
something it may not see was posted. So the position travels encrypted and
authenticated with a secret of the hub (the same for every hub process on
one Redis): a random nonce, the position XORed with HMAC-SHA256(nonce) under
one key derived from the secret, and an HMAC-SHA256 tag under another over
all of it and the cursor's context. The reader learns nothing from a cursor
(two cursors for one position differ), cannot forge one, and cannot use one
made for another collection or another stakeholder. Keeping the exact
position (rather than the last readable one plus a count to skip) keeps
paging exact when entries are deleted or trimmed between two requests. The
standard library has no AEAD cipher, hence the HMAC construction (encrypt,
then MAC, with independent keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from hub.errors import BadRequest
from hub.events import MAX_SEQUENCE

_STREAM_ID: Final = re.compile(r"\A([0-9]{1,20})-([0-9]{1,20})\Z")
_CURSOR_VERSION: Final = b"\x02"
_NONCE: Final = 16
_TAG: Final = 16
_SEALED: Final = 1 + _NONCE + 16 + _TAG  # version, nonce, position (two 64-bit numbers), tag
_CURSOR: Final = re.compile(rf"^[A-Za-z0-9_-]{{{-(-_SEALED * 4 // 3)}}}$")  # unpadded base64url
_LIMIT: Final = re.compile(r"\A[0-9]{1,12}\Z")


@dataclass(frozen=True, order=True, slots=True)
class StreamId:
    """A position in a channel's stream; ordered as Redis orders entry ids."""

    ms: int
    seq: int

    def __post_init__(self) -> None:
        # Redis refuses anything else, with an error the hub could only answer as a 500.
        if not (0 <= self.ms <= MAX_SEQUENCE and 0 <= self.seq <= MAX_SEQUENCE):
            raise ValueError(f"stream id out of range: {self.ms}-{self.seq}")

    @classmethod
    def parse(cls, text: str) -> StreamId:
        """Read ``<ms>-<seq>``; ValueError if it is not a stream id."""
        match = _STREAM_ID.match(text)
        if match is None:
            raise ValueError(f"not a stream id: {text[:40]!r}")
        ms, seq = int(match.group(1)), int(match.group(2))
        if ms > MAX_SEQUENCE or seq > MAX_SEQUENCE:
            raise ValueError(f"stream id out of range: {text[:40]!r}")
        return cls(ms, seq)

    def successor(self) -> StreamId:
        """The first position strictly after this one."""
        if self.seq < MAX_SEQUENCE:
            return StreamId(self.ms, self.seq + 1)
        if self.ms < MAX_SEQUENCE:
            return StreamId(self.ms + 1, 0)
        return self  # the last possible position: nothing can follow it, and nothing is after it either

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


ORIGIN: Final = StreamId(0, 0)


def start_position(added_after_ms: int | None, cursor: StreamId | None) -> StreamId:
    """The first position a page may cover (inclusive).

    ``added_after`` keeps objects added strictly after its millisecond; ``next``
    continues strictly after the cursor. With both (a client repeating its
    original query with ``next``), the later of the two wins.
    """
    start = ORIGIN
    if added_after_ms is not None and added_after_ms >= 0:  # before 1970: from the start
        start = StreamId(min(added_after_ms + 1, MAX_SEQUENCE), 0)
    if cursor is not None:
        start = max(start, cursor.successor())
    return start


def cursor_context(kind: str, scope: str, reader: str) -> bytes:
    """What a cursor is bound to: its kind (``taxii``, ``events``), collection or channel, and reader."""
    return "\x00".join((kind, scope, reader)).encode()


def _subkey(secret: bytes, purpose: bytes) -> bytes:
    return hmac.digest(secret, b"crisis-hub cursor " + purpose, hashlib.sha256)


def encode_cursor(secret: bytes, context: bytes, position: StreamId) -> str:
    """The opaque ``next`` value for a page that ended at ``position``, sealed with the hub's ``secret``."""
    nonce = secrets.token_bytes(_NONCE)
    plain = position.ms.to_bytes(8, "big") + position.seq.to_bytes(8, "big")
    pad = hmac.digest(_subkey(secret, b"encrypt"), nonce, hashlib.sha256)
    body = _CURSOR_VERSION + nonce + bytes(a ^ b for a, b in zip(plain, pad, strict=False))
    tag = hmac.digest(_subkey(secret, b"authenticate"), body + context, hashlib.sha256)[:_TAG]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode("ascii")


def looks_like_cursor(text: str) -> bool:
    """Whether ``text`` has the shape of a cursor (an event id never has)."""
    return _CURSOR.match(text) is not None


def decode_cursor(secret: bytes, context: bytes, text: str) -> StreamId:
    """The position a ``next`` value stands for; BadRequest unless this hub made it for this ``context``."""
    refused = BadRequest("next is not a cursor this server issued for this collection and reader; restart without it")
    if not looks_like_cursor(text):
        raise refused
    try:
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    body, tag = sealed[:-_TAG], sealed[-_TAG:]
    if len(sealed) != _SEALED or body[:1] != _CURSOR_VERSION:
        raise refused
    expected = hmac.digest(_subkey(secret, b"authenticate"), body + context, hashlib.sha256)[:_TAG]
    if not hmac.compare_digest(tag, expected):
        raise refused
    nonce, cipher = body[1 : 1 + _NONCE], body[1 + _NONCE :]
    pad = hmac.digest(_subkey(secret, b"encrypt"), nonce, hashlib.sha256)
    plain = bytes(a ^ b for a, b in zip(cipher, pad, strict=False))
    return StreamId(int.from_bytes(plain[:8], "big"), int.from_bytes(plain[8:], "big"))


def parse_limit(text: str | None, maximum: int) -> int:
    """The page size: the client's ``limit``, at most the server's own ``maximum`` (the default).

    A limit above the maximum is lowered to it rather than refused: the
    client is then told ``more`` and pages on.
    """
    if text is None:
        return maximum
    # Not int(text) alone: it would take " 5", "+5" and "5_000".
    if not _LIMIT.match(text) or int(text) < 1:
        raise BadRequest(f"limit must be a positive whole number, got {text[:20]!r}")
    return min(int(text), maximum)
