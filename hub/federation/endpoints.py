"""The hub side of a connector: where pulled objects go, where pushed events come from.

Inside the hub (``crisis-hub serve``) a connector works on the store itself:
pulled objects go through :func:`hub.stix.validate` and :func:`hub.ingest.ingest`
as the configured stakeholder, pushed events are read from the channel's
stream and woken by its live notifications. Run alone (``crisis-hub
connector run``) it goes through the hub's HTTP API with a token instead:
``POST /api/v1/channels/{channel}/objects`` and ``GET …/events``. Either way
the hub's own write path and policy apply.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from connectors.client import HubClient
from hub.config import Channel
from hub.ingest import ingest
from hub.metrics import Metrics
from hub.policy import Principal, may_read
from hub.stix import tlp_of, validate
from hub.store import Store
from hub.store import notifications as live
from hub.store.audit import AuditLog
from hub.tlp import TLP


@dataclass
class Outcome:
    """What the hub made of a batch of pulled objects."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[str | None, str]] = field(default_factory=list)
    """``(id, reason)`` of each refused object."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event on its way to a partner: what the policy needs (channel, TLP) and the object."""

    id: str
    channel: str
    tlp: TLP
    source: str
    obj: dict[str, Any]

    @property
    def millis(self) -> int:
        return int(self.id.split("-", 1)[0])


@dataclass(frozen=True, slots=True)
class Batch:
    """Events read after a position; ``position`` is where the next read starts (after hidden events too)."""

    events: list[Outgoing]
    position: str
    more: bool


class Sink(Protocol):
    """Where a pull connector stores objects."""

    async def put(self, objects: list[dict[str, Any]]) -> Outcome: ...


class Source(Protocol):
    """Where a push connector reads events from."""

    async def read(self, after: str, limit: int) -> Batch: ...

    async def wait(self, timeout: float) -> None: ...

    async def close(self) -> None: ...


def with_tlp(obj: dict[str, Any], tlp: TLP) -> dict[str, Any]:
    """``obj`` carrying ``tlp`` explicitly if it has no TLP marking of its own, else ``obj`` unchanged.

    An unmarked object takes its channel's default TLP; once it leaves the
    channel that default no longer applies, so the level travels with it.
    """
    if tlp_of(obj) is not None:
        return obj
    return {**obj, "object_marking_refs": [*obj.get("object_marking_refs", []), tlp.marking_id]}


class StoreSink:
    """Inside the hub: validate, then ingest as ``principal`` (the connector's stakeholder)."""

    def __init__(
        self,
        store: Store,
        principals: Mapping[str, Principal],
        principal: Principal,
        channel: Channel,
        assume_tlp: TLP,
        *,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
        via: str = "taxii-pull",
        admit: Callable[[Principal, str, str], Awaitable[None]] | None = None,
    ) -> None:
        """``admit(principal, channel, via)``: waits while the hub's live streams are behind, or raises Overloaded
        (see :meth:`hub.gate.IngestGate.admit`)."""
        self.store, self.principals, self.principal = store, principals, principal
        self.channel, self.assume_tlp = channel, assume_tlp
        self.audit, self.metrics, self.via = audit, metrics, via
        self.admit = admit

    async def put(self, objects: list[dict[str, Any]]) -> Outcome:
        if self.admit is not None:
            await self.admit(self.principal, self.channel.name, self.via)  # Overloaded: the runner waits, retries
        # Validation is CPU-bound (the STIX pattern grammar): keep it off the event loop.
        submission = await asyncio.to_thread(validate, objects, self.assume_tlp)
        result = await ingest(
            self.store, self.principals, self.principal, self.channel, submission, self.audit, self.via, self.metrics
        )
        return Outcome(len(result.accepted), len(result.duplicates), [(r.id, r.reason) for r in result.rejected])


class HubSink:
    """Outside the hub: POST bundles to the channel with the connector's token."""

    def __init__(self, client: HubClient, channel: Channel, assume_tlp: TLP) -> None:
        self.client, self.channel, self.assume_tlp = client, channel, assume_tlp

    async def put(self, objects: list[dict[str, Any]]) -> Outcome:
        if self.assume_tlp != self.channel.default_tlp:  # the hub would apply the channel's default instead
            objects = [with_tlp(o, self.assume_tlp) if isinstance(o, dict) else o for o in objects]
        body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
        answer = await self.client.post(self.channel.name, body)
        return Outcome(
            len(answer.get("accepted", [])),
            len(answer.get("duplicates", [])),
            [(r.get("id"), r.get("reason", "")) for r in answer.get("rejected", [])],
        )


class StoreSource:
    """Inside the hub: the channel's stream as ``reader`` may see it, woken by its live notifications.

    ``reader`` is the connector's stakeholder: a push reads as it wherever it
    runs (outside the hub, the events API applies the same policy to the
    connector's token). A push configured without a stakeholder reads the
    whole channel, and only :func:`hub.policy.may_leave` bounds what goes.
    """

    def __init__(self, store: Store, channel: str, reader: Principal | None = None) -> None:
        self.store, self.channel, self.reader = store, channel, reader
        self._live: live.Subscription | None = None

    async def read(self, after: str, limit: int) -> Batch:
        events = await self.store.read(self.channel, after, limit)
        seen = [e for e in events if self.reader is None or may_read(self.reader, e)]
        outgoing = [Outgoing(e.id, e.channel, e.tlp, e.source, orjson.loads(e.raw)) for e in seen]
        # The position moves past what the reader may not see, as the events API's `next` does.
        return Batch(outgoing, events[-1].id if events else after, len(events) == limit)

    async def wait(self, timeout: float) -> None:
        """Until the channel announces an append, or ``timeout`` seconds (the notification is only a hint)."""
        try:
            if self._live is None:
                self._live = await self.store.subscribe([self.channel])
                return  # read once more: something may have landed before the subscription
            note = await self._live.get(timeout)
            while note is not None:  # one read serves every notification already queued
                note = await self._live.get(0)
        except Exception:
            await self.close()  # a broken subscription is rebuilt on the next wait
            raise

    async def close(self) -> None:
        subscription, self._live = self._live, None
        if subscription is not None:
            await subscription.aclose()


class HubSource:
    """Outside the hub: page the channel's events over the HTTP API, polling at the connector's interval."""

    def __init__(self, client: HubClient, channel: str) -> None:
        self.client, self.channel = client, channel

    async def read(self, after: str, limit: int) -> Batch:
        page = await self.client.events(self.channel, after=after, limit=limit)
        events = [
            Outgoing(e["id"], e["channel"], TLP.parse(e["tlp"]), e["source"], e["object"]) for e in page["events"]
        ]
        following = page.get("next")
        # `next` is past events hidden from the token as well; without it, resume after the last one seen.
        position = following or (events[-1].id if events else after)
        return Batch(events, position, following is not None)

    async def wait(self, timeout: float) -> None:
        await asyncio.sleep(timeout)

    async def close(self) -> None:
        return None
