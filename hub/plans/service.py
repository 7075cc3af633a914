"""Plans running on the store: runs started by triggers or by hand, moved by their items and the clock.

Every move of a run is read from the store and written back through the
crisis service's one write path (:meth:`hub.crisis.service.CrisisService.write_as_hub`,
hence ``ingest`` and the policy): the new version of the run and the
action items it assigns go in one submission, all or nothing. Which process
moves the runs is decided by a lease (:mod:`hub.plans.runner`); the engine
(:mod:`hub.plans.run`) computes the same move in any process, so a process
that dies mid-run leaves a run another one continues where the store says it
stands: a move is either stored whole, or not at all and made again.

Reads for people (``GET /api/v1/crises/{id}/plans``) go through the policy:
a run is an object in the crisis's channel at the run's TLP, and a reader
sees the runs, and the items, it may read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from hub.crisis import objects
from hub.crisis.model import Crisis, Stored
from hub.crisis.objects import RUN_TYPE
from hub.crisis.service import CrisisService
from hub.crisis.taxonomy import OPEN_ACTION_STATUSES
from hub.errors import BadRequest, Forbidden, NotFound
from hub.events import Event
from hub.plans import records, run
from hub.plans.carrier import coa_id
from hub.plans.check import check_carried
from hub.plans.conditions import Facts
from hub.plans.model import Plan
from hub.plans.records import RunInfo
from hub.plans.run import Advance, Inputs, ItemView, RunState
from hub.plans.triggers import starts
from hub.policy import HUB, Actor, Level, Principal, may_read, may_revise_crisis
from hub.tlp import TLP
from hub.versions import history_rank, version_rank

log = logging.getLogger(__name__)

DEFAULT_STEP_MINUTES: Final = 60
"""How long an action step without a ``timeout`` has before its items are due."""
MAX_ROUNDS: Final = 20
"""Moves one pass makes per run at most (a move that starts a child run lets the child move in the same pass)."""


@dataclass(frozen=True, slots=True)
class StepView:
    """One step of a run, as the committee sees it."""

    id: str
    name: str
    type: str
    state: str
    """``pending`` (not reached), or the engine's state of the step."""
    visits: int
    started: str | None
    due: str | None
    finished: str | None
    late: bool
    assignees: tuple[str, ...]
    waiting_on: tuple[str, ...]
    """Assignees whose item is still open."""
    done_by: tuple[str, ...]
    done_by_people: tuple[tuple[str, Actor], ...]
    """The people who closed the step's items, with the stakeholder each acted for (where a person did)."""
    withheld: tuple[str, ...]
    items: tuple[str, ...]
    note: str | None


@dataclass(frozen=True, slots=True)
class RunView:
    id: str
    crisis: str
    name: str
    plan: str
    playbook: str
    playbook_version: str
    trigger: str
    started_by: str
    started_by_person: Actor | None
    started: str
    status: str
    note: str | None
    finished: str | None
    tlp: TLP
    parent: str | None
    steps: tuple[StepView, ...]


class PlanService:
    """The plans of one hub: every read filtered by the policy, every write through the crisis service."""

    def __init__(self, crises: CrisisService) -> None:
        self.crises = crises
        self.store = crises.store
        self.config = crises.config
        self._missing: set[str] = set()

    # plans -------------------------------------------------------------------------------
    async def _plan_event(self, playbook_id: str, channels: Sequence[str], version: str | None = None) -> Stored | None:
        """The stored course-of-action carrying ``playbook_id`` (that version, else the newest) in ``channels``."""
        stix_id = coa_id(playbook_id)
        for channel, versions in (await self.store.versions(list(channels), stix_id)).items():
            events = await self.store.events_by_id(channel, list(versions.values()))
            if version is not None:
                events = [e for e in events if e.version == version] or events
            if events:
                return _load(max(events, key=version_rank))
        return None

    def _plan(self, found: Stored) -> Plan:
        """The plan a stored course-of-action carries, checked against this hub; BadRequest with every error."""
        verdict = check_carried(found.obj, self.config, tlp=found.event.tlp)
        if verdict.plan is None:
            errors = verdict.errors or verdict.warnings
            listed = "; ".join(str(p) for p in errors[:5]) or "it carries no CACAO playbook"
            raise BadRequest(f"plan {found.obj.get('name', found.event.stix_id)!r} cannot run on this hub: {listed}")
        return verdict.plan

    # reading -----------------------------------------------------------------------------
    async def runs(self, principal: Principal, crisis_id: str) -> list[RunView]:
        """The runs of the crisis that ``principal`` may read, oldest first, each step as it stands."""
        await self.crises.crisis(principal, crisis_id)
        found = await self.crises.referring(principal, crisis_id, [RUN_TYPE])
        views = []
        for stored in sorted(found, key=lambda s: s.obj["created"]):
            state, info = records.read_run(stored.obj)
            event = await self._plan_event(state.plan, list(self.config.channels), state.plan_version)
            plan = self._plan(event) if event is not None else None
            items = await self._items(stored.event.channel, state, principal)
            views.append(_view(stored, state, info, plan, items, objects.now_stix()))
        return views

    async def _items(self, channel: str, state: RunState, reader: Principal | None = None) -> dict[str, ItemView]:
        ids = [i for record in state.steps.values() for i in record.items]
        views = {}
        for event in await self.store.latest_events(channel, ids) if ids else []:
            if reader is not None and not may_read(reader, event):
                continue
            obj = _load(event).obj
            views[obj["id"]] = ItemView(
                obj["id"], obj["assignee"], obj["status"], obj["modified"], event.source, event.person,
                event.person_name,
            )  # fmt: skip
        return views

    # starting ----------------------------------------------------------------------------
    async def start_by_hand(self, principal: Principal, crisis_id: str, body: Mapping[str, Any]) -> RunView:
        """``POST /api/v1/crises/{id}/plans``: a committee member starts a plan for the crisis now."""
        if not isinstance(body, Mapping):
            raise BadRequest("the body must be a JSON object")
        playbook = body.get("plan")
        if not isinstance(playbook, str) or not playbook.startswith("playbook--"):
            raise BadRequest("plan must be the id of a CACAO playbook the hub stores (playbook--<UUID>)")
        crisis = await self.crises.stored_crisis(principal, crisis_id)
        decision = may_revise_crisis(principal, crisis.event)
        if not decision:
            raise Forbidden(decision.reason)
        event = await self._plan_event(playbook, list(principal.read))
        if event is None or not may_read(principal, event.event):
            raise NotFound(f"no plan {playbook[:80]} that you may see")
        now = objects.now_stix()
        run_id = records.hand_run_id(crisis_id, playbook, event.event.version, now)
        await self._start(run_id, crisis, event, "by-hand", principal.id, now, person=principal.person)
        await self._move_run(run_id, crisis.event.channel)
        [view] = [v for v in await self.runs(principal, crisis_id) if v.id == run_id]
        return view

    async def _start(
        self, run_id: str, crisis: Stored, plan_event: Stored, trigger: str, started_by: str, now: str,
        parent: tuple[str, str] | None = None, person: Actor | None = None,
    ) -> None:  # fmt: skip
        plan = self._plan(plan_event)
        state = run.start(run_id, plan, crisis.obj["id"])
        info = RunInfo(plan.name, plan_event.event.stix_id, trigger, started_by, now, parent, person)
        tlp = _run_tlp(crisis.event, plan_event.event)
        exercise = objects.is_exercise(crisis.obj)
        obj = records.run_object(state, info, now, tlp, exercise=exercise)
        channel = self.config.channels[crisis.event.channel]
        await self.crises.write_as_hub(channel, [obj], quoted=[crisis.event, plan_event.event])
        log.info("plan %r started for crisis %s (%s)", plan.name, crisis.obj["id"], trigger)

    # moving ------------------------------------------------------------------------------
    async def reconcile(self) -> int:
        """One pass: start the runs triggers call for, move every running run as far as it goes. Moves made."""
        moved = 0
        for channel in self.config.channels:
            ids = sorted(await self.store.ids_of_type(channel, "incident"))
            for event in await self.store.latest_events(channel, ids) if ids else []:
                crisis = _load(event)
                if objects.is_crisis(crisis.obj):
                    moved += await self._trigger(crisis)
        for channel in self.config.channels:
            for run_id in sorted(await self.store.ids_of_type(channel, RUN_TYPE)):
                moved += await self._move_run(run_id, channel)
        return moved

    async def _trigger(self, crisis: Stored) -> int:
        if not self.config.plans:
            return 0
        versions = [self.crises.crisis_value(s) for s in await self._versions(crisis)]
        started = 0
        for trigger in self.config.plans:
            run_id = records.trigger_run_id(crisis.obj["id"], trigger.name)
            if not starts(trigger, versions) or await self.store.latest(crisis.event.channel, [run_id]):
                continue
            event = await self._plan_event(trigger.plan, [trigger.channel])
            if event is None:
                if trigger.name not in self._missing:  # said once per process, not at every pass
                    self._missing.add(trigger.name)
                    log.warning(
                        "plan %s of trigger %s is not stored in %s", trigger.plan, trigger.name, trigger.channel
                    )
                continue
            try:
                kind = (
                    "declared"
                    if "declared" in trigger.on and versions[0].severity.level >= trigger.min_severity
                    else "raised"
                )
                await self._start(run_id, crisis, event, kind, HUB, objects.now_stix())
            except BadRequest as exc:
                log.warning("cannot start plan %s for crisis %s: %s", trigger.name, crisis.obj["id"], exc.description)
                continue
            started += 1
        return started

    async def _versions(self, crisis: Stored) -> list[Stored]:
        """Every stored version of a crisis, oldest first: the hub's own read, for its triggers."""
        channel, stix_id = crisis.event.channel, crisis.obj["id"]
        versions = (await self.store.versions([channel], stix_id)).get(channel, {})
        events = sorted(await self.store.events_by_id(channel, list(versions.values())), key=history_rank)
        return [s for s in map(_load, events) if objects.is_crisis(s.obj)]

    async def _move_run(self, run_id: str, channel: str) -> int:
        moves = 0
        for _ in range(MAX_ROUNDS):
            if not await self._move_once(run_id, channel):
                break
            moves += 1
        return moves

    async def _move_once(self, run_id: str, channel: str) -> bool:
        """Read the run and all it depends on, advance it, and write the move; False if it did not move."""
        found = [_load(e) for e in await self.store.latest_events(channel, [run_id])]
        if not found or found[0].obj.get("status") != run.RUNNING:
            return False
        current = found[0]
        state, info = records.read_run(current.obj)
        crises = [_load(e) for e in await self.store.latest_events(channel, [state.crisis])]
        if not crises:
            return False
        crisis = crises[0]
        now = objects.now_stix()
        crisis_value = self.crises.crisis_value(crisis)
        if crisis_value.status == "closed":
            moved = Advance(run.cancel(state, now, "the crisis was closed"))
            plan_event = None
        else:
            plan_event = await self._plan_event(state.plan, list(self.config.channels), state.plan_version)
            if plan_event is None:
                moved = Advance(run.cancel(state, now, "the plan is no longer stored"))
            else:
                moved = await self._advance(state, run_id, channel, crisis, crisis_value, plan_event, now)
        if not moved.changed(state):
            return False
        await self._write_move(moved, info, current, crisis, plan_event, now)
        return True

    async def _advance(
        self, state: RunState, run_id: str, channel: str, crisis: Stored, value: Crisis, plan_event: Stored, now: str
    ) -> Advance:
        try:
            plan = self._plan(plan_event)
        except BadRequest as exc:
            return Advance(run.cancel(state, now, exc.description[:2000]))
        tlp = _run_tlp(crisis.event, plan_event.event)
        principals = self.config.principals
        children = [r.child for r in state.steps.values() if r.child]
        child_events = await self.store.latest_events(channel, children) if children else []
        statuses = {e.stix_id: _load(e).obj.get("status", "") for e in child_events}
        inputs = Inputs(
            facts=Facts(
                value.severity.level,
                value.status,
                value.category,
                value.subcategory,
                value.affected_sectors,
                value.affected_stakeholders,
                value.exercise,
            ),  # fmt: skip
            items=await self._items(channel, state),
            children=statuses,
            now=now,
            default_due_ms=DEFAULT_STEP_MINUTES * 60_000,
            may_assign=lambda s: s in principals and bool(may_read(principals[s], Level(channel, tlp))),
            item_id=lambda step, visit, who: records.item_id(run_id, step, visit, who),
            child_id=lambda step, visit: records.child_id(run_id, step, visit),
        )
        return run.advance(state, plan, inputs)

    async def _write_move(
        self, moved: Advance, info: RunInfo, current: Stored, crisis: Stored, plan_event: Stored | None, now: str
    ) -> None:
        exercise = objects.is_exercise(crisis.obj)
        tlp = _run_tlp(crisis.event, plan_event.event) if plan_event is not None else current.event.tlp
        modified = objects.later_than(current.obj["modified"], now)
        stakeholders = tuple(self.config.stakeholders)
        written = [
            records.step_item(crisis.obj["id"], item, moved.state.id, modified, tlp, stakeholders, exercise=exercise)
            for item in moved.items
        ]
        written.append(records.run_object(moved.state, info, modified, tlp, exercise=exercise))
        quoted = [crisis.event] + ([plan_event.event] if plan_event is not None else [])
        await self.crises.write_as_hub(self.config.channels[crisis.event.channel], written, quoted=quoted)
        for child in moved.children:
            event = await self._plan_event(child.playbook, list(self.config.channels))
            if event is None:
                log.warning("sub-plan %s of run %s is not stored", child.playbook, moved.state.id)
                continue
            try:
                await self._start(child.id, crisis, event, "sub-plan", HUB, now,
                                  parent=(moved.state.id, child.step))  # fmt: skip
            except BadRequest as exc:
                log.warning("cannot start sub-plan %s: %s", child.playbook, exc.description)


def _load(event: Event) -> Stored:
    return Stored(event, orjson.loads(event.raw))


def _run_tlp(crisis: Event, plan: Event | None) -> TLP:
    """A run quotes its crisis and its plan: marked at the higher of their TLPs."""
    return max(crisis.tlp, plan.tlp) if plan is not None else crisis.tlp


def _view(
    stored: Stored, state: RunState, info: RunInfo, plan: Plan | None, items: Mapping[str, ItemView], now: str
) -> RunView:
    order = list(plan.steps) if plan is not None else list(state.steps)
    steps = []
    for step_id in order:
        record = state.steps.get(step_id)
        step = plan.steps.get(step_id) if plan is not None else None
        name = step.name if step is not None else step_id
        kind = step.type if step is not None else ""
        if record is None:
            steps.append(StepView(step_id, name, kind, "pending", 0, None, None, None, False, (), (), (), (), (), (),
                                  None))  # fmt: skip
            continue
        open_items = [items[i] for i in record.items if i in items and items[i].status in OPEN_ACTION_STATUSES]
        waiting = tuple(i.assignee for i in open_items) if record.state == run.RUNNING else ()
        late = record.state == run.RUNNING and record.due is not None and record.due < now
        closers = [items[i] for i in record.items if i in items and items[i].changed_by in record.done_by]
        people = tuple((i.changed_by, Actor(i.person, i.person_name)) for i in closers if i.person)
        steps.append(
            StepView(step_id, name, kind, record.state, record.visits, record.started, record.due, record.finished,
                     late, record.assignees, waiting, record.done_by, people, record.withheld, record.items,
                     record.note)
        )  # fmt: skip
    return RunView(
        id=state.id, crisis=state.crisis, name=info.name, plan=info.plan_ref, playbook=state.plan,
        playbook_version=state.plan_version, trigger=info.trigger, started_by=info.started_by,
        started_by_person=info.started_by_person, started=info.created,
        status=state.status, note=state.note, finished=state.finished, tlp=stored.event.tlp,
        parent=info.parent[0] if info.parent else None, steps=tuple(steps),
    )  # fmt: skip
