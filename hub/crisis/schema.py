"""Is a stored or submitted object a well-formed crisis object? Pure.

The crisis extension-definition (:func:`hub.crisis.model.extension_definition`)
names ``schemas/crisis-extension.schema.json`` as its normative schema; this
module checks objects against that very file (shipped as ``hub.schemas``),
compiled once, on first use. It speaks only of the hub's own object types —
an ``incident`` carrying the crisis extension, ``crisis-acknowledgment``,
``crisis-action`` — and answers in one sentence naming the property at fault,
so that a producer can be told what is wrong and a reader can skip an item it
could not interpret.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Final

import fastjsonschema

from hub.crisis.objects import EXTENSION_ID, is_hub_object
from hub.schemawords import MAX_LISTED, dotted, plain_predicate

SCHEMA_FILE: Final = "crisis-extension.schema.json"


def crisis_schema() -> dict[str, Any]:
    """The crisis extension's JSON Schema, a fresh copy (fastjsonschema rewrites the schemas it compiles)."""
    text = importlib.resources.files("hub.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Callable[[Any], Any]:
    # Compiled once per process, on first use: nothing happens at import time.
    check: Callable[[Any], Any] = fastjsonschema.compile(crisis_schema())
    return check


def hub_object_problem(obj: Mapping[str, Any]) -> str | None:
    """What is wrong with one of the hub's own crisis objects, in one sentence; ``None`` if nothing is.

    ``None`` as well for every object that is not one of the hub's types
    (not a crisis — an incident carrying the crisis extension —, nor a
    crisis-acknowledgment or crisis-action): those are STIX validation's business. The
    sentence opens with what was checked ("crisis-action", "incident crisis
    extension") and names the property at fault, e.g. ``crisis-action: 'due'
    is a required property``.
    """
    if not is_hub_object(obj):
        return None
    try:
        _validator()(obj if isinstance(obj, dict) else dict(obj))
    except fastjsonschema.JsonSchemaValueException as err:
        return _sentence(str(obj["type"]), err)
    return None


def _sentence(kind: str, err: fastjsonschema.JsonSchemaValueException) -> str:
    """fastjsonschema's verdict as one sentence about ``kind``, naming the property at fault."""
    path = [str(part) for part in (err.path or ["data"])[1:]]  # the path opens with "data", the object itself
    where, whole = kind, "the object"
    if path[:2] == ["extensions", EXTENSION_ID]:
        where, whole, path = f"{kind} crisis extension", "the crisis extension", path[2:]
    definition: Mapping[str, Any] = err.definition if isinstance(err.definition, Mapping) else {}
    subject = dotted(path)
    problem = _problem(err.rule, definition, err.value)
    if err.rule in ("required", "additionalProperties"):  # about the properties of the object at ``path``
        return f"{where}: {problem} in {subject}" if subject else f"{where}: {problem}"
    return f"{where}: {subject} {problem}" if subject else f"{kind}: {whole} {problem}"


def _problem(rule: str | None, definition: Mapping[str, Any], value: Any) -> str:
    """The verdict's predicate: "must be an integer", "'due' is a required property", …"""
    title = definition.get("title")
    if rule == "required":
        present = value if isinstance(value, Mapping) else {}
        missing = next((name for name in definition.get("required", ()) if name not in present), "?")
        if missing == EXTENSION_ID:
            return f"the crisis extension ({EXTENSION_ID}) is a required property"
        return f"{missing!r} is a required property"
    if rule == "additionalProperties":
        known = definition.get("properties", {})
        extra = sorted(str(name) for name in (value if isinstance(value, Mapping) else {}) if name not in known)
        return f"unknown propert{'y' if len(extra) == 1 else 'ies'} {', '.join(map(repr, extra))}"
    plain = plain_predicate(rule, definition)
    if plain is not None:
        return plain
    if rule == "enum":
        allowed = list(definition.get("enum", ()))
        if title is not None and len(allowed) > MAX_LISTED:  # the schema names the vocabulary
            return f"must be {title}"
        return f"must be one of {', '.join(map(str, allowed))}"
    if rule == "const":
        return f"must be {definition.get('const')!r}"
    if rule == "uniqueItems":
        return "must not name the same item twice"
    if title is not None:  # pattern, minLength, maxLength: the schema says in words what it wants
        return f"must be {title}"
    if rule == "minLength":
        return "must not be empty"
    return f"does not match the crisis schema ({rule})"
