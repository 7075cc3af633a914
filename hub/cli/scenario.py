"""An exercise scenario file read and checked before anything is sent: timed injects, each one action.

The format is described in docs/exercises.md. Everything a scenario refers
to — an earlier inject (``@3`` or its ``label``), an object an earlier push
gave a ``key``, the crisis an earlier inject declared — is checked here, so
that a mistake in the file stops the exercise before its first inject rather
than half-way through it. The references themselves are resolved while the
exercise is played (:mod:`hub.cli.exercise`): what they name only exists on
the hub by then. A mistake is said in the command's language (``tr``), English
unless told otherwise.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.i18n import Translator, translator
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

    def describe(self, tr: Translator) -> str:
        """The inject as a sentence names it: ``inject 2 (pemex revise at +1s)``."""
        at = format(self.at, "g")
        return tr("inject {number} ({who} {action} at +{at}s)", number=self.number, who=self.who, action=self.action,
                  at=at)  # fmt: skip


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


def offset(value: Any, what: str, tr: Translator | None = None) -> float:
    """Seconds from ``+90s``, ``+2m``, ``+1h30m`` or a number of seconds; ScenarioError naming ``what`` if not."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _OFFSET.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        tr = tr or translator("en")
        raise ScenarioError(
            tr('{what} must be a time offset like "+90s", "+2m" or "+1h30m", not {value!r}', what=what, value=value)
        )
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def load(path: Path, tr: Translator | None = None) -> Scenario:
    """The scenario in the TOML file at ``path``, checked; ScenarioError says what is wrong and where."""
    tr = tr or translator("en")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(tr("cannot read {path}: {reason}", path=path, reason=exc.strerror)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(tr("{path} is not {kind}: {reason}", path=path, kind="TOML", reason=exc)) from None
    return parse(data, path.parent, tr)


def parse(data: Mapping[str, Any], folder: Path, tr: Translator | None = None) -> Scenario:
    """A scenario from its TOML ``data``; see :func:`load`."""
    tr = tr or translator("en")
    unknown = set(data) - {"name", "description", "inject"}
    if unknown:
        raise ScenarioError(tr("unknown top-level key(s): {keys}", keys=", ".join(sorted(unknown))))
    raw = data.get("inject")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(tr("a scenario lists its injects as [[inject]] tables, and has at least one"))
    checker = _Checker(tr)
    injects = tuple(checker.inject(number, table) for number, table in enumerate(raw, 1))
    return Scenario(str(data.get("name", "")), str(data.get("description", "")), folder, injects)


class _Checker:
    """Reads injects in order, remembering what each one makes, so that references can only look back."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr
        self.labels: dict[str, Inject] = {}
        self.by_number: dict[int, Inject] = {}
        self.keys: set[str] = set()
        self.crisis_names: set[str] = set()
        self.declared = False
        self.last_at = 0.0

    def inject(self, number: int, table: Any) -> Inject:
        where = self.tr("inject {number}", number=number)
        if not isinstance(table, dict):
            raise ScenarioError(self.tr("{where} is not a table", where=where))
        unknown = set(table) - _INJECT_KEYS
        if unknown:
            raise ScenarioError(self.tr("{where}: unknown key(s) {keys}", where=where, keys=", ".join(sorted(unknown))))
        actions = [a for a in ACTIONS if a in table]
        if len(actions) != 1:
            raise ScenarioError(
                self.tr("{where} must have exactly one of {actions}", where=where, actions=", ".join(ACTIONS))
            )
        action = actions[0]
        if "at" not in table:
            raise ScenarioError(self.tr('{where} has no at (its time, like "+30s")', where=where))
        at = offset(table["at"], f"{where}: at", self.tr)
        if at < self.last_at:
            raise ScenarioError(
                self.tr("{where} is at +{at}s, before the inject above it: list injects in time order", where=where,
                        at=format(at, "g"))
            )  # fmt: skip
        who = table.get("as")
        if not isinstance(who, str) or not who:
            raise ScenarioError(self.tr("{where} has no as (the id of the stakeholder who acts)", where=where))
        body = table[action]
        if not isinstance(body, dict):
            raise ScenarioError(self.tr("{where}: {action} must be a table of its fields", where=where, action=action))
        label = table.get("label")
        if label is not None and (not isinstance(label, str) or label.startswith("@") or label in self.labels):
            raise ScenarioError(
                self.tr(
                    "{where}: label must be a new name not starting with @, got {label!r}", where=where, label=label
                )
            )
        crisis = table.get("crisis")
        if crisis is not None:
            self.crisis_ref(crisis, where)
        elif action in NEEDS_CRISIS and not self.declared:
            raise ScenarioError(
                self.tr("{where}: no crisis declared before it to {action}", where=where, action=action)
            )
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
            raise ScenarioError(self.tr("{where}: a reference must be a string, got {ref!r}", where=where, ref=ref))
        if ref.startswith("@"):
            number = int(ref[1:]) if ref[1:].isdigit() else 0
            if number not in self.by_number:
                raise ScenarioError(self.tr("{where}: {ref} is not an inject above this one", where=where, ref=ref))
            return self.by_number[number]
        return self.labels.get(ref)

    def crisis_ref(self, ref: Any, where: str) -> None:
        found = self.earlier(ref, where)
        if found is None and ref not in self.crisis_names:
            raise ScenarioError(
                self.tr("{where}: crisis {ref!r} is no inject, label or crisis declared above", where=where, ref=ref)
            )
        if found is not None and found.action != "declare":
            raise ScenarioError(
                self.tr(
                    "{where}: crisis {ref!r} is a {action}, not a declare", where=where, ref=ref, action=found.action
                )
            )

    def item_ref(self, ref: Any, where: str, kinds: frozenset[str], *, objects: bool = False) -> None:
        found = self.earlier(ref, where)
        if found is not None:
            if found.action not in kinds:
                raise ScenarioError(
                    self.tr("{where}: {ref!r} is a {action}, not one of {kinds}", where=where, ref=ref,
                            action=found.action, kinds=", ".join(sorted(kinds)))
                )  # fmt: skip
            return
        if objects and (ref in self.keys or _STIX_ID.fullmatch(ref)):
            return
        raise ScenarioError(
            self.tr("{where}: {ref!r} names no inject, label or object key above", where=where, ref=ref)
        )

    def check_body(self, action: str, body: Mapping[str, Any], where: str) -> None:
        if action == "assign" and "due" in body:
            offset(body["due"], f"{where}: due", self.tr)
        if action in ("update", "sitrep"):
            refs = body.get("refs", [])
            if not isinstance(refs, list):
                raise ScenarioError(self.tr("{where}: refs must be a list", where=where))
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
            raise ScenarioError(self.tr("{where}: push needs a channel", where=where))
        if "tlp" in body:
            try:
                TLP.parse(str(body["tlp"]))
            except ValueError:
                raise ScenarioError(
                    self.tr("{where}: tlp must be clear, green, amber, amber+strict or red", where=where)
                ) from None
        if body.get("via", "api") not in ("api", "taxii"):
            raise ScenarioError(self.tr("{where}: via must be api or taxii", where=where))
        if ("file" in body) == ("objects" in body):
            raise ScenarioError(self.tr("{where}: push needs either a file or objects", where=where))
        objects = body.get("objects", [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise ScenarioError(self.tr("{where}: objects must be a list of tables", where=where))
        for spec in objects:
            if "copy" in spec:
                if spec["copy"] not in self.keys:
                    raise ScenarioError(
                        self.tr("{where}: copy {key!r} is no object key above", where=where, key=spec["copy"])
                    )
                continue
            if not isinstance(spec.get("type"), str):
                raise ScenarioError(
                    self.tr("{where}: every object has a type (or copies one with copy = KEY)", where=where)
                )
            if "of" in spec and spec["of"] not in self.keys:
                raise ScenarioError(self.tr("{where}: of {key!r} is no object key above", where=where, key=spec["of"]))
            key = spec.get("key")
            if key is not None:
                if key in self.keys:
                    raise ScenarioError(self.tr("{where}: object key {key!r} is used twice", where=where, key=key))
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
