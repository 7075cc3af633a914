"""What ``crisis-hub config check`` says about each problem of a config file.

How the check finds every problem rather than the first: fastjsonschema stops
at the first error, so :func:`check_config` applies the schema piece by piece —
each object on its own (required keys, unknown keys) with its members'
schemas relaxed to "anything", then each member against its own schema, and so
on down. Once the shape is right, the cross-references (a stakeholder's roles
exist, …) are :func:`hub.config.config_errors`' own, exactly as the loader
checks them. Each problem comes with a hint drawn from the schema: what the key
means, its type and default, or the nearest known name for a misspelt one.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema

from hub.config import config_errors
from hub.configschema import Json, load_schema, resolve, toml_value, type_text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config file: the key at fault, what is wrong, and a hint to fix it."""

    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@cache
def _compiled(schema_text: str) -> Any:
    return fastjsonschema.compile(json.loads(schema_text))


def _first_error(node: Json, value: Any, path: list[str | int], root: Json) -> list[tuple[list[str | int], str]]:
    check = _compiled(json.dumps({**node, "definitions": root.get("definitions", {})}, sort_keys=True))
    try:
        check(value)
    except fastjsonschema.JsonSchemaValueException as err:
        message = str(err.message)
        name = str(err.name or "")
        if name and message.startswith(name + " "):
            message = message[len(name) + 1 :]  # the key is said separately (and may hold spaces)
        return [([*path, *list(err.path or [])[1:]], message)]
    return []


def _schema_problems(value: Any, node: Any, path: list[str | int], root: Json) -> list[tuple[list[str | int], str]]:
    node = resolve(node, root)
    if not _first_error(node, value, path, root):
        return []
    found: list[tuple[list[str | int], str]] = []
    if isinstance(value, dict) and node.get("type") == "object":
        members = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        names = node.get("propertyNames")
        shallow = {k: v for k, v in node.items() if k not in ("properties", "additionalProperties", "propertyNames")}
        if isinstance(names, dict):
            # Said per name: fastjsonschema's own message does not say which name is wrong.
            for key in value:
                found += [
                    ([*path, key], f"{key!r} is not a valid name: {message}")
                    for _, message in _first_error(names, key, [*path, key], root)
                ]
        if members:
            shallow["properties"] = {k: {} for k in members}
        if extra is False:
            shallow["additionalProperties"] = False
        found += _first_error(shallow, value, path, root)
        for key, member in value.items():
            if key in members:
                found += _schema_problems(member, members[key], [*path, key], root)
            elif isinstance(extra, dict):
                found += _schema_problems(member, extra, [*path, key], root)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        found += _first_error({k: v for k, v in node.items() if k != "items"}, value, path, root)
        for i, item in enumerate(value):
            found += _schema_problems(item, node["items"], [*path, i], root)
    # Never report a valid file for an invalid one, whatever the schema's shape.
    return found or _first_error(node, value, path, root)


def key_text(path: Sequence[str | int]) -> str:
    """``["stakeholders", "banxico", "roles", 1]`` → ``stakeholders.banxico.roles[1]``, as the loader says it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _tokens(key: str) -> list[str | int]:
    return [int(t[1:-1]) if t.startswith("[") else t for t in re.findall(r"\[\d+\]|[^.\[\]]+", key)]


def node_at(key: str, schema: Json) -> Json | None:
    """The schema of the key an error names (``channels.sector.energy.default_tlp``), or None."""
    if key in ("(top level)", ""):
        return schema
    tokens = _tokens(key)

    def walk(raw: Any, rest: list[str | int]) -> Json | None:
        node = resolve(raw, schema)
        if not rest:
            return node
        head = rest[0]
        if isinstance(head, int):
            return walk(node["items"], rest[1:]) if isinstance(node.get("items"), dict) else None
        if head in node.get("properties", {}):
            return walk(node["properties"][head], rest[1:])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            # A map's names may hold dots ("sector.energy"): try each way of reading them.
            for n in range(1, len(rest) + 1):
                if all(isinstance(t, str) for t in rest[:n]):
                    found = walk(extra, rest[n:])
                    if found is not None:
                        return found
        return None

    return walk(schema, tokens)


def _about(node: Json, schema: Json) -> str:
    parts = [type_text(node, schema)]
    node = resolve(node, schema)
    if "default" in node:
        parts.append(f"default {toml_value(node['default'])}")
    text = ", ".join(p for p in parts if p and p not in ("any", "table")).replace("*", "")
    description = str(node.get("description", "")).rstrip(".")
    return f"{description} ({text})" if description and text else description or text


def _closest(word: str, known: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(known), n=1)
    return f"did you mean {match[0]!r}? " if match else ""


def _hint(key: str, message: str, raw: Mapping[str, Any], schema: Json) -> str:
    node = node_at(key, schema)
    if node is None:
        return ""
    unknown = re.fullmatch(r"must not contain (\{.*\}) properties", message)
    if unknown:
        names = sorted(ast.literal_eval(unknown.group(1)))
        known = list(node.get("properties", {}))
        guesses = " ".join(f"{n!r}: {_closest(n, known) or 'not a key here.'}".rstrip() for n in names)
        return f"{guesses} Keys here: {', '.join(known)}."
    missing = re.fullmatch(r"must contain (\[.*\]) properties", message)
    if missing:
        members = node.get("properties", {})
        return " ".join(f"{m!r}: {_about(members.get(m, {}), schema)}." for m in ast.literal_eval(missing.group(1)))
    for kind, section in (("role", "roles"), ("channel", "channels")):
        named = re.fullmatch(rf"no {kind} named '(.*)'", message)
        if named:
            known = sorted(raw.get(section, {}))
            return f"{_closest(named.group(1), known)}{section}: {', '.join(known)}."
    bad_name = re.match(r"'(.*)' is not a valid name", message)
    if bad_name:
        fixed = re.sub(r"[^a-z0-9._-]+", "-", bad_name.group(1).lower()).strip("-._")[:63]
        return f"names are lower-case letters, digits, '.', '_' and '-'; try {fixed!r}" if fixed else ""
    if re.match(r"must contain at least \d+ properties", message):
        return str(node.get("description", ""))
    return _about(node, schema)


def check_config(text: str, schema: Json | None = None) -> list[Problem]:
    """Every problem of a config file's text, each with a hint; empty when the hub would load it."""
    schema = schema if schema is not None else load_schema()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [Problem("(file)", f"not valid TOML: {exc}", "see https://toml.io for the syntax")]
    found = [(key_text(path), message) for path, message in _schema_problems(raw, schema, [], schema)]
    # The cross-references too, in the same run: a misspelt role name is reported beside a bad value.
    for line in config_errors(raw, schema=False):
        problem = (line.partition(": ")[0], line.partition(": ")[2])
        if problem not in found:
            found.append(problem)
    return [Problem(key, message, _hint(key, message, raw, schema)) for key, message in found]
