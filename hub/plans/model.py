"""A CACAO 2.0 playbook read as the hub's plan: steps, edges and agents resolved to stakeholders. Pure.

The playbook is the data (OASIS CACAO Security Playbooks v2.0); this module
reads one that already passed the CACAO schema (:mod:`hub.plans.check`) into
frozen values the run engine walks. Agents resolve against the hub's
:class:`Directory` of stakeholders, sectors and groups:

- ``organization``: the stakeholder whose id or display name is the agent's ``name``;
- ``sector``: every stakeholder whose sector is the agent's ``sector`` (or ``name``);
- ``group``: every member of the configured group whose id or name is the agent's ``name``;
- ``individual``: nobody yet (the hub knows organisations, not people).

An agent that resolves to nobody has no stakeholders: the check reports it,
the engine never assigns it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from hub.config import Config
from hub.tlp import TLP

RUNNABLE_STEPS: Final = frozenset(
    {"start", "end", "action", "parallel", "if-condition", "switch-condition", "while-condition", "playbook-action"}
)
ASSIGNABLE_AGENTS: Final = frozenset({"organization", "sector", "group"})
MANUAL: Final = "manual"


@dataclass(frozen=True, slots=True)
class Directory:
    """Who a plan's agents can name on this hub: stakeholders, their sectors, and the configured groups."""

    names: Mapping[str, str]
    """Stakeholder id to display name."""
    sectors: Mapping[str, str | None]
    """Stakeholder id to its sector."""
    groups: Mapping[str, tuple[str, tuple[str, ...]]]
    """Group id to (display name, member stakeholder ids)."""

    @classmethod
    def from_config(cls, config: Config) -> Directory:
        return cls(
            names={sid: s.name for sid, s in config.stakeholders.items()},
            sectors={sid: s.sector for sid, s in config.stakeholders.items()},
            groups={gid: (g.name, g.members) for gid, g in config.groups.items()},
        )

    def resolve(self, agent: Mapping[str, Any]) -> tuple[str, ...]:
        """The stakeholder ids a CACAO agent names here, in the config's order; empty if none."""
        kind, name = agent.get("type"), agent.get("name")
        if kind == "organization":
            return tuple(sid for sid, display in self.names.items() if name in (sid, display))[:1]
        if kind == "sector":
            sector = agent.get("sector", name)
            return tuple(sid for sid, s in self.sectors.items() if s is not None and s in (sector, name))
        if kind == "group":
            for gid, (display, members) in self.groups.items():
                if name in (gid, display):
                    return members
        return ()


@dataclass(frozen=True, slots=True)
class Agent:
    """One entry of the playbook's ``agent_definitions``."""

    ref: str
    """Its key in ``agent_definitions`` (e.g. ``organization--<UUID>``)."""
    kind: str
    name: str
    stakeholders: tuple[str, ...]
    """Who it names on this hub (empty: nobody, or a kind the hub does not assign)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One command of an action step; only ``manual`` ones are the hub's to track."""

    type: str
    text: str
    """``command`` (or the decoded ``command_b64``), else the description."""

    @property
    def manual(self) -> bool:
        return self.type == MANUAL


@dataclass(frozen=True, slots=True)
class Step:
    """One workflow step, its outgoing edges by name."""

    id: str
    type: str
    name: str
    description: str
    agent: str | None = None
    """An action's ``agent`` (a key of ``agent_definitions``)."""
    commands: tuple[Command, ...] = ()
    on_completion: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    next_steps: tuple[str, ...] = ()
    """A parallel step's branches."""
    condition: str | None = None
    """An if- or while-condition's STIX-pattern condition."""
    on_true: str | None = None
    on_false: str | None = None
    switch: str | None = None
    cases: Mapping[str, str] | None = None
    """A switch-condition's case value to step id (``default`` included)."""
    playbook_id: str | None = None
    """A playbook-action's sub-plan."""
    delay_ms: int = 0
    timeout_ms: int | None = None

    @property
    def runnable(self) -> bool:
        """Whether the hub runs this step (its type is one the engine knows; an action's commands are manual)."""
        if self.type not in RUNNABLE_STEPS:
            return False
        return self.type != "action" or all(c.manual for c in self.commands)

    def edges(self) -> Iterator[tuple[str, str]]:
        """(property name, target step id) for every outgoing edge, in a stable order."""
        for name in ("on_completion", "on_success", "on_failure", "on_true", "on_false"):
            target = getattr(self, name)
            if target is not None:
                yield name, target
        for i, target in enumerate(self.next_steps):
            yield f"next_steps[{i}]", target
        for value, target in (self.cases or {}).items():
            yield f"cases.{value}", target


@dataclass(frozen=True, slots=True)
class Plan:
    """A playbook as the hub runs it."""

    id: str
    """The playbook id, ``playbook--<UUID>``."""
    name: str
    description: str
    modified: str
    start: str
    steps: Mapping[str, Step]
    exception: str | None
    """``workflow_exception``: the step a failure goes to when the failed step says nothing."""
    agents: Mapping[str, Agent]
    tlp: TLP | None
    """The highest TLP of the playbook's own ``marking-tlp`` markings, if it has any."""

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


def _command(raw: Mapping[str, Any]) -> Command:
    text = raw.get("command")
    if not isinstance(text, str) and isinstance(raw.get("command_b64"), str):
        try:
            text = base64.b64decode(raw["command_b64"], validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            text = None
    if not isinstance(text, str):
        text = str(raw.get("description", ""))
    return Command(type=str(raw.get("type", "")), text=text)


def _step(step_id: str, raw: Mapping[str, Any]) -> Step:
    def ref(name: str) -> str | None:
        value = raw.get(name)
        return value if isinstance(value, str) else None

    cases = raw.get("cases")
    return Step(
        id=step_id,
        type=str(raw.get("type", "")),
        name=str(raw.get("name", step_id)),
        description=str(raw.get("description", "")),
        agent=ref("agent"),
        commands=tuple(_command(c) for c in raw.get("commands", ()) if isinstance(c, Mapping)),
        on_completion=ref("on_completion"),
        on_success=ref("on_success"),
        on_failure=ref("on_failure"),
        next_steps=tuple(s for s in raw.get("next_steps", ()) if isinstance(s, str)),
        condition=ref("condition"),
        on_true=ref("on_true"),
        on_false=ref("on_false"),
        switch=ref("switch"),
        cases={str(k): v for k, v in cases.items() if isinstance(v, str)} if isinstance(cases, Mapping) else None,
        playbook_id=ref("playbook_id"),
        delay_ms=int(raw.get("delay", 0) or 0),
        timeout_ms=int(raw["timeout"]) if isinstance(raw.get("timeout"), int) else None,
    )


def _tlp(playbook: Mapping[str, Any]) -> TLP | None:
    """The highest TLP among the playbook's ``markings`` that are ``marking-tlp`` definitions."""
    definitions = playbook.get("data_marking_definitions") or {}
    levels = []
    for ref in playbook.get("markings", ()):
        marking = definitions.get(ref) if isinstance(definitions, Mapping) else None
        if isinstance(marking, Mapping) and marking.get("type") == "marking-tlp":
            level = str(marking.get("tlpv2_level", "")).removeprefix("TLP:").lower()
            try:
                levels.append(TLP.parse(level))
            except ValueError:
                continue
    return max(levels) if levels else None


def read_plan(playbook: Mapping[str, Any], directory: Directory) -> Plan:
    """The plan a schema-valid CACAO playbook describes, its agents resolved against ``directory``."""
    agents = {
        ref: Agent(ref, str(raw.get("type", "")), str(raw.get("name", ref)), directory.resolve(raw))
        for ref, raw in (playbook.get("agent_definitions") or {}).items()
        if isinstance(raw, Mapping)
    }
    return Plan(
        id=playbook["id"],
        name=playbook["name"],
        description=str(playbook.get("description", "")),
        modified=playbook["modified"],
        start=playbook["workflow_start"],
        exception=playbook.get("workflow_exception") if isinstance(playbook.get("workflow_exception"), str) else None,
        steps={sid: _step(sid, raw) for sid, raw in playbook["workflow"].items() if isinstance(raw, Mapping)},
        agents=agents,
        tlp=_tlp(playbook),
    )
