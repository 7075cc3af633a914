"""The configuration reference: ``python -m hub.configdoc`` prints it as Markdown.

It holds every option of the config file, from ``schemas/config.schema.json``,
and every environment variable the command line reads, from
:data:`hub.cli.options.ENVIRONMENT` and the parser that uses it;
``docs/configuration.md`` is its output, and a test keeps the two equal.
Everything here is a function of the schema and of the command line: no I/O
beyond reading the schema.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from hub.cli.options import ENV, ENVIRONMENT, STAKEHOLDER_TOKEN, TOKENS_FILE, Variable
from hub.cli.parser import build_parser, commands, option
from hub.configschema import Json, code, load_schema, pattern_name, resolve, toml_value, type_text

REGENERATE = "python -m hub.configdoc > docs/configuration.md"

# What an option means when its argparse help does not say (or is hidden).
_MEANING = {
    "--host": "Address to listen on (`0.0.0.0` for every interface, as in the container image).",
    "--port": "Port of the HTTP API, TAXII 2.1, the WebSocket stream and the situation room.",
    "--data-dir": "Folder of the embedded Redis (its data, AOF and `redis.url`) and of the demo's token file; "
    "unused with a Redis URL.",
    "--url": "Base URL of the hub (or of the load balancer in front of several hub processes).",
    "--token": "Bearer token the command acts with: a stakeholder's (from `crisis-hub token create`) or a person's "
    "(from `crisis-hub login`); unset, the token `crisis-hub login` saved for `--url`.",
    "--redis-cluster": "The Redis at `--redis-url` is a Redis Cluster (7 or later), reached through any of its nodes "
    "(the variable: `1`, `true` or `yes`). Each channel stays on one shard; see docs/scaling.md.",
    "--maxmemory": "Memory limit of the embedded Redis, in bytes or as Redis writes sizes (`512mb`, `2gb`; `1k` is "
    "1000 bytes, `1kb` 1024); unset: half of this machine's memory (of its container's, if less). The embedded "
    "Redis never evicts (`maxmemory-policy noeviction`): once full it refuses writes, answered 507. Applies "
    "when `serve` starts the embedded Redis; unused with a Redis URL.",
    "--namespace": "Prefix of every Redis key. Processes that share a Redis and its data must use the same one.",
    "--lang": "Language of the command's messages, its help and the demo's story: `en` or `es` (any tag of them, "
    "such as `es_MX.UTF-8`). Unset, the first of the system's `LC_ALL`, `LC_MESSAGES` and `LANG` that is set "
    "decides (Spanish for `es_…`), else English. JSON output, tokens, ids and a listing's values are the same in "
    "both; what the hub answers (its errors, a sitrep's Markdown) is the hub's, which `sitrep` and `report` ask "
    "for in this language.",
}


# ---------------------------------------------------------------- the config file, table by table


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
    node = resolve(node, root)
    if node.get("type") == "object":
        return True
    return node.get("type") == "array" and resolve(node.get("items", {}), root).get("type") == "object"


def sections(schema: Json) -> list[Section]:
    """Every table of the config file, in the schema's order, each with its keys."""
    out: list[Section] = []

    def walk(node: Json, table: str, description: str, header: str) -> None:
        node = resolve(node, schema)
        required = set(node.get("required", []))
        options: list[Option] = []
        nested: list[tuple[Json, str, str, str]] = []
        for key, sub in node.get("properties", {}).items():
            kind = type_text(sub, schema)
            sub = resolve(sub, schema)
            path = f"{table}.{key}" if table else key
            if not _is_table(sub, schema):
                if "default" in sub:
                    default = code(toml_value(sub["default"]))
                else:
                    default = "*required*" if key in required else "—"
                options.append(Option(key, kind, default, sub.get("description", "")))
            elif sub.get("type") == "array":
                nested.append((sub["items"], path, sub.get("description", ""), f"[[{path}]]"))
            elif isinstance(sub.get("additionalProperties"), dict):
                about = sub.get("description", "")
                if pattern_name(sub.get("propertyNames"), schema):
                    named = pattern_name(sub["propertyNames"], schema)
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
    """One environment variable of the command line, as the reference shows it."""

    name: str
    option: str
    default: str | None
    commands: tuple[str, ...]
    description: str
    everywhere: bool = False
    """Every command has the option: the reference says so rather than list them all."""


def cli_environment(variables: Sequence[Variable], parser: argparse.ArgumentParser) -> list[EnvVar]:
    """Every environment variable the command line reads: its option, default, commands and meaning.

    ``variables`` says which option each variable gives a default to, and that default;
    ``parser`` which commands have the option, and its help.
    """
    tree = [(" ".join(path), sub) for path, sub in commands(parser)]
    groups = {" ".join(path[:-1]) for path, _ in commands(parser)}
    leaves = {command for command, _ in tree if command not in groups}
    found = []
    for var in variables:
        where = []
        help_text = ""
        for command, sub in tree:
            action = option(sub, var.option)
            if action is not None:
                where.append(command)
                if action.help and action.help != argparse.SUPPRESS and not help_text:
                    help_text = action.help
        meaning = _MEANING.get(var.option) or (help_text[:1].upper() + help_text[1:] + "." if help_text else "")
        found.append(EnvVar(var.name, var.option, var.default, tuple(where), meaning, everywhere=leaves <= set(where)))
    return found


# ---------------------------------------------------------------- the reference, as Markdown


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(schema: Json, env: Sequence[EnvVar]) -> str:
    """The configuration reference as Markdown."""
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by `{REGENERATE}` from schemas/config.schema.json and hub/cli/options.py."
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
        default = "unset" if var.default is None else code(var.default)
        commands = "every command" if var.everywhere else ", ".join(code(c) for c in var.commands)
        lines.append(
            f"| `{var.name}` | `{var.option}` | {_cell(commands)} | {_cell(default)} | {_cell(var.description)} |"
        )
    lines += [
        "",
        f"`{ENV}` names the kind of deployment. `crisis-hub serve` without `--config` serves the built-in demo",
        f"committee and logs a warning saying so; with `{ENV}=production` it refuses to start instead (exit 2).",
        "",
        f"`{STAKEHOLDER_TOKEN}<ID>` gives `crisis-hub exercise run` the token of a stakeholder its scenario names,",
        "when `--tokens` does not: the stakeholder's id in capitals, each character other than a letter or digit",
        f"made an underscore (`{STAKEHOLDER_TOKEN}CERT_MX` for `cert-mx`).",
        "",
        f"`{TOKENS_FILE}` names the file where `crisis-hub login` saves a person's token per hub URL (and where",
        "commands given no token look for it); unset, `$XDG_CONFIG_HOME/crisis-hub/tokens.json`",
        "(`~/.config/crisis-hub/tokens.json`). The file is readable by its owner only.",
        "",
    ]
    return "\n".join(lines)


def reference() -> str:
    """The reference of this installation: its schema and its command line."""
    return render(load_schema(), cli_environment(ENVIRONMENT, build_parser()))


def main() -> int:
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
