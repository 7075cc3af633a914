"""The TAXII 2.1 resources the server sends, and the envelope it receives. Pure: no I/O.

Optional list properties are left out rather than sent empty, as TAXII (like
STIX) has them hold "one or more" items. Objects are the bytes stored at
ingest, spliced in unchanged (``orjson.Fragment``).
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.errors import BadRequest
from hub.events import Event
from hub.stix import load_json_object
from hub.taxii.filters import event_version
from hub.taxii.media import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE

DATE_ADDED_FIRST = "X-TAXII-Date-Added-First"
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


def discovery(title: str, api_root_url: str) -> dict[str, Any]:
    """The discovery resource: this server's one API root, also its default."""
    return {
        "title": title,
        "description": "TAXII 2.1 access to the hub's channels: each channel is a collection.",
        "default": api_root_url,
        "api_roots": [api_root_url],
    }


def api_root(title: str, max_content_length: int) -> dict[str, Any]:
    return {
        "title": title,
        "description": "Every channel of the hub, as a collection.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": max_content_length,
    }


def paged(more: bool, next_cursor: str | None, key: str, items: list[Any]) -> dict[str, Any]:
    """An envelope-like page: ``more``, ``next`` when there is more, and the items under ``key`` if any."""
    page: dict[str, Any] = {"more": more}
    if more and next_cursor is not None:
        page["next"] = next_cursor
    if items:
        page[key] = items
    return page


def envelope_objects(events: list[Event]) -> list[Any]:
    return [orjson.Fragment(e.raw) for e in events]


def manifest_record(event: Event) -> dict[str, Any]:
    return {
        "id": event.stix_id,
        "date_added": event.time,
        "version": event_version(event),
        "media_type": STIX_MEDIA_TYPE,
    }


def version_list(events: list[Event]) -> list[str]:
    return [event_version(e) for e in events]


def date_added_headers(events: list[Event]) -> dict[str, str]:
    """``X-TAXII-Date-Added-First`` and ``-Last`` of a page (oldest first); none for an empty page."""
    if not events:
        return {}
    return {DATE_ADDED_FIRST: events[0].time, DATE_ADDED_LAST: events[-1].time}


def decode_envelope(body: bytes) -> list[Any]:
    """The objects of a posted envelope (``{"objects": [...]}``); each is judged later, one by one."""
    doc = load_json_object(body, "expected a TAXII envelope: a JSON object with an 'objects' list")
    objects = doc.get("objects")
    if not isinstance(objects, list) or not objects:
        raise BadRequest("the envelope's 'objects' is missing, not a list, or empty: nothing to add")
    return objects
