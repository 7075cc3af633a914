"""Paging over a channel's stream: positions, opaque ``next`` cursors and ``limit``.

Pure: no aiohttp, redis or asyncio import.

How this works. A TAXII page is a run of stream entries, oldest first, and the
stream entry id (``<ms>-<seq>``) is both an object version's position and its
``date_added``. Several entries may share a millisecond, so a timestamp alone
cannot say where a page stopped; the ``next`` cursor therefore carries the
exact position of the last entry the page covered, and the next page starts
right after it — never skipping, never repeating, whatever the timestamps.
``added_after`` is a timestamp: "strictly after" means from the first position
of the following millisecond.

A cursor is bound to its collection, so a cursor of one collection is refused
on another instead of silently paging from an unrelated position.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from hub.errors import BadRequest

MAX_SEQUENCE: Final = 2**64 - 1  # Redis Stream ids are two unsigned 64-bit numbers

_STREAM_ID: Final = re.compile(r"^(\d{1,19})-(\d{1,20})$")
_CURSOR: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CURSOR_VERSION: Final = "1"
_LIMIT: Final = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True, order=True, slots=True)
class StreamId:
    """A position in a channel's stream; ordered as Redis orders entry ids."""

    ms: int
    seq: int

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
        return StreamId(self.ms + 1, 0)

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
    if added_after_ms is not None:
        start = StreamId(added_after_ms + 1, 0)
    if cursor is not None:
        start = max(start, cursor.successor())
    return start


def encode_cursor(collection_id: str, position: StreamId) -> str:
    """The opaque ``next`` value for a page that ended at ``position`` in ``collection_id``."""
    payload = f"{_CURSOR_VERSION}:{collection_id}:{position}".encode()
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_cursor(text: str, collection_id: str) -> StreamId:
    """The position a ``next`` value stands for; BadRequest unless this server made it for this collection."""
    refused = BadRequest("next is not a cursor this server issued for this collection; restart without it")
    if not _CURSOR.match(text):
        raise refused
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    version, _, rest = payload.partition(":")
    owner, _, position = rest.rpartition(":")
    if version != _CURSOR_VERSION or owner != collection_id:
        raise refused
    try:
        return StreamId.parse(position)
    except ValueError:
        raise refused from None


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
