"""The crisis workflow on the store: every write goes through validation and the policy.

Crisis objects are ordinary STIX objects in ordinary channels, so they are
stored, streamed live, served over TAXII and filtered by TLP exactly like
indicators. This module adds the queries the workflow needs — the crises
a caller may see, what refers to a crisis, who acknowledged what — on top of
the store's type and reference indexes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hub.audit import AuditLog, write_record
from hub.config import Channel, Config
from hub.crisis import model
from hub.crisis.taxonomy import OPEN_ACTION_STATUSES
from hub.errors import BadRequest, Forbidden, NotFound
from hub.events import Event, version_key
from hub.ingest import IngestResult, ingest
from hub.metrics import Metrics
from hub.policy import Principal, may_acknowledge, may_read, may_write
from hub.stix import validate
from hub.store import Store
from hub.tlp import TLP

HUB_SOURCE = "hub"


@dataclass(frozen=True, slots=True)
class Found:
    """A stored object version and what it says."""

    event: Event
    obj: dict[str, Any]


def _found(event: Event) -> Found:
    return Found(event, orjson.loads(event.raw))


class CrisisService:
    def __init__(
        self, store: Store, config: Config, audit: AuditLog | None = None, metrics: Metrics | None = None
    ) -> None:
        self.store = store
        self.config = config
        self.audit = audit
        self.metrics = metrics
        self.stakeholders = tuple(config.stakeholders)

    @property
    def crisis_channel(self) -> Channel:
        return self.config.channels[self.config.crisis.channel]

    # writing ---------------------------------------------------------------------------
    async def _write(self, principal: Principal, channel: Channel, obj: dict[str, Any]) -> IngestResult:
        """Validate and ingest one object as ``principal``; BadRequest with the reason if refused."""
        submission = await asyncio.to_thread(validate, [obj], channel.default_tlp)
        result = await ingest(self.store, principal, channel, submission, self.audit, "crisis", self.metrics)
        if result.rejected:
            raise BadRequest(result.rejected[0].reason)
        return result

    async def _write_as_hub(self, channel: Channel, objects: Sequence[dict[str, Any]], source: str) -> None:
        """Append objects the hub itself produces (acknowledgments, escalations): validated, no write right needed."""
        submission = await asyncio.to_thread(validate, list(objects), channel.default_tlp)
        if submission.rejected:
            raise BadRequest(submission.rejected[0].reason)
        appended = await self.store.append(channel.name, source, submission.items)
        if self.audit is not None:
            outcomes = [
                (a.item.id, a.item.version, a.event_id, "duplicate" if a.duplicate else "accepted", None)
                for a in appended
            ]
            self.audit.record("write", source, via="crisis", channel=channel.name, objects=write_record(outcomes))

    # reading ---------------------------------------------------------------------------
    async def _latest_readable(self, principal: Principal, stix_id: str) -> Found | None:
        for channel in principal.read:
            events = await self.store.latest_events(channel, [stix_id])
            for event in events:
                if may_read(principal, event):
                    return _found(event)
        return None

    async def _versions_readable(self, principal: Principal, channel: str, stix_id: str) -> list[Found]:
        versions = (await self.store.versions([channel], stix_id)).get(channel, {})
        events = await self.store.events_by_id(channel, list(versions.values()))
        found = [_found(e) for e in events if may_read(principal, e)]
        return sorted(found, key=lambda f: (version_key(f.event.version), f.event.id))

    async def _referring(self, principal: Principal, stix_id: str, types: Iterable[str]) -> list[Found]:
        """The newest readable version of every object of ``types`` referring to ``stix_id``."""
        wanted = set(types)
        found: list[Found] = []
        for channel in principal.read:
            ids = [i for i in await self.store.referring(channel, stix_id) if i.split("--", 1)[0] in wanted]
            for event in await self.store.latest_events(channel, ids):
                if may_read(principal, event):
                    found.append(_found(event))
        return sorted(found, key=lambda f: f.event.id)

    async def crisis(self, principal: Principal, crisis_id: str) -> Found:
        found = await self._latest_readable(principal, crisis_id)
        if found is None or not model.is_crisis(found.obj):
            raise NotFound(f"no crisis {crisis_id} that you may see")
        return found

    def view(self, found: Found) -> dict[str, Any]:
        """A crisis as the API shows it."""
        fields = model.crisis_fields(found.obj)
        level = fields["severity"]
        scale = {s.level: s for s in self.config.crisis.severity}
        severity = scale.get(level)
        return {
            "id": found.obj["id"],
            **fields,
            "severity": {
                "level": level,
                "name": severity.name if severity else str(level),
                "colour": severity.colour if severity else "#808080",
            },
            "channel": found.event.channel,
            "tlp": found.event.tlp.token,
            "created": found.obj["created"],
            "modified": found.obj["modified"],
            "updated": found.event.time,
            "updated_by": found.event.source,
            "event_id": found.event.id,
        }

    async def list_crises(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        min_severity: int | None = None,
        sector: str | None = None,
        include_closed: bool = False,
    ) -> list[dict[str, Any]]:
        """The crises ``principal`` may see, most severe first, then most recently updated."""
        views = []
        for channel in principal.read:
            ids = sorted(await self.store.ids_of_type(channel, "incident"))
            for event in await self.store.latest_events(channel, ids):
                if not may_read(principal, event):
                    continue
                found = _found(event)
                if not model.is_crisis(found.obj):
                    continue
                view = self.view(found)
                if status is not None and view["status"] != status:
                    continue
                if status is None and not include_closed and view["status"] == "closed":
                    continue
                if min_severity is not None and view["severity"]["level"] < min_severity:
                    continue
                if sector is not None and sector not in view["affected_sectors"]:
                    continue
                views.append(view)
        views.sort(key=lambda v: (v["severity"]["level"], v["updated"]), reverse=True)
        return views

    async def history(self, principal: Principal, crisis_id: str) -> list[dict[str, Any]]:
        """Every readable version: who changed what, when."""
        current = await self.crisis(principal, crisis_id)
        versions = await self._versions_readable(principal, current.event.channel, crisis_id)
        out = []
        previous: dict[str, Any] | None = None
        for found in versions:
            out.append(
                {
                    "version": found.obj["modified"],
                    "time": found.event.time,
                    "by": found.event.source,
                    "event_id": found.event.id,
                    "changes": model.changes(previous, found.obj),
                }
            )
            previous = found.obj
        return out

    # crises ----------------------------------------------------------------------------
    def _channel_for(self, body: dict[str, Any]) -> Channel:
        name = body.get("channel", self.crisis_channel.name)
        channel = self.config.channel(str(name))
        if channel is None:
            raise NotFound(f"no channel named {str(name)[:40]!r}")
        return channel

    async def create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        fields = model.read_crisis_fields(body, self.config.crisis.severity, self.stakeholders, creating=True)
        obj = model.new_crisis(fields, principal.id, model.read_tlp(body))
        await self._write(principal, self._channel_for(body), obj)
        return self.view(await self.crisis(principal, obj["id"]))

    async def revise(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> dict[str, Any]:
        current = await self.crisis(principal, crisis_id)
        fields = model.read_crisis_fields(body, self.config.crisis.severity, self.stakeholders, creating=False)
        obj = model.revise_crisis(current.obj, fields)
        await self._write(principal, self.config.channels[current.event.channel], obj)
        return self.view(await self.crisis(principal, crisis_id))

    # updates and sitreps ------------------------------------------------------------------
    async def add_update(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> Event:
        await self.crisis(principal, crisis_id)
        obj = model.new_update(crisis_id, body, self.config.stakeholders[principal.id].name)
        channel = self._channel_for(body)
        result = await self._write(principal, channel, obj)
        return await self._event(channel, result)

    async def add_sitrep(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> Event:
        current = await self.crisis(principal, crisis_id)
        previous = None
        if "sitrep_id" in body:
            found = await self._latest_readable(principal, str(body["sitrep_id"]))
            if found is None or found.obj.get("type") != "report" or crisis_id not in found.obj["object_refs"]:
                raise NotFound(f"no sitrep {str(body['sitrep_id'])[:80]} of this crisis that you may see")
            previous = found.obj
        obj = model.new_sitrep(crisis_id, {k: v for k, v in body.items() if k != "sitrep_id"}, previous)
        channel = self.config.channels[current.event.channel] if "channel" not in body else self._channel_for(body)
        result = await self._write(principal, channel, obj)
        return await self._event(channel, result)

    async def _event(self, channel: Channel, result: IngestResult) -> Event:
        appended = (result.accepted or result.duplicates)[0]
        [event] = await self.store.events_by_id(channel.name, [appended.event_id])
        return event

    async def updates(self, principal: Principal, crisis_id: str) -> list[Found]:
        return await self._referring(principal, crisis_id, ["note"])

    async def sitreps(self, principal: Principal, crisis_id: str) -> list[Found]:
        return await self._referring(principal, crisis_id, ["report"])

    # acknowledgments --------------------------------------------------------------------
    async def acknowledge(
        self, principal: Principal, crisis_id: str, item_id: str, version: str | None
    ) -> dict[str, Any]:
        await self.crisis(principal, crisis_id)
        item = await self._latest_readable(principal, item_id)
        if item is None:
            raise NotFound(f"no item {item_id[:80]} that you may see")
        if version is not None and version != item.event.version:
            versions = await self._versions_readable(principal, item.event.channel, item_id)
            matching = [f for f in versions if f.event.version == version]
            if not matching:
                raise NotFound(f"no version {version[:40]} of {item_id[:80]} that you may see")
            item = matching[0]
        decision = may_acknowledge(principal, item.event)
        if not decision:
            raise Forbidden(decision.reason)
        ack = model.new_ack(crisis_id, item_id, item.event.version, principal.id)
        existing = await self.store.latest_events(item.event.channel, [ack["id"]])
        if not existing:
            model.marked(ack, item.event.tlp)  # the ack reveals no more than the item: same channel, same TLP
            await self._write_as_hub(self.config.channels[item.event.channel], [ack], principal.id)
            existing = await self.store.latest_events(item.event.channel, [ack["id"]])
        return {"item": item_id, "version": item.event.version, "acknowledged_by": principal.id,
                "time": existing[0].time, "event_id": existing[0].id}  # fmt: skip

    def _expected(self, crisis: dict[str, Any], event: Event) -> list[str]:
        """Who should acknowledge ``event``: the lead, the affected and the crisis channel's writers who may see it."""
        fields = model.crisis_fields(crisis)
        wanted = {fields["lead"], *fields["affected_stakeholders"]}
        wanted |= {p.id for p in self.config.principals.values() if self.crisis_channel.name in p.write}
        return sorted(
            sid for sid in wanted if sid in self.config.principals and may_read(self.config.principals[sid], event)
        )

    async def acknowledgments(self, principal: Principal, crisis_id: str) -> list[dict[str, Any]]:
        """Per item (each crisis version, update and sitrep version): who acknowledged it, who has not yet."""
        current = await self.crisis(principal, crisis_id)
        items = await self._versions_readable(principal, current.event.channel, crisis_id)
        for found in await self._referring(principal, crisis_id, ["note", "report"]):
            if found.obj.get("type") == "report":
                items += await self._versions_readable(principal, found.event.channel, found.obj["id"])
            else:
                items.append(found)
        acks: dict[tuple[str, str], dict[str, str]] = {}
        for ack in await self._referring(principal, crisis_id, [model.ACK_TYPE]):
            key = (ack.obj["object_ref"], ack.obj["object_modified"])
            acks.setdefault(key, {})[ack.obj["acknowledged_by"]] = ack.event.time
        out = []
        for found in items:
            done = acks.get((found.obj["id"], found.event.version), {})
            # Nobody acknowledges their own item.
            expected = [s for s in self._expected(current.obj, found.event) if s != found.event.source]
            out.append(
                {
                    "id": found.obj["id"],
                    "type": found.obj["type"],
                    "label": _label(found.obj),
                    "source": found.event.source,
                    "version": found.event.version,
                    "event_id": found.event.id,
                    "acknowledged": [{"stakeholder": s, "time": t} for s, t in sorted(done.items())],
                    "pending": [s for s in expected if s not in done],
                }
            )
        return out

    # action items -----------------------------------------------------------------------
    async def assign(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> dict[str, Any]:
        current = await self.crisis(principal, crisis_id)
        channel = self.config.channels[current.event.channel]
        decision = may_write(principal, channel.rule, current.event.tlp)
        if not decision:
            raise Forbidden(f"only those who may write {channel.name} assign action items: {decision.reason}")
        obj = model.new_action(crisis_id, body, principal.id, self.stakeholders)
        assignee = self.config.principals[obj["assignee"]]
        tlp = model.read_tlp(body) or channel.default_tlp
        if not may_read(assignee, _Probe(channel.name, tlp)):
            raise BadRequest(f"{assignee.id} could not see this action item on {channel.name} at {tlp.label}")
        await self._write(principal, channel, obj)
        found = await self._latest_readable(principal, obj["id"])
        assert found is not None
        return self.action_view(found)

    async def update_action(
        self, principal: Principal, crisis_id: str, action_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        await self.crisis(principal, crisis_id)
        found = await self._latest_readable(principal, action_id)
        if found is None or found.obj.get("type") != model.ACTION_TYPE or found.obj["crisis_ref"] != crisis_id:
            raise NotFound(f"no action item {action_id[:80]} of this crisis that you may see")
        channel = self.config.channels[found.event.channel]
        is_assignee = principal.id == found.obj["assignee"]
        if not is_assignee and channel.name not in principal.write:
            raise Forbidden(f"only the assignee ({found.obj['assignee']}) or the committee may update this action")
        obj = model.revise_action(found.obj, body)
        # The assignee may not be able to write the committee channel: the hub records its update.
        await self._write_as_hub(channel, [obj], principal.id)
        updated = await self._latest_readable(principal, action_id)
        assert updated is not None
        return self.action_view(updated)

    def action_view(self, found: Found) -> dict[str, Any]:
        obj = found.obj
        overdue = obj["status"] in OPEN_ACTION_STATUSES and obj["due"] < model.now_stix()
        return {
            **{k: v for k, v in obj.items() if k not in ("extensions", "spec_version", "type")},
            "overdue": overdue,
            "channel": found.event.channel,
            "tlp": found.event.tlp.token,
            "updated": found.event.time,
            "updated_by": found.event.source,
        }

    async def actions(self, principal: Principal, crisis_id: str) -> list[dict[str, Any]]:
        await self.crisis(principal, crisis_id)
        found = await self._referring(principal, crisis_id, [model.ACTION_TYPE])
        return sorted((self.action_view(f) for f in found), key=lambda a: a["due"])

    async def escalate_overdue(self) -> int:
        """Escalate every open action item past its due time; idempotent across hub processes."""
        channel = self.crisis_channel
        ids = sorted(await self.store.ids_of_type(channel.name, model.ACTION_TYPE))
        now = model.now_stix()
        escalated = 0
        for event in await self.store.latest_events(channel.name, ids):
            action = orjson.loads(event.raw)
            if action["status"] in OPEN_ACTION_STATUSES and not action.get("escalated") and action["due"] < now:
                await self._write_as_hub(channel, list(model.escalated(action)), HUB_SOURCE)
                escalated += 1
        return escalated

    # sitrep export ----------------------------------------------------------------------
    async def sitrep_bundle(self, principal: Principal, crisis_id: str) -> tuple[Found, Found, list[Found]]:
        """The newest sitrep the caller may read and every object it refers to that the caller may read."""
        crisis = await self.crisis(principal, crisis_id)
        reports = await self.sitreps(principal, crisis_id)
        if not reports:
            raise NotFound("this crisis has no sitrep yet that you may see")
        report = max(reports, key=lambda f: (version_key(f.event.version), f.event.id))
        refs = []
        for ref in report.obj.get("object_refs", []):
            found = crisis if ref == crisis_id else await self._latest_readable(principal, ref)
            if found is not None:
                refs.append(found)
        if self.audit is not None:
            events = [report.event, *(f.event for f in refs)]
            self.audit.record("read", principal.id, via="sitrep", events=[f"{e.channel}/{e.id}" for e in events])
        return crisis, report, refs


def _label(obj: dict[str, Any]) -> str:
    """A short human name for an item to acknowledge."""
    if model.is_crisis(obj):
        fields = model.crisis_fields(obj)
        return f"{fields['name']} (severity {fields['severity']}, {fields['status']})"
    text = obj.get("name") or obj.get("abstract") or obj.get("content") or obj["id"]
    text = " ".join(str(text).split())
    return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True, slots=True)
class _Probe:
    """A would-be event, to ask the policy before writing."""

    channel: str
    tlp: TLP
