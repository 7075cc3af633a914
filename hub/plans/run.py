"""One run of a plan for one crisis: the state machine that walks a playbook's workflow. Pure.

A run is a set of *cursors*, each standing on one step with a *stack* of the
branches it is in. CACAO's branching steps work like calls: a ``parallel``
step starts one branch per ``next_steps`` entry, an ``if-condition``,
``switch-condition`` or ``while-condition`` one branch; each branch ends at
an ``end`` step, which returns to the step that started it. A parallel step
completes when all its branches have; an if or switch step when its branch
has; a while step checks its condition again. The end of the top-level
workflow completes the run.

What a step does when a cursor reaches it:

- ``start``: nothing; goes on.
- ``action`` whose commands are all ``manual``: one action item per
  stakeholder its agent names (an organisation, every stakeholder of a
  sector, every member of a group), due after the step's ``timeout`` (the
  service's default otherwise). It succeeds when every item is completed and
  fails once every item is closed and one was failed or cancelled. A
  stakeholder who may not read the run's TLP on the crisis channel is never
  assigned (it is recorded as withheld); a step that can assign nobody fails.
  An action with other commands is kept and shown, never executed: it is
  skipped.
- ``playbook-action``: a child run of the named plan, started with this one;
  the step succeeds or fails as the child run completes or fails.
- ``delay``: the step waits that long before it starts. ``timeout``: an
  action not settled by then is late; if the step has ``on_failure``, the run
  takes it (the items stay open and escalate as any late item does);
  otherwise the step keeps waiting, late.

After a step: ``on_success`` or ``on_failure`` if the step has the one that
applies, else ``on_completion``; with no edge to take, a success ends the
branch like an ``end`` step, a failure fails the run (through the playbook's
``workflow_exception`` step when it has one).

:func:`advance` is a function of the run, the plan, the crisis, the items
and child runs as stored, and the time: every hub process computes the same
next state from the same inputs; the service makes sure only one writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from hub.plans.conditions import ConditionError, Facts, evaluate, switch_value
from hub.plans.model import Plan, Step

RUNNING: Final = "running"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
RUN_STATUSES: Final = (RUNNING, COMPLETED, FAILED, CANCELLED)

# step states
DELAYED: Final = "delayed"
TIMED_OUT: Final = "timed-out"
SKIPPED: Final = "skipped"
STEP_STATES: Final = (DELAYED, RUNNING, COMPLETED, FAILED, TIMED_OUT, SKIPPED)

MAX_MOVES: Final = 1000
"""Moves one advance may make: a loop that never waits for anyone fails the run instead of spinning."""
MAX_VISITS: Final = 100
"""Times one step may be reached in a run (a while loop's bound when its condition never turns false)."""

ITEM_DONE: Final = "completed"
ITEM_FAILED: Final = frozenset({"failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Frame:
    """A branch a cursor is in: the step that started it and which of its branches."""

    step: str
    branch: int


@dataclass(frozen=True, slots=True)
class Cursor:
    step: str
    stack: tuple[Frame, ...] = ()


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What happened to one step in this run (its latest visit)."""

    state: str
    visits: int = 1
    started: str | None = None
    wake: str | None = None
    """A delayed step starts then."""
    due: str | None = None
    finished: str | None = None
    items: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()
    """Stakeholders the agent names who may not read the run's TLP: never assigned."""
    done_by: tuple[str, ...] = ()
    child: str | None = None
    branches_done: tuple[int, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RunState:
    id: str
    crisis: str
    plan: str
    """The plan's playbook id."""
    plan_version: str
    status: str
    cursors: tuple[Cursor, ...]
    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    note: str | None = None
    finished: str | None = None


@dataclass(frozen=True, slots=True)
class ItemView:
    """An action item of the run as stored now."""

    id: str
    assignee: str
    status: str
    modified: str
    changed_by: str
    """The source of its latest version: who moved it."""
    person: str = ""
    """The id of the person who moved it for ``changed_by``, if one did; ``person_name`` their name."""
    person_name: str = ""


@dataclass(frozen=True, slots=True)
class NewItem:
    """An action item the run assigns: written with the run's new state."""

    id: str
    step: str
    assignee: str
    name: str
    description: str
    due: str


@dataclass(frozen=True, slots=True)
class NewChild:
    """A child run a playbook-action step starts."""

    id: str
    step: str
    playbook: str


@dataclass(frozen=True, slots=True)
class Inputs:
    """What :func:`advance` reads besides the run and its plan."""

    facts: Facts
    items: Mapping[str, ItemView]
    children: Mapping[str, str]
    """Child run id to its status."""
    now: str
    default_due_ms: int
    may_assign: Callable[[str], bool]
    """Whether a stakeholder may be assigned a step of this run (reads its TLP on the crisis channel)."""
    item_id: Callable[[str, int, str], str]
    """(step, visit, assignee) to the action item's id: the same inputs, the same id."""
    child_id: Callable[[str, int], str]


@dataclass(frozen=True, slots=True)
class Advance:
    state: RunState
    items: tuple[NewItem, ...] = ()
    children: tuple[NewChild, ...] = ()

    def changed(self, before: RunState) -> bool:
        return bool(self.items or self.children) or self.state != before


def plus_ms(moment: str, ms: int) -> str:
    """A STIX time with milliseconds, ``ms`` later."""
    at = datetime.strptime(moment[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC) + timedelta(milliseconds=ms)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def start(run_id: str, plan: Plan, crisis: str) -> RunState:
    """A new run standing on the plan's start step, nothing done yet."""
    return RunState(run_id, crisis, plan.id, plan.modified, RUNNING, (Cursor(plan.start),), {})


def cancel(state: RunState, now: str, reason: str) -> RunState:
    return replace(state, status=CANCELLED, cursors=(), note=reason, finished=now)


def next_wake(state: RunState, plan: Plan) -> str | None:
    """The earliest time at which the run moves without anyone acting: a delay ending, a timeout."""
    times: list[str] = []
    for cursor in state.cursors:
        record = state.steps.get(cursor.step)
        if record is None:
            continue
        if record.state == DELAYED and record.wake:
            times.append(record.wake)
        step = plan.steps.get(cursor.step)
        if record.state == RUNNING and record.due and step is not None and step.on_failure:
            times.append(record.due)
    return min(times) if times else None


class _Walk:
    """One :func:`advance`: the cursors still to move, the records, the items and children to write."""

    def __init__(self, state: RunState, plan: Plan, inputs: Inputs) -> None:
        self.state = state
        self.plan = plan
        self.inputs = inputs
        self.now = inputs.now
        self.steps: dict[str, StepRecord] = dict(state.steps)
        self.waiting: list[Cursor] = []
        self.items: list[NewItem] = []
        self.children: list[NewChild] = []
        self.failure: str | None = None
        self.completed = False
        self.moves = 0

    # the walk ---------------------------------------------------------------------------
    def run(self) -> Advance:
        todo = list(self.state.cursors)
        while todo and self.failure is None and not self.completed:
            self.moves += 1
            if self.moves > MAX_MOVES:
                self.failure = "the plan loops without waiting for anyone"
                break
            todo[:0] = self._move(todo.pop(0))
        status, cursors, finished = RUNNING, tuple(self.waiting), None
        note = self.state.note
        if self.failure is not None:
            status, cursors, finished, note = FAILED, (), self.now, self.failure
        elif self.completed:
            status, cursors, finished = COMPLETED, (), self.now
        state = replace(self.state, status=status, cursors=cursors, steps=self.steps, note=note, finished=finished)
        return Advance(state, tuple(self.items), tuple(self.children))

    def _move(self, cursor: Cursor) -> list[Cursor]:
        """Where ``cursor`` goes now: cursors to move further (it waits if none and it is not done)."""
        step = self.plan.steps.get(cursor.step)
        if step is None:
            self.failure = f"the plan has no step {cursor.step}"
            return []
        record = self.steps.get(step.id)
        if record is None or record.state not in (DELAYED, RUNNING):
            return self._arrive(step, cursor)
        if record.state == DELAYED:
            if record.wake is not None and record.wake > self.now:
                self.waiting.append(cursor)
                return []
            return self._begin(step, cursor)
        return self._check(step, cursor, record)

    def _arrive(self, step: Step, cursor: Cursor) -> list[Cursor]:
        previous = self.steps.get(step.id)
        visits = previous.visits + 1 if previous is not None else 1
        if visits > MAX_VISITS:
            self.failure = f"step {step.name!r} was reached {MAX_VISITS} times: a loop without end"
            return []
        if step.delay_ms:
            self.steps[step.id] = StepRecord(DELAYED, visits, wake=plus_ms(self.now, step.delay_ms))
            return [cursor]  # moved again at once: a zero wait ends now
        self.steps[step.id] = StepRecord(RUNNING, visits, started=self.now)
        return self._begin(step, cursor)

    def _begin(self, step: Step, cursor: Cursor) -> list[Cursor]:
        """Start ``step`` (its delay over): what it does depends on its type."""
        record = replace(self.steps[step.id], state=RUNNING, started=self.now, wake=None)
        self.steps[step.id] = record
        kind = step.type
        if kind == "start":
            return self._done(step, cursor, True)
        if kind == "end":
            self._finish(step, COMPLETED)
            return self._return(cursor)
        if kind == "action":
            return self._assign(step, cursor, record)
        if kind == "playbook-action" and step.playbook_id:
            child = NewChild(self.inputs.child_id(step.id, record.visits), step.id, step.playbook_id)
            self.children.append(child)
            self.steps[step.id] = replace(record, child=child.id)
            self.waiting.append(cursor)
            return []
        if kind == "parallel":
            self.steps[step.id] = replace(record, branches_done=())
            return [Cursor(target, (*cursor.stack, Frame(step.id, i))) for i, target in enumerate(step.next_steps)]
        if kind in ("if-condition", "while-condition", "switch-condition"):
            return self._branch(step, cursor)
        self._finish(step, SKIPPED, "a step of this type is kept and shown, never run by the hub")
        return self._edge(step, cursor, True)

    def _branch(self, step: Step, cursor: Cursor) -> list[Cursor]:
        try:
            if step.type == "switch-condition":
                cases = step.cases or {}
                value = switch_value(step.switch or "", self.inputs.facts)
                target = cases.get(value, cases.get("default"))
            else:
                holds = evaluate(step.condition or "", self.inputs.facts)
                target = step.on_true if holds else (step.on_false if step.type == "if-condition" else None)
        except ConditionError as exc:
            self._finish(step, FAILED, exc.description)
            return self._done(step, cursor, False)
        if target is None:
            return self._done(step, cursor, True)
        return [Cursor(target, (*cursor.stack, Frame(step.id, 0)))]

    def _assign(self, step: Step, cursor: Cursor, record: StepRecord) -> list[Cursor]:
        if not step.runnable:
            self._finish(step, SKIPPED, "its commands are not manual: kept and shown, never executed by the hub")
            return self._edge(step, cursor, True)
        agent = self.plan.agents.get(step.agent or "")
        named = agent.stakeholders if agent is not None else ()
        assignees = tuple(s for s in named if self.inputs.may_assign(s))
        withheld = tuple(s for s in named if s not in assignees)
        if not assignees:
            why = "its agent names nobody on this hub" if not named else "nobody it names may read this run's TLP"
            self.steps[step.id] = replace(record, withheld=withheld)
            self._finish(step, FAILED, why)
            return self._done(step, cursor, False)
        due = plus_ms(self.now, step.timeout_ms or self.inputs.default_due_ms)
        items = []
        for stakeholder in assignees:
            item_id = self.inputs.item_id(step.id, record.visits, stakeholder)
            items.append(item_id)
            self.items.append(NewItem(item_id, step.id, stakeholder, step.name, _describe(step), due))
        self.steps[step.id] = replace(record, due=due, items=tuple(items), assignees=assignees, withheld=withheld)
        self.waiting.append(cursor)
        return []

    def _check(self, step: Step, cursor: Cursor, record: StepRecord) -> list[Cursor]:
        """A running action or playbook-action: settled by its items or child run, or timed out."""
        if record.child is not None:
            status = self.inputs.children.get(record.child)
            if status in (COMPLETED, FAILED, CANCELLED):
                self._finish(step, COMPLETED if status == COMPLETED else FAILED)
                return self._done(step, cursor, status == COMPLETED)
            self.waiting.append(cursor)
            return []
        seen = [self.inputs.items[i] for i in record.items if i in self.inputs.items]
        if len(seen) == len(record.items) and record.items:
            if all(i.status == ITEM_DONE for i in seen):
                self.steps[step.id] = replace(record, done_by=tuple(i.changed_by for i in seen))
                self._finish(step, COMPLETED)
                return self._done(step, cursor, True)
            if all(i.status == ITEM_DONE or i.status in ITEM_FAILED for i in seen):
                failed = [i for i in seen if i.status in ITEM_FAILED]
                self.steps[step.id] = replace(record, done_by=tuple(i.changed_by for i in failed))
                self._finish(step, FAILED, f"{', '.join(sorted({i.assignee for i in failed}))}: {failed[0].status}")
                return self._done(step, cursor, False)
        if record.due is not None and record.due <= self.now and step.on_failure:
            self._finish(step, TIMED_OUT, "not done in time")
            return self._edge(step, cursor, False)
        self.waiting.append(cursor)
        return []

    # after a step -------------------------------------------------------------------------
    def _finish(self, step: Step, state: str, note: str | None = None) -> None:
        record = self.steps.get(step.id) or StepRecord(state)
        self.steps[step.id] = replace(record, state=state, finished=self.now, note=note or record.note)

    def _done(self, step: Step, cursor: Cursor, success: bool) -> list[Cursor]:
        if self.steps.get(step.id, StepRecord(RUNNING)).state in (DELAYED, RUNNING):
            self._finish(step, COMPLETED if success else FAILED)
        return self._edge(step, cursor, success)

    def _edge(self, step: Step, cursor: Cursor, success: bool) -> list[Cursor]:
        target = (step.on_success if success else step.on_failure) or step.on_completion
        if target is not None:
            return [Cursor(target, cursor.stack)]
        if success:
            return self._return(cursor)
        exception = self.plan.exception
        if exception is not None and exception != step.id:
            return [Cursor(exception, ())]
        self.failure = f"step {step.name!r} failed and the plan says nothing to do then"
        return []

    def _return(self, cursor: Cursor) -> list[Cursor]:
        """A branch reached its end: back to the step that started it; the run completes at the top."""
        if not cursor.stack:
            self.completed = True  # the workflow's own end: what may still wait in branches is left as it stands
            return []
        frame = cursor.stack[-1]
        outer = Cursor(frame.step, cursor.stack[:-1])
        parent = self.plan.steps[frame.step]
        record = self.steps[parent.id]
        if parent.type == "parallel":
            done = tuple(sorted({*record.branches_done, frame.branch}))
            self.steps[parent.id] = replace(record, branches_done=done)
            if len(done) < len(parent.next_steps):
                return []
            return self._done(parent, outer, True)
        if parent.type == "while-condition":
            return self._branch(parent, outer)
        return self._done(parent, outer, True)


def _describe(step: Step) -> str:
    lines = [step.description] if step.description else []
    lines += [c.text for c in step.commands if c.text and c.text != step.description]
    return "\n".join(lines) or step.name


def advance(state: RunState, plan: Plan, inputs: Inputs) -> Advance:
    """The run moved as far as it can go now; unchanged if nothing happened."""
    if state.status != RUNNING:
        return Advance(state)
    return _Walk(state, plan, inputs).run()


# the run as stored -------------------------------------------------------------------------
def record_json(record: StepRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"state": record.state, "visits": record.visits}
    for name in ("started", "wake", "due", "finished", "child", "note"):
        value = getattr(record, name)
        if value is not None:
            out[name] = value
    for name in ("items", "assignees", "withheld", "done_by", "branches_done"):
        value = getattr(record, name)
        if value:
            out[name] = list(value)
    return out


def record_from_json(raw: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        state=raw["state"],
        visits=int(raw.get("visits", 1)),
        started=raw.get("started"),
        wake=raw.get("wake"),
        due=raw.get("due"),
        finished=raw.get("finished"),
        items=tuple(raw.get("items", ())),
        assignees=tuple(raw.get("assignees", ())),
        withheld=tuple(raw.get("withheld", ())),
        done_by=tuple(raw.get("done_by", ())),
        child=raw.get("child"),
        branches_done=tuple(raw.get("branches_done", ())),
        note=raw.get("note"),
    )


def cursors_json(cursors: Sequence[Cursor]) -> list[dict[str, Any]]:
    return [{"step": c.step, "stack": [[f.step, f.branch] for f in c.stack]} for c in cursors]


def cursors_from_json(raw: Sequence[Mapping[str, Any]]) -> tuple[Cursor, ...]:
    return tuple(Cursor(c["step"], tuple(Frame(s, int(b)) for s, b in c.get("stack", ()))) for c in raw)
