"""The crisis workflow on the store: every write goes through validation and the policy.

Crisis objects are ordinary STIX objects in ordinary channels, so they are
stored, streamed live, served over TAXII and filtered by TLP exactly like
indicators. This module adds the queries the workflow needs — the crises
a caller may see, what refers to a crisis, who acknowledged what — on top of
the store's type and reference indexes.

It answers in the typed values of :mod:`hub.crisis.model` (a
:class:`~hub.crisis.model.Crisis`, an
:class:`~hub.crisis.model.ActionItem`, …) or in stored events; the routes
turn them into JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from hub.config import Channel, Config
from hub.crisis import model, objects, report
from hub.crisis.model import (
    Acknowledgment,
    AckStatus,
    ActionItem,
    Crisis,
    Revision,
    Sitrep,
    SitrepEntry,
    SitrepExport,
    Stored,
)
from hub.crisis.schema import hub_object_problem
from hub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from hub.events import Event, id_key
from hub.ingest import Derived, IngestResult, ingest
from hub.metrics import Metrics
from hub.people import PERSON_ID, Person
from hub.people.service import People
from hub.policy import (
    HUB,
    Actor,
    Destination,
    Level,
    Principal,
    channel_destination,
    expected_acknowledgers,
    hub_principal,
    may_acknowledge,
    may_assign_action,
    may_declare_crisis,
    may_derive,
    may_move_action,
    may_read,
    may_revise_crisis,
    may_revise_sitrep,
    may_write_channel,
    readable_channels,
)
from hub.stix import validate
from hub.store import Store
from hub.store.audit import AuditLog
from hub.tlp import TLP
from hub.versions import history_rank, oldest, version_rank

log = logging.getLogger(__name__)

HUB_SOURCE = HUB
"""The ``source`` of the events the hub writes unprompted (escalations), and the owner of every crisis object."""


def _found(event: Event) -> Stored | None:
    """The stored object, or None (logged) if it is not one the crisis workflow can read.

    Only the crisis API writes crisis objects, checked against their schema,
    but the store may hold older ones: one bad item must never take the
    committee's board down.
    """
    try:
        obj = orjson.loads(event.raw)
        problem = hub_object_problem(obj) if isinstance(obj, dict) else "not a JSON object"
    except orjson.JSONDecodeError as exc:
        problem = f"not JSON: {exc}"
    if problem is not None:
        log.warning("skipping unreadable %s (%s/%s): %s", event.stix_id, event.channel, event.id, problem)
        return None
    return Stored(event, obj)


def _readable(events: Iterable[Event], principal: Principal) -> list[Stored]:
    """The events ``principal`` may read, as stored objects, unreadable ones skipped."""
    return [f for f in (_found(e) for e in events if may_read(principal, e)) if f is not None]


class CrisisService:
    """The crisis workflow for one hub: every read filtered by the policy, every write through ``ingest``."""

    def __init__(
        self,
        store: Store,
        config: Config,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
        people: People | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.audit = audit
        self.metrics = metrics
        self.people = people
        self.stakeholders = tuple(config.stakeholders)
        self.hub = hub_principal(config.channels)

    def display_names(self) -> dict[str, str]:
        """Stakeholder ids (and the hub's own source) to the display names of the config, for briefings."""
        return {HUB: self.hub.name, **{sid: s.name for sid, s in self.config.stakeholders.items()}}

    @property
    def crisis_channel(self) -> Channel:
        return self.config.channels[self.config.crisis.channel]

    # writing ---------------------------------------------------------------------------
    async def _write(
        self,
        writer: Principal,
        channel: Channel,
        objects: Sequence[dict[str, Any]],
        *,
        source: str | None = None,
        person: Actor | None = None,
        quoted: Sequence[Event] = (),
    ) -> IngestResult:
        """Validate and ingest crisis objects through the one write path; BadRequest with the reason if refused.

        Every crisis object is owned by the hub, so that only this API makes
        its versions. ``writer`` is the acting stakeholder, or the hub when it
        writes on the actor's (``source``) behalf after the policy let them
        act, with ``person`` who acted for them. ``quoted``: the stored events whose content the objects copy.
        """
        submission = await asyncio.to_thread(validate, list(objects), channel.default_tlp)
        derived = Derived(tuple(quoted), self._audience(channel)) if quoted else None
        result = await ingest(
            self.store, self.config.principals, writer, channel, submission, self.audit, "crisis", self.metrics,
            source=source, owner=HUB, derived=derived, person=person,
        )  # fmt: skip
        if result.rejected:
            raise BadRequest(result.rejected[0].reason)
        return result

    def _audience(self, channel: Channel) -> Destination:
        return channel_destination(channel.name, self.config.principals)

    def _on_behalf(self, principal: Principal, channel: Channel) -> Principal:
        """Who writes for ``principal`` into ``channel``, once the policy let it act there: itself, or the hub."""
        return principal if may_write_channel(principal, channel.name) else self.hub

    async def _quotable(self, principal: Principal, refs: Iterable[str], channel: Channel, tlp: TLP) -> list[Event]:
        """The events behind ``refs`` (ids a new object will name), each one the author may see and that may be
        named at ``tlp`` in ``channel``; BadRequest naming the first that may not."""
        events = []
        audience = self._audience(channel)
        for ref in refs:
            found = await self._latest_readable(principal, ref)
            if found is None:
                raise BadRequest(f"object_refs: no object {ref[:80]} that you may see")
            decision = may_derive([found.event], audience, tlp)
            if not decision:
                raise BadRequest(f"object_refs: {ref[:80]} cannot be named here: {decision.reason}")
            events.append(found.event)
        return events

    # reading ---------------------------------------------------------------------------
    async def _latest_readable(self, principal: Principal, stix_id: str) -> Stored | None:
        for channel in readable_channels(principal):
            found = _readable(await self.store.latest_events(channel, [stix_id]), principal)
            if found:
                return found[0]
        return None

    async def _versions_readable(self, principal: Principal, channel: str, stix_id: str) -> list[Stored]:
        """Every version of ``stix_id`` in ``channel`` that ``principal`` may read, oldest first."""
        versions = (await self.store.versions([channel], stix_id)).get(channel, {})
        found = _readable(await self.store.events_by_id(channel, list(versions.values())), principal)
        return sorted(found, key=lambda f: history_rank(f.event))

    async def _first_source(self, channel: str, stix_id: str) -> str:
        """Who wrote the first stored version of ``stix_id`` in ``channel``: the author, for the policy."""
        versions = (await self.store.versions([channel], stix_id)).get(channel, {})
        first = oldest(await self.store.events_by_id(channel, list(versions.values())))
        return first.source if first is not None else HUB

    async def _referring(self, principal: Principal, stix_id: str, types: Iterable[str]) -> list[Stored]:
        """The newest readable version of every object of ``types`` referring to ``stix_id``, in event order."""
        wanted = set(types)
        found: list[Stored] = []
        for channel in readable_channels(principal):
            ids = [i for i in await self.store.referring(channel, stix_id) if i.split("--", 1)[0] in wanted]
            found += _readable(await self.store.latest_events(channel, ids), principal)
        return sorted(found, key=lambda f: id_key(f.event.id))

    async def _crisis(self, principal: Principal, crisis_id: str) -> Stored:
        found = await self._latest_readable(principal, crisis_id)
        if found is None or not objects.is_crisis(found.obj):
            raise NotFound(f"no crisis {crisis_id} that you may see")
        return found

    def _crisis_value(self, found: Stored) -> Crisis:
        return Crisis.from_stored(found, self.config.crisis.severity)

    async def crisis(self, principal: Principal, crisis_id: str) -> Crisis:
        """The newest version of the crisis that ``principal`` may read; NotFound if none."""
        return self._crisis_value(await self._crisis(principal, crisis_id))

    async def list_crises(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        min_severity: int | None = None,
        sector: str | None = None,
        include_closed: bool = False,
        exercise: bool | None = None,
    ) -> list[Crisis]:
        """The crises ``principal`` may see that the filters let through, most severe first, then most recently
        updated; ``exercise`` True only exercises, False only real crises, None both."""
        crises = []
        for channel in readable_channels(principal):
            ids = sorted(await self.store.ids_of_type(channel, "incident"))
            for found in _readable(await self.store.latest_events(channel, ids), principal):
                if not objects.is_crisis(found.obj):
                    continue
                crisis = self._crisis_value(found)
                if model.is_listed(
                    crisis, status, min_severity, sector, include_closed=include_closed, exercise=exercise
                ):
                    crises.append(crisis)
        crises.sort(key=lambda c: (c.severity.level, c.updated), reverse=True)
        return crises

    async def history(self, principal: Principal, crisis_id: str) -> list[Revision]:
        """Every readable version: who changed what, when."""
        current = await self._crisis(principal, crisis_id)
        return model.revisions(await self._versions_readable(principal, current.event.channel, crisis_id))

    # for the plans (hub.plans.service): the same reads and the one write path ------------
    async def stored_crisis(self, principal: Principal, crisis_id: str) -> Stored:
        """The newest version of the crisis ``principal`` may read, as stored; NotFound if none."""
        return await self._crisis(principal, crisis_id)

    def crisis_value(self, found: Stored) -> Crisis:
        """A stored crisis version as a :class:`Crisis`, its severity named by the configured scale."""
        return self._crisis_value(found)

    async def referring(self, principal: Principal, stix_id: str, types: Iterable[str]) -> list[Stored]:
        """The newest readable version of every object of ``types`` referring to ``stix_id``, in event order."""
        return await self._referring(principal, stix_id, types)

    async def write_as_hub(
        self, channel: Channel, objects: Sequence[dict[str, Any]], *, quoted: Sequence[Event] = ()
    ) -> IngestResult:
        """Write objects of the hub's own workflow (a plan's run and its items), quoting ``quoted``."""
        return await self._write(self.hub, channel, objects, quoted=quoted)

    # crises ----------------------------------------------------------------------------
    def _channel_for(self, body: dict[str, Any]) -> Channel:
        name = body.get("channel", self.crisis_channel.name)
        channel = self.config.channel(str(name))
        if channel is None:
            raise NotFound(f"no channel named {str(name)[:40]!r}")
        return channel

    async def create(self, principal: Principal, body: dict[str, Any]) -> Crisis:
        fields = objects.read_crisis_fields(body, self.config.crisis.severity, self.stakeholders, creating=True)
        channel = self._channel_for(body)
        tlp = objects.read_tlp(body)
        decision = may_declare_crisis(
            principal, self.crisis_channel.rule, channel.rule, channel.default_tlp if tlp is None else tlp
        )
        if not decision:
            raise Forbidden(decision.reason)
        obj = objects.new_crisis(fields, principal.id, tlp)
        await self._write(principal, channel, [obj])
        return await self.crisis(principal, obj["id"])

    async def revise(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> Crisis:
        current = await self._crisis(principal, crisis_id)
        decision = may_revise_crisis(principal, current.event)
        if not decision:
            raise Forbidden(decision.reason)
        fields = objects.read_crisis_fields(body, self.config.crisis.severity, self.stakeholders, creating=False)
        obj = objects.revise_crisis(current.obj, fields)
        await self._write(principal, self.config.channels[current.event.channel], [obj], quoted=[current.event])
        return await self.crisis(principal, crisis_id)

    # updates and sitreps ------------------------------------------------------------------
    async def add_update(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> Event:
        """A situation update, in any channel the author writes. It names its crisis (whose id reveals nothing
        but that a crisis exists, as the update itself says); any other object it names must be one its readers
        may see."""
        crisis = await self._crisis(principal, crisis_id)
        obj = objects.new_update(
            crisis_id, body, self.config.stakeholders[principal.id].name, exercise=objects.is_exercise(crisis.obj)
        )
        channel = self._channel_for(body)
        tlp = objects.read_level(body, channel.default_tlp)
        await self._quotable(principal, [r for r in obj["object_refs"] if r != crisis_id], channel, tlp)
        result = await self._write(principal, channel, [obj])
        return await self._event(channel, result)

    async def add_sitrep(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> Event:
        """A new sitrep, or with ``sitrep_id`` its next version.

        A new version is a write of that sitrep: by its author or a writer of
        the crisis channel, into the previous version's channel (or one the
        previous version may go to) and at no lower TLP — it carries the
        previous text forward. Every object it names must be one its readers
        may see.
        """
        current = await self._crisis(principal, crisis_id)
        previous: Stored | None = None
        if "sitrep_id" in body:
            previous = await self._latest_readable(principal, str(body["sitrep_id"]))
            if previous is None or previous.obj.get("type") != "report" or crisis_id not in previous.obj["object_refs"]:
                raise NotFound(f"no sitrep {str(body['sitrep_id'])[:80]} of this crisis that you may see")
            author = await self._first_source(previous.event.channel, previous.obj["id"])
            decision = may_revise_sitrep(principal, previous.event, author, self.crisis_channel.name)
            if not decision:
                raise Forbidden(decision.reason)
        home = previous.event.channel if previous is not None else current.event.channel
        channel = self._channel_for(body) if "channel" in body else self.config.channels[home]
        obj = objects.new_sitrep(
            crisis_id,
            {k: v for k, v in body.items() if k != "sitrep_id"},
            previous.obj if previous else None,
            exercise=objects.is_exercise(current.obj),
        )
        submission = await asyncio.to_thread(validate, [obj], channel.default_tlp)
        tlp = submission.items[0].tlp if submission.items else channel.default_tlp
        refs = await self._quotable(principal, [r for r in obj["object_refs"] if r != crisis_id], channel, tlp)
        if previous is None:
            result = await self._write(principal, channel, [obj])
        else:
            writer = self._on_behalf(principal, channel) if channel.name == home else principal
            result = await self._write(writer, channel, [obj], source=principal.id, person=principal.person,
                                       quoted=[previous.event, *refs])  # fmt: skip
        return await self._event(channel, result)

    async def _event(self, channel: Channel, result: IngestResult) -> Event:
        appended = (result.accepted or result.duplicates)[0]
        [event] = await self.store.events_by_id(channel.name, [appended.event_id])
        return event

    async def updates(self, principal: Principal, crisis_id: str) -> list[Event]:
        """The newest readable version of every note naming the crisis (updates and escalations), in event order."""
        return [f.event for f in await self._referring(principal, crisis_id, ["note"])]

    async def sitreps(self, principal: Principal, crisis_id: str) -> list[Event]:
        """The newest readable version of every sitrep of the crisis, in event order."""
        return [f.event for f in await self._referring(principal, crisis_id, ["report"])]

    # acknowledgments --------------------------------------------------------------------
    async def acknowledge(
        self, principal: Principal, crisis_id: str, item_id: str, version: str | None
    ) -> Acknowledgment:
        """``principal`` has seen ``version`` (by default the newest) of ``item_id``; once per version."""
        crisis = await self._crisis(principal, crisis_id)
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
        ack = objects.new_ack(
            crisis_id, item_id, item.event.version, principal.id, exercise=objects.is_exercise(crisis.obj)
        )
        existing = await self.store.latest_events(item.event.channel, [ack["id"]])
        if not existing:
            # The ack reveals no more than the item: the item's channel, the item's TLP, written there by the
            # hub for one who may see the item but not write its channel.
            objects.marked(ack, item.event.tlp)
            channel = self.config.channels[item.event.channel]
            await self._write(self._on_behalf(principal, channel), channel, [ack], source=principal.id,
                              person=principal.person, quoted=[item.event])  # fmt: skip
            existing = await self.store.latest_events(item.event.channel, [ack["id"]])
        recorded = existing[0]
        return Acknowledgment(
            item_id, item.event.version, recorded.source, recorded.time, recorded.id, recorded.person_name or None
        )

    def _expected(self, crisis: Crisis, event: Event) -> list[str]:
        """Who should acknowledge ``event``: the lead, the affected and the crisis channel's writers who may see it."""
        return expected_acknowledgers(self.config.principals.values(), event, crisis.lead,
                                      crisis.affected_stakeholders, self.crisis_channel.name)  # fmt: skip

    async def acknowledgments(self, principal: Principal, crisis_id: str) -> list[AckStatus]:
        """Per item (each crisis version, update and sitrep version): who acknowledged it, who has not yet."""
        found = await self._crisis(principal, crisis_id)
        current = self._crisis_value(found)
        items = await self._versions_readable(principal, found.event.channel, crisis_id)
        for item in await self._referring(principal, crisis_id, ["note", "report"]):
            if item.obj.get("type") == "report":
                items += await self._versions_readable(principal, item.event.channel, item.obj["id"])
            else:
                items.append(item)
        acks: dict[tuple[str, str], list[Acknowledgment]] = {}
        for stored in await self._referring(principal, crisis_id, [objects.ACK_TYPE]):
            ack = Acknowledgment.from_stored(stored)
            acks.setdefault((ack.item, ack.version), []).append(ack)
        statuses = []
        for item in items:
            expected = self._expected(current, item.event)
            statuses.append(model.ack_status(item, expected, acks.get((item.obj["id"], item.event.version), ())))
        return statuses

    # action items -----------------------------------------------------------------------
    async def assign(self, principal: Principal, crisis_id: str, body: dict[str, Any]) -> ActionItem:
        current = await self._crisis(principal, crisis_id)
        channel = self.config.channels[current.event.channel]
        decision = may_assign_action(principal, current.event)
        if not decision:
            raise Forbidden(decision.reason)
        obj = objects.new_action(
            crisis_id, body, principal.id, self.stakeholders, exercise=objects.is_exercise(current.obj)
        )
        assignee = self.config.principals[obj["assignee"]]
        tlp = objects.read_level(body, channel.default_tlp)
        if not may_read(assignee, Level(channel.name, tlp)):
            raise BadRequest(f"{assignee.id} could not see this action item on {channel.name} at {tlp.label}")
        if body.get("assignee_person") is not None:
            person = await self._assignee_person(body["assignee_person"], assignee.id, Level(channel.name, tlp))
            obj["assignee_person"] = {"id": person.id, "name": person.name}
        await self._write(principal, channel, [obj])
        found = await self._latest_readable(principal, obj["id"])
        assert found is not None
        return ActionItem.from_stored(found, objects.now_stix())

    async def _assignee_person(self, person_id: Any, assignee: str, level: Level) -> Person:
        """The person of ``assignee`` an action item names, who may sign in and read it; else BadRequest."""
        if not isinstance(person_id, str) or self.people is None:
            raise BadRequest("assignee_person must be the id of a person of the assignee")
        person = await self.people.get(person_id) if PERSON_ID.match(person_id) else None
        if person is None or person.stakeholder != assignee:
            raise BadRequest(f"assignee_person must be a person of {assignee}, got {person_id[:64]!r}")
        try:
            rights = self.people.rights(person)
        except Unauthorized as exc:
            raise BadRequest(f"{person.id} may not be assigned anything: {exc.description}") from None
        if not may_read(rights, level):
            raise BadRequest(f"{person.id} could not see this action item on {level.channel} at {level.tlp.label}")
        return person

    async def update_action(
        self, principal: Principal, crisis_id: str, action_id: str, body: dict[str, Any]
    ) -> ActionItem:
        await self._crisis(principal, crisis_id)
        found = await self._latest_readable(principal, action_id)
        if found is None or found.obj.get("type") != objects.ACTION_TYPE or found.obj["crisis_ref"] != crisis_id:
            raise NotFound(f"no action item {action_id[:80]} of this crisis that you may see")
        decision = may_move_action(principal, found.event, found.obj["assignee"])
        if not decision:
            raise Forbidden(decision.reason)
        obj = objects.revise_action(found.obj, body)
        # The assignee may not be able to write the committee channel: the hub records its update there.
        channel = self.config.channels[found.event.channel]
        await self._write(self._on_behalf(principal, channel), channel, [obj], source=principal.id,
                          person=principal.person, quoted=[found.event])  # fmt: skip
        updated = await self._latest_readable(principal, action_id)
        assert updated is not None
        return ActionItem.from_stored(updated, objects.now_stix())

    async def actions(self, principal: Principal, crisis_id: str) -> list[ActionItem]:
        """The action items of the crisis that ``principal`` may read, the soonest due first."""
        await self._crisis(principal, crisis_id)
        now = objects.now_stix()
        found = await self._referring(principal, crisis_id, [objects.ACTION_TYPE])
        return sorted((ActionItem.from_stored(f, now) for f in found), key=lambda a: a.due)

    async def escalate_overdue(self) -> int:
        """Escalate every open action item past its due time; idempotent across hub processes.

        The escalated version and the note quote the action: they go to its
        channel at its TLP (granular markings included). The note names the
        stakeholders by their display names and the due time absolutely, so
        every process writes the same note. An item that cannot be escalated
        is logged and skipped; the others still are.
        """
        channel = self.crisis_channel
        names = self.display_names()
        ids = sorted(await self.store.ids_of_type(channel.name, objects.ACTION_TYPE))
        now = objects.now_stix()
        escalated = 0
        for event in await self.store.latest_events(channel.name, ids):
            found = _found(event)
            if found is None:
                continue
            action = ActionItem.from_stored(found, now)
            if action.overdue and not action.escalated:
                try:
                    await self._write(
                        self.hub, channel, list(objects.escalated(found.obj, event.tlp, names)), quoted=[event]
                    )
                except BadRequest as exc:
                    log.warning("cannot escalate %s: %s", action.id, exc.description)
                    continue
                escalated += 1
        return escalated

    # after-action report -----------------------------------------------------------------
    async def report(self, principal: Principal, crisis_id: str) -> report.Report:
        """The after-action report of the crisis, of what ``principal`` may read (see :mod:`hub.crisis.report`)."""
        found = await self._crisis(principal, crisis_id)
        versions = await self._versions_readable(principal, found.event.channel, crisis_id)
        notes = await self._referring(principal, crisis_id, ["note"])
        sitreps = [
            version
            for newest in await self._referring(principal, crisis_id, ["report"])
            for version in await self._versions_readable(principal, newest.event.channel, newest.obj["id"])
        ]
        actions = [
            await self._versions_readable(principal, newest.event.channel, newest.obj["id"])
            for newest in await self._referring(principal, crisis_id, [objects.ACTION_TYPE])
        ]
        acks = [Acknowledgment.from_stored(s) for s in await self._referring(principal, crisis_id, [objects.ACK_TYPE])]
        own = {crisis_id, *(f.obj["id"] for f in (*notes, *sitreps)), *(v[0].obj["id"] for v in actions if v)}
        named: dict[str, Event] = {}
        for ref in dict.fromkeys(r for f in (*notes, *sitreps) for r in f.obj.get("object_refs", ())):
            if ref in own or ref in named:
                continue
            seen = await self._latest_readable(principal, ref)
            if seen is None:
                continue
            named[ref] = seen.event
            for sighting in await self._referring(principal, ref, ["sighting"]):
                named.setdefault(sighting.obj["id"], sighting.event)
        source = report.ReportSource(
            crisis_versions=versions,
            notes=notes,
            sitreps=sitreps,
            actions=actions,
            acks=acks,
            statuses=await self.acknowledgments(principal, crisis_id),
            named=list(named.values()),
        )
        return report.build_report(source, self.config.principals.values(), HUB, objects.now_stix())

    # sitrep export ----------------------------------------------------------------------
    async def sitrep_bundle(self, principal: Principal, crisis_id: str) -> SitrepExport:
        """The newest sitrep the caller may read and every object it refers to that the caller may read."""
        crisis = await self._crisis(principal, crisis_id)
        reports = await self._referring(principal, crisis_id, ["report"])
        if not reports:
            raise NotFound("this crisis has no sitrep yet that you may see")
        report = max(reports, key=lambda f: version_rank(f.event))
        refs = []
        for ref in report.obj.get("object_refs", []):
            found = crisis if ref == crisis_id else await self._latest_readable(principal, ref)
            if found is not None:
                refs.append(found)
        events = (report.event, *(f.event for f in refs))
        if self.audit is not None:
            self.audit.record_for(principal, "read", via="sitrep", events=[f"{e.channel}/{e.id}" for e in events])
        return SitrepExport(
            crisis=self._crisis_value(crisis),
            sitrep=Sitrep.from_object(report.obj),
            events=events,
            entries=tuple(SitrepEntry.from_stored(f) for f in refs if f.obj["id"] != crisis_id),
        )
