"""The config schema (``schemas/config.schema.json``), read for people.

What :mod:`hub.configdoc` writes into the reference and :mod:`hub.configcheck`
puts into its hints: a value's type in a few words, a default as the TOML file
would hold it, and the schema behind a ``$ref``.
"""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

Json = dict[str, Any]


def load_schema() -> Json:
    """A fresh copy of the config schema (fastjsonschema rewrites the schemas it compiles)."""
    text = importlib.resources.files("hub.schemas").joinpath("config.schema.json").read_text("utf-8")
    schema: Json = json.loads(text)
    return schema


def definition_name(ref: Any) -> str:
    """``channel_patterns`` for a ``$ref`` to ``…#/definitions/channel_patterns``, else ``""``."""
    if not isinstance(ref, str):
        return ""
    fragment = ref.partition("#")[2]
    return fragment.removeprefix("/definitions/") if fragment.startswith("/definitions/") else ""


def resolve(node: Any, root: Json) -> Json:
    """``node`` with its ``$ref`` replaced by the definition (sibling keys such as ``description`` win)."""
    if not isinstance(node, dict):
        return {}
    name = definition_name(node.get("$ref"))
    if not name:
        return node
    target = resolve(root.get("definitions", {}).get(name, {}), root)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def pattern_name(node: Any, root: Json) -> str:
    """``name`` for ``{"$ref": "#/definitions/name"}`` when that definition is a pattern, else ``""``."""
    name = definition_name(node.get("$ref")) if isinstance(node, dict) else ""
    return name if name and "pattern" in root.get("definitions", {}).get(name, {}) else ""


def code(value: Any) -> str:
    """``value`` as Markdown code."""
    return f"`{value}`"


def toml_value(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _bounds(node: Json) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    above = node.get("exclusiveMinimum")
    if above is not None:
        return f"> {above}" + (f", at most {high}" if high is not None else "")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"≥ {low}"
    if high is not None:
        return f"≤ {high}"
    return ""


def type_text(node: Json, root: Json) -> str:
    """What a value must be, in a few words: ``integer, 1 to 10000``, ``one of `clear`, `green` …``."""
    named = pattern_name(node, root)
    if named:
        return f"*{named}*"
    node = resolve(node, root)
    if "enum" in node:
        return "one of " + ", ".join(code(v) for v in node["enum"])
    kind = node.get("type")
    if kind in ("integer", "number"):
        bounds = _bounds(node)
        return f"{kind}, {bounds}" if bounds else str(kind)
    if kind == "string":
        if "pattern" in node:
            return f"string matching `{node['pattern']}`"
        return "non-empty string" if node.get("minLength", 0) >= 1 else "string"
    if kind == "array":
        items = resolve(node.get("items", {}), root)
        if "enum" in items:
            inner = "of " + ", ".join(code(v) for v in items["enum"])
        elif pattern_name(node.get("items"), root) or items.get("type") == "string":
            inner = "of " + type_text(node.get("items", {}), root) + "s"
        else:
            inner = "of " + type_text(items, root) + ("s" if items.get("type") == "object" else "")
        extras = []
        if node.get("minItems"):
            extras.append(f"at least {node['minItems']}")
        if node.get("uniqueItems"):
            extras.append("no repeats")
        return f"list {inner}" + (f" ({', '.join(extras)})" if extras else "")
    return "table" if kind == "object" else str(kind or "any")
