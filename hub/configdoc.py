"""The configuration reference, and what ``crisis-hub config check`` says about each problem.

``python -m hub.configdoc`` prints the reference — every option of the config
file from ``schemas/config.schema.json`` and every environment variable the
command line reads — as Markdown; ``docs/configuration.md`` is its output, and
a test keeps the two equal. Everything here is a function of the schema, of
``hub/cli.py`` and of a config file's text: no I/O beyond reading the hub's
own sources.

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

import argparse
import ast
import difflib
import importlib.resources
import inspect
import json
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema

from hub.config import config_errors

REGENERATE = "python -m hub.configdoc > docs/configuration.md"

# What an option means when its argparse help does not say (or is hidden).
_MEANING = {
    "--host": "Address to listen on (`0.0.0.0` for every interface, as in the container image).",
    "--port": "Port of the HTTP API, TAXII 2.1, the WebSocket stream and the situation room.",
    "--data-dir": "Folder of the embedded Redis (its data, AOF and `redis.url`) and of the demo's token file; "
    "unused with a Redis URL.",
    "--url": "Base URL of the hub (or of the load balancer in front of several hub processes).",
    "--token": "Bearer token of the stakeholder the command acts as (from `crisis-hub token create`).",
    "--redis-cluster": "The Redis at `--redis-url` is a Redis Cluster (7 or later), reached through any of its nodes "
    "(the variable: `1`, `true` or `yes`). Each channel stays on one shard; see docs/scaling.md.",
    "--namespace": "Prefix of every Redis key. Processes that share a Redis and its data must use the same one.",
}

Json = dict[str, Any]


# ---------------------------------------------------------------- the schema, read for people


def load_schema() -> Json:
    """A fresh copy of the config schema (fastjsonschema rewrites the schemas it compiles)."""
    text = importlib.resources.files("hub.schemas").joinpath("config.schema.json").read_text("utf-8")
    schema: Json = json.loads(text)
    return schema


def _definition(ref: Any) -> str:
    """``channel_patterns`` for a ``$ref`` to ``…#/definitions/channel_patterns``, else ``""``."""
    if not isinstance(ref, str):
        return ""
    fragment = ref.partition("#")[2]
    return fragment.removeprefix("/definitions/") if fragment.startswith("/definitions/") else ""


def _resolve(node: Any, root: Json) -> Json:
    """``node`` with its ``$ref`` replaced by the definition (sibling keys such as ``description`` win)."""
    if not isinstance(node, dict):
        return {}
    name = _definition(node.get("$ref"))
    if not name:
        return node
    target = _resolve(root.get("definitions", {}).get(name, {}), root)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _pattern_name(node: Any, root: Json) -> str:
    """``name`` for ``{"$ref": "#/definitions/name"}`` when that definition is a pattern, else ``""``."""
    name = _definition(node.get("$ref")) if isinstance(node, dict) else ""
    return name if name and "pattern" in root.get("definitions", {}).get(name, {}) else ""


def _code(value: Any) -> str:
    return f"`{value}`"


def _toml(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
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
    named = _pattern_name(node, root)
    if named:
        return f"*{named}*"
    node = _resolve(node, root)
    if "enum" in node:
        return "one of " + ", ".join(_code(v) for v in node["enum"])
    kind = node.get("type")
    if kind in ("integer", "number"):
        bounds = _bounds(node)
        return f"{kind}, {bounds}" if bounds else str(kind)
    if kind == "string":
        if "pattern" in node:
            return f"string matching `{node['pattern']}`"
        return "non-empty string" if node.get("minLength", 0) >= 1 else "string"
    if kind == "array":
        items = _resolve(node.get("items", {}), root)
        if "enum" in items:
            inner = "of " + ", ".join(_code(v) for v in items["enum"])
        elif _pattern_name(node.get("items"), root) or items.get("type") == "string":
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


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    type: str
    default: str
    description: str


@dataclass(frozen=True, slots=True)
class Section:
    """One TOML table of the config file and its keys."""

    header: str
    description: str
    options: tuple[Option, ...]


def _is_table(node: Json, root: Json) -> bool:
    node = _resolve(node, root)
    if node.get("type") == "object":
        return True
    return node.get("type") == "array" and _resolve(node.get("items", {}), root).get("type") == "object"


def sections(schema: Json) -> list[Section]:
    """Every table of the config file, in the schema's order, each with its keys."""
    out: list[Section] = []

    def walk(node: Json, table: str, description: str, header: str) -> None:
        node = _resolve(node, schema)
        required = set(node.get("required", []))
        options: list[Option] = []
        nested: list[tuple[Json, str, str, str]] = []
        for key, sub in node.get("properties", {}).items():
            kind = type_text(sub, schema)
            sub = _resolve(sub, schema)
            path = f"{table}.{key}" if table else key
            if not _is_table(sub, schema):
                if "default" in sub:
                    default = _code(_toml(sub["default"]))
                else:
                    default = "*required*" if key in required else "—"
                options.append(Option(key, kind, default, sub.get("description", "")))
            elif sub.get("type") == "array":
                nested.append((sub["items"], path, sub.get("description", ""), f"[[{path}]]"))
            elif isinstance(sub.get("additionalProperties"), dict):
                about = sub.get("description", "")
                if _pattern_name(sub.get("propertyNames"), schema):
                    named = _pattern_name(sub["propertyNames"], schema)
                    about += f' `<name>` is a *{named}* (see below); quote one that holds a dot: `[{path}."a.b"]`.'
                nested.append((sub["additionalProperties"], f"{path}.<name>", about.strip(), f"[{path}.<name>]"))
            else:
                nested.append((sub, path, sub.get("description", ""), f"[{path}]"))
        if header:
            out.append(Section(header, description, tuple(options)))
        for args in nested:
            walk(*args)

    walk(schema, "", "", "")
    return out


# ---------------------------------------------------------------- the command line's environment


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    option: str
    default: Any
    commands: tuple[str, ...]
    description: str


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                yield full, sub
                yield from _subcommands(sub, full)


def _env_reads(source: str) -> Iterator[tuple[str, str, ast.expr | None]]:
    """(variable, option, default expression) of each ``add_argument("--x", default=os.environ.get("VAR", d))``."""
    for call in ast.walk(ast.parse(source)):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr != "add_argument" or not call.args or not isinstance(call.args[0], ast.Constant):
            continue
        for inner in ast.walk(call):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr in ("get", "getenv")
                and inner.args
                and isinstance(inner.args[0], ast.Constant)
                and str(inner.args[0].value).startswith("CRISIS_HUB_")
            ):
                default = inner.args[1] if len(inner.args) > 1 else None
                yield str(inner.args[0].value), str(call.args[0].value), default


def cli_environment(source: str, parser: argparse.ArgumentParser) -> list[EnvVar]:
    """Every environment variable the command line reads: its option, default, commands and meaning.

    ``source`` is hub/cli.py's text (where each variable is read, with its default as written);
    ``parser`` its parser (which commands have the option, and its help).
    """
    constants: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    commands = list(_subcommands(parser))
    found: dict[str, EnvVar] = {}
    for name, option, default_expr in _env_reads(source):
        if isinstance(default_expr, ast.Name):
            default = constants.get(default_expr.id)
        elif default_expr is not None:
            default = ast.literal_eval(default_expr)
        else:
            default = None
        where = []
        help_text = ""
        for command, sub in commands:
            for action in sub._actions:
                if option in action.option_strings:
                    where.append(command)
                    if action.help and action.help != argparse.SUPPRESS and not help_text:
                        help_text = action.help
        meaning = _MEANING.get(option) or (help_text[:1].upper() + help_text[1:] + "." if help_text else "")
        previous = found.get(name)
        if previous is not None:
            where = [*previous.commands, *(c for c in where if c not in previous.commands)]
        found[name] = EnvVar(name, option, default, tuple(where), meaning)
    return list(found.values())


# ---------------------------------------------------------------- the reference, as Markdown


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(schema: Json, env: Sequence[EnvVar]) -> str:
    """The configuration reference as Markdown."""
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by `{REGENERATE}` from schemas/config.schema.json and hub/cli.py."
        " Edit those, not this file. -->",
        "",
        "The hub reads one TOML file, given by `--config` or `CRISIS_HUB_CONFIG` (without one it runs the",
        "built-in demo committee). It is validated once, at start-up, against `schemas/config.schema.json`",
        "and its cross-references (roles name channels that exist, stakeholders roles that exist); an error",
        "names the key at fault. Check a file before deploying it:",
        "",
        "```sh",
        "crisis-hub config check deploy/crisis-hub.toml   # every problem with a hint, exit 2; or OK and a summary",
        "```",
        "",
        "## Config file",
        "",
        schema.get("description", ""),
        "",
    ]
    for section in sections(schema):
        lines += [f"### `{section.header}`", ""]
        if section.description:
            lines += [section.description, ""]
        if section.options:
            lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
            lines += [
                f"| `{o.key}` | {_cell(o.type)} | {_cell(o.default)} | {_cell(o.description)} |"
                for o in section.options
            ]
            lines.append("")
    for name, definition in schema.get("definitions", {}).items():
        if "pattern" in definition:
            lines += [f"A *{name}* is a string matching `{definition['pattern']}`.", ""]
    channel_patterns = schema.get("definitions", {}).get("channel_patterns", {}).get("description")
    if channel_patterns:
        lines += [f"A role's `read` and `write` lists hold {channel_patterns[0].lower()}{channel_patterns[1:]}", ""]
    lines += [
        "## Environment variables",
        "",
        "Each of these gives the default of a command-line option; the option, when given, wins.",
        "",
        "| variable | option | commands | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for var in env:
        default = "unset" if var.default is None else _code(var.default)
        commands = ", ".join(_code(c) for c in var.commands)
        lines.append(
            f"| `{var.name}` | `{var.option}` | {_cell(commands)} | {_cell(default)} | {_cell(var.description)} |"
        )
    lines.append("")
    return "\n".join(lines)


def reference() -> str:
    """The reference of this installation: its schema and its command line."""
    from hub import cli

    return render(load_schema(), cli_environment(inspect.getsource(cli), cli.build_parser()))


# ---------------------------------------------------------------- config check


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
    node = _resolve(node, root)
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
        node = _resolve(raw, schema)
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
    node = _resolve(node, schema)
    if "default" in node:
        parts.append(f"default {_toml(node['default'])}")
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


def main() -> int:
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
