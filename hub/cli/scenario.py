"""An exercise scenario file read and checked before anything is sent: timed injects, each one action.

The format is described in docs/exercises.md. Everything a scenario refers
to — an earlier inject (``@3`` or its ``label``), an object an earlier push
gave a ``key``, the crisis an earlier inject declared — is checked here, so
that a mistake in the file stops the exercise before its first inject rather
than half-way through it. The references themselves are resolved while the
exercise is played (:mod:`hub.cli.exercise`): what they name only exists on
the hub by then.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.tlp import TLP

ACTIONS = ("declare", "revise", "update", "sitrep", "assign", "move", "acknowledge", "push")
"""What an inject does; each inject has exactly one of these keys."""
NEEDS_CRISIS = frozenset({"revise", "update", "sitrep", "assign", "move", "acknowledge"})
ACKNOWLEDGED = frozenset({"declare", "revise", "update", "sitrep"})
"""The injects whose result can be acknowledged: a crisis version, an update, a sitrep."""
_INJECT_KEYS = frozenset({"at", "as", "label", "crisis", *ACTIONS})
_OFFSET = re.compile(r"\+?(?:([0-9]+(?:\.[0-9]+)?)h)?(?:([0-9]+(?:\.[0-9]+)?)m)?(?:([0-9]+(?:\.[0-9]+)?)s)?")
_STIX_ID = re.compile(r"[a-z0-9-]+--[0-9a-f-]{36}")


class ScenarioError(ValueError):
    """The scenario file is not one this command can play; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Inject:
    """One step of the scenario: ``who`` does ``action`` (with ``body``) ``at`` seconds after the start."""

    number: int
    at: float
    who: str
    action: str
    body: Mapping[str, Any]
    label: str | None = None
    crisis: str | None = None

    def describe(self) -> str:
        return f"inject {self.number} ({self.who} {self.action} at +{self.at:g}s)"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    folder: Path
    """Where the scenario file is: a push's ``file`` is read from there."""
    injects: tuple[Inject, ...]

    @property
    def stakeholders(self) -> list[str]:
        """Every stakeholder the scenario acts as, in order of first appearance."""
        return list(dict.fromkeys(i.who for i in self.injects))


def offset(value: Any, what: str) -> float:
    """Seconds from ``+90s``, ``+2m``, ``+1h30m`` or a number of seconds; ScenarioError naming ``what`` if not."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _OFFSET.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ScenarioError(f'{what} must be a time offset like "+90s", "+2m" or "+1h30m", not {value!r}')
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def load(path: Path) -> Scenario:
    """The scenario in the TOML file at ``path``, checked; ScenarioError says what is wrong and where."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path} is not TOML: {exc}") from None
    return parse(data, path.parent)


def parse(data: Mapping[str, Any], folder: Path) -> Scenario:
    """A scenario from its TOML ``data``; see :func:`load`."""
    unknown = set(data) - {"name", "description", "inject"}
    if unknown:
        raise ScenarioError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    raw = data.get("inject")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("a scenario lists its injects as [[inject]] tables, and has at least one")
    checker = _Checker()
    injects = tuple(checker.inject(number, table) for number, table in enumerate(raw, 1))
    return Scenario(str(data.get("name", "")), str(data.get("description", "")), folder, injects)


class _Checker:
    """Reads injects in order, remembering what each one makes, so that references can only look back."""

    def __init__(self) -> None:
        self.labels: dict[str, Inject] = {}
        self.by_number: dict[int, Inject] = {}
        self.keys: set[str] = set()
        self.crisis_names: set[str] = set()
        self.declared = False
        self.last_at = 0.0

    def inject(self, number: int, table: Any) -> Inject:
        where = f"inject {number}"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where} is not a table")
        unknown = set(table) - _INJECT_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        actions = [a for a in ACTIONS if a in table]
        if len(actions) != 1:
            raise ScenarioError(f"{where} must have exactly one of {', '.join(ACTIONS)}")
        action = actions[0]
        if "at" not in table:
            raise ScenarioError(f'{where} has no at (its time, like "+30s")')
        at = offset(table["at"], f"{where}: at")
        if at < self.last_at:
            raise ScenarioError(f"{where} is at +{at:g}s, before the inject above it: list injects in time order")
        who = table.get("as")
        if not isinstance(who, str) or not who:
            raise ScenarioError(f"{where} has no as (the id of the stakeholder who acts)")
        body = table[action]
        if not isinstance(body, dict):
            raise ScenarioError(f"{where}: {action} must be a table of its fields")
        label = table.get("label")
        if label is not None and (not isinstance(label, str) or label.startswith("@") or label in self.labels):
            raise ScenarioError(f"{where}: label must be a new name not starting with @, got {label!r}")
        crisis = table.get("crisis")
        if crisis is not None:
            self.crisis_ref(crisis, where)
        elif action in NEEDS_CRISIS and not self.declared:
            raise ScenarioError(f"{where}: no crisis declared before it to {action}")
        self.check_body(action, body, where)
        inject = Inject(number, at, who, action, body, label, crisis)
        self.last_at = at
        self.by_number[number] = inject
        if label is not None:
            self.labels[label] = inject
        if action == "declare":
            self.declared = True
            self.crisis_names.add(str(body.get("name")))
        return inject

    def earlier(self, ref: Any, where: str) -> Inject | None:
        """The earlier inject ``ref`` (``@N`` or a label) names, or None if it names none."""
        if not isinstance(ref, str):
            raise ScenarioError(f"{where}: a reference must be a string, got {ref!r}")
        if ref.startswith("@"):
            number = int(ref[1:]) if ref[1:].isdigit() else 0
            if number not in self.by_number:
                raise ScenarioError(f"{where}: {ref} is not an inject above this one")
            return self.by_number[number]
        return self.labels.get(ref)

    def crisis_ref(self, ref: Any, where: str) -> None:
        found = self.earlier(ref, where)
        if found is None and ref not in self.crisis_names:
            raise ScenarioError(f"{where}: crisis {ref!r} is no inject, label or crisis declared above")
        if found is not None and found.action != "declare":
            raise ScenarioError(f"{where}: crisis {ref!r} is a {found.action}, not a declare")

    def item_ref(self, ref: Any, where: str, kinds: frozenset[str], *, objects: bool = False) -> None:
        found = self.earlier(ref, where)
        if found is not None:
            if found.action not in kinds:
                raise ScenarioError(f"{where}: {ref!r} is a {found.action}, not one of {', '.join(sorted(kinds))}")
            return
        if objects and (ref in self.keys or _STIX_ID.fullmatch(ref)):
            return
        raise ScenarioError(f"{where}: {ref!r} names no inject, label or object key above")

    def check_body(self, action: str, body: Mapping[str, Any], where: str) -> None:
        if action == "assign" and "due" in body:
            offset(body["due"], f"{where}: due")
        if action in ("update", "sitrep"):
            refs = body.get("refs", [])
            if not isinstance(refs, list):
                raise ScenarioError(f"{where}: refs must be a list")
            for ref in refs:
                self.item_ref(ref, where, frozenset({"update", "sitrep", "assign"}), objects=True)
        if action == "move":
            self.item_ref(body.get("action"), where, frozenset({"assign"}))
        if action == "acknowledge" and "item" in body:
            self.item_ref(body["item"], where, ACKNOWLEDGED)
        if action == "push":
            self.check_push(body, where)

    def check_push(self, body: Mapping[str, Any], where: str) -> None:
        if not isinstance(body.get("channel"), str):
            raise ScenarioError(f"{where}: push needs a channel")
        if "tlp" in body:
            try:
                TLP.parse(str(body["tlp"]))
            except ValueError:
                raise ScenarioError(f"{where}: tlp must be clear, green, amber, amber+strict or red") from None
        if body.get("via", "api") not in ("api", "taxii"):
            raise ScenarioError(f"{where}: via must be api or taxii")
        if ("file" in body) == ("objects" in body):
            raise ScenarioError(f"{where}: push needs either a file or objects")
        objects = body.get("objects", [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise ScenarioError(f"{where}: objects must be a list of tables")
        for spec in objects:
            if "copy" in spec:
                if spec["copy"] not in self.keys:
                    raise ScenarioError(f"{where}: copy {spec['copy']!r} is no object key above")
                continue
            if not isinstance(spec.get("type"), str):
                raise ScenarioError(f"{where}: every object has a type (or copies one with copy = KEY)")
            if "of" in spec and spec["of"] not in self.keys:
                raise ScenarioError(f"{where}: of {spec['of']!r} is no object key above")
            key = spec.get("key")
            if key is not None:
                if key in self.keys:
                    raise ScenarioError(f"{where}: object key {key!r} is used twice")
                self.keys.add(key)


def stix_object(spec: Mapping[str, Any], ids: Mapping[str, str], marking: str | None, now: str) -> dict[str, Any]:
    """A new STIX object from a scenario's object table: its own id, created now, marked ``marking``.

    ``type`` and the object's own properties are given; ``key`` only names it
    in the scenario; ``of`` (a key) is a sighting's ``sighting_of_ref``. An
    indicator gets ``pattern_type`` stix and ``valid_from`` now unless given,
    a sighting ``count`` 1.
    """
    obj: dict[str, Any] = {
        "type": spec["type"],
        "spec_version": "2.1",
        "id": f"{spec['type']}--{uuid.uuid4()}",
        "created": now,
        "modified": now,
    }
    if spec["type"] == "indicator":
        obj.update(pattern_type="stix", valid_from=now)
    if spec["type"] == "sighting":
        obj.update(count=1, first_seen=now, last_seen=now)
    obj.update({k: v for k, v in spec.items() if k not in ("key", "of")})
    if "of" in spec:
        obj["sighting_of_ref"] = ids[spec["of"]]
    if marking is not None and "object_marking_refs" not in obj:
        obj["object_marking_refs"] = [marking]
    return obj
