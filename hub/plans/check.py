"""Is a CACAO 2.0 playbook a plan this hub can keep, and run? Every problem at once. Pure.

How this works
--------------
1. **Schema.** The official CACAO 2.0 JSON Schemas (``schemas/cacao/``,
   draft-07) are compiled with fastjsonschema, once per process, their
   ``$ref`` URLs served from the packaged files. fastjsonschema stops at the
   first error, so the playbook is judged in pieces: its top level (the
   workflow emptied, the agents set aside), then each workflow step against
   its own type's schema, then each agent definition. One error per piece, and
   every broken piece heard of.
2. **Structure** (the hub's rules, without a config): ``workflow_start`` is a
   ``start`` step; every edge names a step of the workflow; every step is
   reachable from the start (or the exception step); a cycle passes through a
   while-condition; every action's agent is defined; every condition is one
   :mod:`hub.plans.conditions` can evaluate. Non-manual commands and step
   types the hub does not run are warnings: kept and shown, never executed.
3. **This hub** (only with a :class:`~hub.config.Config`): every action's
   agent names stakeholders here (:class:`~hub.plans.model.Directory`), and
   each of them may read the plan's TLP on the crisis channel
   (:func:`hub.policy.may_read`; a warning otherwise).

Each :class:`Problem` says ``where``: ``workflow.<step id>.<property>`` for a
step, the property path for the rest. A playbook with no error reads as a
:class:`~hub.plans.model.Plan`.

A course-of-action carrying a playbook (:mod:`hub.plans.carrier`) is checked
the same way, its content first: content that is not CACAO JSON is kept as it
is and never run (a warning).
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal

import fastjsonschema
import orjson

from hub.config import Config
from hub.plans.carrier import CONTENT_KEYS, NotAPlaybook, carries_cacao, content_where, extension_of, unwrap
from hub.plans.conditions import ConditionError, condition_problem, switch_property
from hub.plans.model import ASSIGNABLE_AGENTS, MANUAL, RUNNABLE_STEPS, Directory, Plan, read_plan
from hub.policy import Level, may_read
from hub.schemawords import MAX_LISTED, dotted, plain_predicate
from hub.tlp import TLP

SCHEMA_BASE: Final = "https://raw.githubusercontent.com/oasis-open/cacao-json-schemas/main/schemas/"
STEP_TYPES: Final = frozenset(
    {"start", "end", "action", "playbook-action", "parallel", "if-condition", "while-condition", "switch-condition"}
)
AGENT_SCHEMAS: Final = frozenset(
    {"group", "http-api", "individual", "linux", "location", "net-address", "organization", "sector"}
    | {"security-category", "ssh"}
)
EDGES: Final = ("on_completion", "on_success", "on_failure", "on_true", "on_false")
NOT_CACAO: Final = "the content is not a CACAO playbook: it is stored as it is, and never run"
_MAX_REASONS: Final = 3

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a playbook: an error refuses it, a warning is said and kept."""

    level: Severity
    where: str
    """The property at fault, e.g. ``workflow.action--<UUID>.agent``; empty for the playbook as a whole."""
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}" if self.where else f"{self.level}: {self.message}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every problem of a playbook, errors first; the plan when there is no error."""

    problems: tuple[Problem, ...]
    plan: Plan | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "warning")


def is_playbook(document: Any) -> bool:
    """Whether a decoded JSON document claims to be a CACAO playbook (and is therefore checked as one)."""
    return isinstance(document, Mapping) and document.get("type") == "playbook"


def check_playbook(playbook: Any, config: Config | None = None, *, tlp: TLP | None = None) -> Verdict:
    """Every problem of a decoded CACAO playbook; with ``config``, this hub's agents and TLP rules too.

    ``tlp``: the TLP the plan is shared at (its course-of-action's), else the
    playbook's own ``marking-tlp``.
    """
    if not isinstance(playbook, Mapping):
        return Verdict((Problem("error", "", "a CACAO playbook is a JSON object"),))
    problems = [*_schema_problems(playbook)]
    schema_valid = not problems
    workflow = _table(playbook.get("workflow"))
    agents = _table(playbook.get("agent_definitions"))
    problems += _graph_problems(playbook, workflow)
    problems += _step_problems(workflow, agents)
    plan: Plan | None = None
    if schema_valid:
        plan = read_plan(playbook, Directory.from_config(config) if config else Directory({}, {}, {}))
    if config is not None:
        problems += _agent_problems(workflow, agents, config)
        level = tlp if tlp is not None else (plan.tlp if plan is not None else None)
        if level is not None:
            problems += _tlp_problems(workflow, agents, config, level)
    ordered = tuple(sorted(problems, key=lambda p: p.level != "error"))
    has_error = any(p.level == "error" for p in ordered)
    return Verdict(ordered, None if has_error else plan)


def check_bytes(data: bytes, config: Config | None = None, *, tlp: TLP | None = None) -> Verdict:
    """:func:`check_playbook` of JSON bytes; content that is not JSON is an error."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Verdict((Problem("error", "", f"not JSON: {exc}"),))
    return check_playbook(document, config, tlp=tlp)


def check_carried(obj: Mapping[str, Any], config: Config | None = None, *, tlp: TLP | None = None) -> Verdict:
    """The problems of the playbook a course-of-action carries; none for any other object.

    Only CACAO content is checked; content that is not CACAO JSON is a
    warning (kept as it is, never run), as is a ``playbook_id`` that is not
    the playbook's own id.
    """
    extension = extension_of(obj)
    if extension is None or not carries_cacao(obj):
        return Verdict(())
    try:
        data = unwrap(obj)
    except NotAPlaybook as exc:
        return Verdict((Problem("error", _content_where(extension), exc.description),))
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    if not is_playbook(document):
        return Verdict((Problem("warning", _content_where(extension), NOT_CACAO),))
    verdict = check_playbook(document, config, tlp=tlp)
    declared, own = extension.get("playbook_id"), document.get("id")
    if isinstance(own, str) and declared is not None and declared != own:
        mismatch = Problem("warning", content_where("playbook_id"), f"is {declared!r}, the playbook's id is {own!r}")
        return Verdict((*verdict.problems, mismatch), verdict.plan)
    return verdict


def carried_plan_problem(obj: Mapping[str, Any]) -> str | None:
    """Why a course-of-action carrying a CACAO playbook is refused, in one sentence; None if it is not.

    Only what is wrong with the playbook itself refuses it (schema, structure,
    conditions): agents this hub does not know and TLP warnings are about this
    hub, not the plan, and a partner's plan may well name agents of its own.
    """
    errors = check_carried(obj).errors
    if not errors:
        return None
    shown = "; ".join(f"{e.where}: {e.message}" if e.where else e.message for e in errors[:_MAX_REASONS])
    more = f" (and {len(errors) - _MAX_REASONS} more)" if len(errors) > _MAX_REASONS else ""
    return f"course-of-action playbook: {shown}{more}"


# --- schema -----------------------------------------------------------------------


def _load(uri: str) -> Any:
    """A CACAO schema by its URL, from the packaged copy: never from the network."""
    if not uri.startswith(SCHEMA_BASE):
        raise ValueError(f"not a CACAO 2.0 schema: {uri}")
    path = uri[len(SCHEMA_BASE) :].split("#", 1)[0]
    resource = importlib.resources.files("hub.schemas").joinpath("cacao", *path.split("/"))
    return json.loads(resource.read_text("utf-8"))


@cache
def _validator(path: str) -> Callable[[Any], Any]:
    # Compiled once per process, on first use (fastjsonschema rewrites what it compiles: a fresh copy each time).
    check: Callable[[Any], Any] = fastjsonschema.compile(_load(SCHEMA_BASE + path), handlers={"https": _load})
    return check


def _schema_problems(playbook: Mapping[str, Any]) -> Iterator[Problem]:
    top = dict(playbook)
    workflow, agents = playbook.get("workflow"), playbook.get("agent_definitions")
    if isinstance(workflow, Mapping):
        top["workflow"] = {}
    if isinstance(agents, Mapping) and agents:
        del top["agent_definitions"]
    yield from _judge("playbook.json", top, ())
    for step_id, step in _table(workflow).items():
        yield from _judge_definition("workflow", step_id, step, STEP_TYPES, "workflows")
    for agent_id, agent in _table(agents).items():
        yield from _judge_definition("agent_definitions", agent_id, agent, AGENT_SCHEMAS, "agent-target")


def _judge_definition(table: str, key: str, value: Any, types: frozenset[str], folder: str) -> Iterator[Problem]:
    """One workflow step or agent, against the schema of its ``type``; its key must be ``<type>--<UUID>``."""
    where = f"{table}.{key}"
    if not isinstance(value, Mapping):
        yield Problem("error", where, "must be an object")
        return
    kind = value.get("type")
    if not isinstance(kind, str):
        yield Problem("error", f"{where}.type", "is required: a string naming the type")
        return
    if table == "workflow" and kind not in types:
        yield Problem(
            "error", f"{where}.type", f"{kind!r} is not a CACAO workflow step type ({', '.join(sorted(types))})"
        )
        return
    if not key.startswith(f"{kind}--"):
        yield Problem("error", where, f"the id of a {kind} must start with '{kind}--'")
    yield from _judge(f"{folder}/{kind if kind in types else folder}.json", value, (table, key))


def _judge(schema: str, document: Any, at: Sequence[str]) -> Iterator[Problem]:
    try:
        _validator(schema)(document)
    except fastjsonschema.JsonSchemaValueException as err:
        yield from _schema_error(err, at)


def _schema_error(err: fastjsonschema.JsonSchemaValueException, at: Sequence[str]) -> Iterator[Problem]:
    path = [*at, *(str(p) for p in (err.path or ["data"])[1:])]
    definition: Mapping[str, Any] = err.definition if isinstance(err.definition, Mapping) else {}
    if err.rule == "required":
        present = err.value if isinstance(err.value, Mapping) else {}
        for name in definition.get("required", ()):
            if name not in present:
                yield Problem("error", dotted([*path, name]), "is required but missing")
        return
    yield Problem("error", dotted(path), _predicate(err, definition))


def _predicate(err: fastjsonschema.JsonSchemaValueException, definition: Mapping[str, Any]) -> str:
    """What the schema wants of the value at fault, in words."""
    rule, title = err.rule, definition.get("title")
    if rule == "pattern" and title == "identifier":
        return "must be an identifier, <type>--<UUID>"
    if rule == "pattern" and title == "timestamp":
        return "must be a UTC timestamp such as 2026-01-31T12:00:00.000Z"
    plain = plain_predicate(rule, definition)
    if plain is not None:
        return plain
    if rule == "enum":
        allowed = [str(v) for v in definition.get("enum", ())]
        shown = ", ".join(allowed[:MAX_LISTED]) + (", …" if len(allowed) > MAX_LISTED else "")
        return f"must be one of {shown}"
    if rule == "minItems":
        return f"must list at least {definition.get('minItems')}"
    if rule == "minProperties":
        return f"must hold at least {definition.get('minProperties')}"
    if rule == "not":
        forbidden = sorted(_required_names(definition.get("not")))
        if forbidden:
            return f"must not have {' or '.join(map(repr, forbidden))} here"
    if rule in ("anyOf", "oneOf"):
        return "matches none of the forms CACAO allows here"
    return err.message.removeprefix(err.name or "").strip() or f"does not match the CACAO schema ({rule})"


def _required_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, Mapping):
        yield from (n for n in schema.get("required", ()) if isinstance(n, str))
        for part in schema.get("anyOf", ()):
            yield from _required_names(part)


# --- structure --------------------------------------------------------------------


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _edges(step: Any) -> Iterator[tuple[str, str]]:
    """(property, target) of every outgoing edge of a raw step, named as :meth:`hub.plans.model.Step.edges` does."""
    if not isinstance(step, Mapping):
        return
    for name in EDGES:
        if isinstance(step.get(name), str):
            yield name, step[name]
    next_steps = step.get("next_steps")
    for i, target in enumerate(next_steps if isinstance(next_steps, list) else ()):
        if isinstance(target, str):
            yield f"next_steps[{i}]", target
    for value, target in _table(step.get("cases")).items():
        if isinstance(target, str):
            yield f"cases.{value}", target


def _graph_problems(playbook: Mapping[str, Any], workflow: Mapping[str, Any]) -> Iterator[Problem]:
    start = playbook.get("workflow_start")
    entries = []
    if isinstance(start, str):
        if start not in workflow:
            yield Problem("error", "workflow_start", f"no step {start} in the workflow")
        else:
            entries.append(start)
            kind = _table(workflow[start]).get("type")
            if kind != "start":
                yield Problem("error", "workflow_start", f"names a {kind} step; it must name a start step")
    exception = playbook.get("workflow_exception")
    if isinstance(exception, str):
        if exception not in workflow:
            yield Problem("error", "workflow_exception", f"no step {exception} in the workflow")
        else:
            entries.append(exception)
    for step_id, step in workflow.items():
        for name, target in _edges(step):
            if target not in workflow:
                yield Problem("error", f"workflow.{step_id}.{name}", f"no step {target} in the workflow")
    if entries:
        reached = _reachable(workflow, entries)
        for step_id in workflow:
            if step_id not in reached:
                yield Problem("error", f"workflow.{step_id}", "cannot be reached from workflow_start")
    yield from _cycles(workflow)


def _reachable(workflow: Mapping[str, Any], entries: Sequence[str]) -> set[str]:
    seen, todo = set(entries), list(entries)
    while todo:
        for _, target in _edges(workflow[todo.pop()]):
            if target in workflow and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _cycles(workflow: Mapping[str, Any]) -> Iterator[Problem]:
    """One error per edge that closes a cycle in which no step is a while-condition."""
    looping = {sid for sid, step in workflow.items() if _table(step).get("type") == "while-condition"}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in workflow:
        if root in looping or root in state:
            continue
        stack: list[tuple[str, Iterator[tuple[str, str]]]] = [(root, _edges(workflow[root]))]
        state[root] = 1
        while stack:
            step_id, edges = stack[-1]
            for name, target in edges:
                if target not in workflow or target in looping:
                    continue
                if state.get(target) == 1:
                    yield Problem(
                        "error",
                        f"workflow.{step_id}.{name}",
                        f"goes back to {target}: a loop must pass through a while-condition step",
                    )
                elif target not in state:
                    state[target] = 1
                    stack.append((target, _edges(workflow[target])))
                    break
            else:
                state[step_id] = 2
                stack.pop()


def _step_problems(workflow: Mapping[str, Any], agents: Mapping[str, Any]) -> Iterator[Problem]:
    for step_id, raw in workflow.items():
        step, where = _table(raw), f"workflow.{step_id}"
        kind = step.get("type")
        if kind in STEP_TYPES and kind not in RUNNABLE_STEPS:
            yield Problem("warning", f"{where}.type", f"the hub does not run {kind} steps: kept and shown, never run")
        if kind == "action":
            agent = step.get("agent")
            if isinstance(agent, str) and agent not in agents:
                yield Problem("error", f"{where}.agent", f"{agent} is not in agent_definitions")
            commands = step.get("commands")
            for i, command in enumerate(commands if isinstance(commands, list) else ()):
                command_type = _table(command).get("type")
                if isinstance(command_type, str) and command_type != MANUAL:
                    yield Problem(
                        "warning",
                        f"{where}.commands[{i}]",
                        f"a {command_type} command is kept and shown, never executed",
                    )
        if kind in ("if-condition", "while-condition") and isinstance(step.get("condition"), str):
            problem = condition_problem(step["condition"])
            if problem is not None:
                yield Problem("error", f"{where}.condition", problem)
        if kind == "switch-condition" and isinstance(step.get("switch"), str):
            try:
                switch_property(step["switch"])
            except ConditionError as exc:
                yield Problem("error", f"{where}.switch", exc.description)


# --- this hub ---------------------------------------------------------------------


def _actions(workflow: Mapping[str, Any], agents: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(step id, agent ref, agent definition) of every action whose agent is defined."""
    for step_id, raw in workflow.items():
        step = _table(raw)
        agent = step.get("agent")
        if step.get("type") == "action" and isinstance(agent, str) and isinstance(agents.get(agent), Mapping):
            yield step_id, agent, agents[agent]


def _agent_problems(workflow: Mapping[str, Any], agents: Mapping[str, Any], config: Config) -> Iterator[Problem]:
    directory = Directory.from_config(config)
    for step_id, ref, agent in _actions(workflow, agents):
        where, kind, name = f"workflow.{step_id}.agent", agent.get("type"), agent.get("name")
        if kind == "individual":
            yield Problem("error", where, f"{ref} is an individual: the hub knows organisations, not people")
        elif kind not in ASSIGNABLE_AGENTS:
            yield Problem("error", where, f"{ref} is a {kind} agent: the hub assigns organizations, sectors and groups")
        elif not directory.resolve(agent):
            yield Problem("error", where, f"{ref} ({kind} {name!r}) names no stakeholder of this hub")


def _tlp_problems(
    workflow: Mapping[str, Any], agents: Mapping[str, Any], config: Config, tlp: TLP
) -> Iterator[Problem]:
    directory, channel = Directory.from_config(config), config.crisis.channel
    for step_id, _, agent in _actions(workflow, agents):
        name = _table(workflow[step_id]).get("name", step_id)
        for stakeholder in directory.resolve(agent):
            principal = config.principals.get(stakeholder)
            if principal is None:
                continue
            decision = may_read(principal, Level(channel, tlp))
            if not decision:
                yield Problem(
                    "warning",
                    f"workflow.{step_id}.agent",
                    f"{stakeholder} is assigned {name!r} but may not read the {tlp.label} plan: {decision.reason}",
                )


def _content_where(extension: Mapping[str, Any]) -> str:
    return content_where(next((k for k in CONTENT_KEYS if k in extension), CONTENT_KEYS[0]))
