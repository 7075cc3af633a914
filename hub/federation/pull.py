"""Pull a partner's TAXII 2.1 collection into a channel.

How this works. Each poll asks for every object version added after the
checkpoint (``match[version]=all``, so each new version crosses too), pages
through ``next`` with taxii2-client's ``as_pages``, stores each page through
the hub's write path, and only then moves the checkpoint in Redis.

The checkpoint is the ``date_added`` of the last page (its
``X-TAXII-Date-Added-Last`` header) and the objects of that page, those that
may have been added at exactly that time. The next poll asks for
``added_after`` one microsecond *before* that time, so that whether the
partner reads ``added_after`` as strictly after (as the spec says) or
inclusively, the objects that share the last timestamp come back, and those
already taken are dropped by id and version. So:

* a restart resumes from the last stored page: nothing skipped, even when a
  page ended in the middle of a millisecond that many objects share;
* nothing already taken is stored again, and a partner that keeps returning
  the checkpoint's own objects cannot make a poll loop: a page whose every
  object was taken moves nothing, and the poll ends when ``more`` is false.

An envelope's objects do not carry their ``date_added``; for a partner that
sends no ``X-TAXII-Date-Added-Last``, the page's manifest records say it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from taxii2client.v21 import as_pages  # type: ignore[import-untyped]

from hub.federation.endpoints import Sink
from hub.federation.partner import DATE_ADDED_LAST, PartnerConnection, PartnerError
from hub.store.connectors import ConnectorState, ConnectorStatus

log = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?Z\Z")
MAX_TAKEN = 100_000  # objects remembered at one timestamp; more than that share a microsecond only in theory


def parse_timestamp(text: str) -> datetime:
    """A TAXII timestamp (``…T09:17:39.123Z``, any number of fraction digits) to microseconds."""
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        raise PartnerError(f"the partner sent a timestamp that is not RFC 3339 UTC: {text[:40]!r}", transient=False)
    whole = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return whole + timedelta(microseconds=int((match.group(2) or "0")[:6].ljust(6, "0")))


def format_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def object_key(obj: Any) -> str:
    """An object version's identity: id and version (``modified``, else ``created``)."""
    if not isinstance(obj, dict):
        return ""
    return f"{obj.get('id', '')}|{obj.get('modified') or obj.get('created') or ''}"


@dataclass(frozen=True, slots=True)
class PullCheckpoint:
    """Where a pull stands. Pure: the rules of the module docstring, without I/O."""

    date_added: str | None = None
    """The last ``date_added`` taken, as the partner wrote it; None before the first object."""
    taken: frozenset[str] = frozenset()
    """:func:`object_key` of the objects taken that may have been added at exactly ``date_added``."""

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> PullCheckpoint:
        if not doc:
            return cls()
        return cls(doc.get("date_added"), frozenset(doc.get("taken", ())))

    def to_json(self) -> dict[str, Any]:
        return {"date_added": self.date_added, "taken": sorted(self.taken)}

    def added_after(self) -> str | None:
        """The ``added_after`` to ask for: just before ``date_added``, so that its own objects come back."""
        if self.date_added is None:
            return None
        return format_timestamp(parse_timestamp(self.date_added) - timedelta(microseconds=1))

    def fresh(self, objects: Iterable[Any]) -> list[Any]:
        """The objects not taken yet."""
        return [o for o in objects if object_key(o) not in self.taken]

    def advance(self, page_keys: list[str], last: str | None) -> PullCheckpoint:
        """The checkpoint after a page whose objects were all stored and whose last ``date_added`` is ``last``.

        Every object of the page is remembered, not only those at ``last``
        (the page does not say which ones are): a few extra keys are
        harmless, as only objects added at ``last`` or later can come back.
        """
        if last is None or not page_keys:
            return self
        same_time = self.date_added is not None and parse_timestamp(last) == parse_timestamp(self.date_added)
        taken = (self.taken | set(page_keys)) if same_time else frozenset(page_keys)
        if len(taken) > MAX_TAKEN:
            log.warning("more than %d objects share the timestamp %s; remembering the newest", MAX_TAKEN, last)
            taken = frozenset(page_keys[-MAX_TAKEN:])
        return PullCheckpoint(last, frozenset(taken))


@dataclass
class PollReport:
    """What one poll did."""

    pages: int = 0
    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[str | None, str]] = field(default_factory=list)


class TaxiiPull:
    """One pull connector: :meth:`poll` fetches and stores everything new once."""

    def __init__(self, partner: PartnerConnection, sink: Sink, state: ConnectorState, status: ConnectorStatus) -> None:
        self.partner, self.sink, self.state, self.status = partner, sink, state, status
        self.page_size = partner.spec.page_size

    async def poll(self) -> PollReport:
        """Fetch every page added since the checkpoint, storing each and then moving the checkpoint."""
        report = PollReport()
        checkpoint = PullCheckpoint.from_json(await self.state.load_checkpoint())
        collection = await asyncio.to_thread(self.partner.collection)
        filters: dict[str, Any] = {"version": "all"}
        if checkpoint.added_after() is not None:
            filters["added_after"] = checkpoint.added_after()
        pages: Iterator[dict[str, Any]] = as_pages(collection.get_objects, per_request=self.page_size, **filters)
        while True:
            envelope = await asyncio.to_thread(next, pages, None)
            if envelope is None:
                break
            last = self.partner.last_headers.get(DATE_ADDED_LAST)
            objects = envelope.get("objects", [])
            report.pages += 1
            report.fetched += len(objects)
            fresh = checkpoint.fresh(objects)
            if fresh:
                outcome = await self.sink.put(fresh)
                report.accepted += outcome.accepted
                report.duplicates += outcome.duplicates
                report.rejected += outcome.rejected
                for stix_id, reason in outcome.rejected[:5]:
                    log.warning("connector %s: %s refused: %s", self.state.name, stix_id or "(no id)", reason)
                self.status.moved += outcome.accepted
                self.status.duplicates += outcome.duplicates
                self.status.rejected += len(outcome.rejected)
            keys = [object_key(o) for o in objects]
            if objects and last is None:
                last = await asyncio.to_thread(self._last_date_added, collection, objects, filters)
            checkpoint = checkpoint.advance(keys, last)
            await self.state.save_checkpoint(checkpoint.to_json())
            self.status.checkpoint = checkpoint.date_added or ""
        self.status.last_success = time.time()
        self.status.lag_seconds = 0.0
        return report

    def _last_date_added(self, collection: Any, objects: list[Any], filters: dict[str, Any]) -> str:
        """The newest ``date_added`` among the page's objects, from the manifest (blocking)."""
        wanted = {object_key(o) for o in objects}
        ids = sorted({o["id"] for o in objects if isinstance(o, dict) and "id" in o})
        manifest = collection.get_manifest(id=ids, **filters)
        found = [
            r["date_added"]
            for r in manifest.get("objects", [])
            if f"{r.get('id')}|{r.get('version')}" in wanted and "date_added" in r
        ]
        if not found:
            raise PartnerError("the partner says neither X-TAXII-Date-Added-Last nor the manifest's date_added")
        return str(max(found, key=parse_timestamp))
