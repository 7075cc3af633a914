"""The hub's cursor secret, and sealed cursors for TAXII pages and the HTTP API's event pages.

A ``next`` value may stand for a position the reader may not see (a page cut
short after a bounded scan over hidden entries); :mod:`hub.taxii.pagination`
says how it is sealed so that it tells the reader nothing. The secret is made
once per hub (per Redis namespace) and kept in Redis, so a cursor made by one
hub process is good on every other, and after a restart.
"""

from __future__ import annotations

from aiohttp import web

from hub import keys
from hub.events import parse_event_id
from hub.store import Store
from hub.taxii.pagination import StreamId, cursor_context, decode_cursor, encode_cursor, looks_like_cursor

SECRET_NAME = "cursor"


class CursorSecret:
    """The secret, fetched from (or made in) Redis on first use and then kept by this process."""

    def __init__(self) -> None:
        self._value: bytes | None = None

    async def get(self, store: Store) -> bytes:
        if self._value is None:
            self._value = await store.secret(SECRET_NAME)
        return self._value


async def _secret(app: web.Application, store: Store) -> bytes:
    return await app[keys.CURSOR_SECRET].get(store)


async def events_after(app: web.Application, store: Store, channel: str, reader: str, text: str) -> str:
    """The position an events page's ``after`` stands for: an event id, or a ``next`` this hub gave ``reader``."""
    if looks_like_cursor(text):
        context = cursor_context("events", channel, reader)
        return str(decode_cursor(await _secret(app, store), context, text))
    return parse_event_id(text)


async def events_next(app: web.Application, store: Store, channel: str, reader: str, position: str) -> str:
    """A sealed ``next`` for an events page that stopped at ``position`` (possibly an event hidden from ``reader``)."""
    context = cursor_context("events", channel, reader)
    return encode_cursor(await _secret(app, store), context, StreamId.parse(position))
