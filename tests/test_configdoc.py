"""docs/configuration.md: generated from the schema and the CLI, complete, current, and true to the loader."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.cli.options import ENVIRONMENT, STAKEHOLDER_TOKEN
from hub.cli.parser import build_parser, commands, option
from hub.config import Channel, CrisisSettings, HubSettings, Role
from hub.configcheck import node_at
from hub.configdoc import REGENERATE, cli_environment, reference, sections
from hub.configschema import load_schema
from hub.tlp import TLP

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "configuration.md"


def options(node: dict[str, Any], path: str, schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every key the config file may hold, with its schema: ``hub.page_limit``, ``channels.<name>.title``, …"""
    ref = node.get("$ref", "")
    if ref:
        node = {**schema["definitions"][ref.rsplit("/", 1)[1]], **node}
    for key, sub in node.get("properties", {}).items():
        yield f"{path}.{key}".lstrip("."), sub
        yield from options(sub, f"{path}.{key}", schema)
    if isinstance(node.get("additionalProperties"), dict):
        yield from options(node["additionalProperties"], f"{path}.<name>", schema)
    if isinstance(node.get("items"), dict):
        yield from options(node["items"], path, schema)


def test_the_committed_reference_is_current() -> None:
    assert DOC.read_text() == reference(), f"docs/configuration.md is out of date: run `{REGENERATE}`"


def test_every_option_has_a_description() -> None:
    schema = load_schema()
    missing = [key for key, sub in options(schema, "", schema) if not sub.get("description")]
    assert not missing, f"describe in schemas/config.schema.json: {missing}"


def test_every_option_of_the_file_is_in_the_reference() -> None:
    schema = load_schema()

    def is_table(sub: dict[str, Any]) -> bool:
        return (
            "properties" in sub
            or "additionalProperties" in sub
            or isinstance(sub.get("items"), dict)
            and ("properties" in sub["items"])
        )

    keys = {key for key, sub in options(schema, "", schema) if not is_table(sub)}
    documented = {f"{s.header.strip('[]')}.{o.key}" for s in sections(schema) for o in s.options}
    assert keys == documented
    assert {"hub.page_limit", "channels.<name>.default_tlp", "crisis.severity.colour"} <= documented


def _defaults(cls: type) -> dict[str, Any]:
    """Each field's default, a tuple as the list the file would hold."""
    fields = (f for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING)
    return {f.name: list(f.default) if isinstance(f.default, tuple) else f.default for f in fields}


def test_documented_defaults_are_the_loaders() -> None:
    """The schema's defaults, which the reference shows, are what hub/config.py applies."""
    schema = load_schema()
    hub = schema["properties"]["hub"]["properties"]
    assert {k: v["default"] for k, v in hub.items()} == _defaults(HubSettings)
    crisis = schema["properties"]["crisis"]["properties"]
    assert crisis["escalation_interval"]["default"] == _defaults(CrisisSettings)["escalation_interval"]
    assert crisis["channel"]["default"] == _defaults(CrisisSettings)["channel"]
    role = schema["properties"]["roles"]["additionalProperties"]["properties"]
    assert TLP.parse(role["tlp"]["default"]) == _defaults(Role)["tlp"]
    assert role["admin"]["default"] == _defaults(Role)["admin"]
    assert set(role["access"]["default"]) == _defaults(Role)["access"]
    channel = schema["properties"]["channels"]["additionalProperties"]["properties"]
    assert TLP.parse(channel["max_tlp"]["default"]) == _defaults(Channel)["max_tlp"]


def test_every_environment_variable_of_the_cli_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each with its option, commands, meaning, and the default the parser applies when it is unset."""
    names = set(cli_variables())
    for name in names:
        monkeypatch.delenv(name, raising=False)
    parser = build_parser()
    env = {var.name: var for var in cli_environment(ENVIRONMENT, parser)}
    per_stakeholder = {name for name in names if name.startswith(STAKEHOLDER_TOKEN)}
    assert (
        set(env)
        == {var.name for var in ENVIRONMENT}
        == names - {"CRISIS_HUB_ENV", "CRISIS_HUB_TOKENS"} - per_stakeholder
    )
    tree = {" ".join(path): sub for path, sub in commands(parser)}
    for var in env.values():
        assert var.commands and var.description, var
        for command in var.commands:
            action = option(tree[command], var.option)
            assert action is not None, (var, command)
            assert (None if action.default is None else str(action.default)) == (
                None if var.default is None else str(var.default)
            ), (var, command)
    text = reference()
    assert all(f"| `{var.name}` |" in text for var in ENVIRONMENT)
    assert "`CRISIS_HUB_ENV`" in text and f"`{STAKEHOLDER_TOKEN}<ID>`" in text and "`CRISIS_HUB_TOKENS`" in text


def test_an_option_every_command_has_is_documented_as_such() -> None:
    """``--lang`` is on every command: the reference says so instead of listing them all."""
    env = {var.name: var for var in cli_environment(ENVIRONMENT, build_parser())}
    assert env["CRISIS_HUB_LANG"].everywhere and not env["CRISIS_HUB_URL"].everywhere
    assert len(env["CRISIS_HUB_LANG"].commands) > len(env["CRISIS_HUB_URL"].commands)
    assert "| `CRISIS_HUB_LANG` | `--lang` | every command | unset |" in reference()


def cli_variables() -> set[str]:
    """Every CRISIS_HUB_* name written anywhere in the command line's sources: none escapes the table."""
    sources = (ROOT / "hub" / "cli").glob("*.py")
    return {name for path in sources for name in re.findall(r"CRISIS_HUB_[A-Z0-9_]+", path.read_text())}


def test_keys_with_dotted_names_resolve_to_their_schema() -> None:
    schema = load_schema()
    assert node_at("channels.sector.energy.default_tlp", schema) == schema["definitions"]["tlp"] | {
        "description": "TLP of an object posted here without a TLP marking."
    }
    assert node_at("crisis.severity[2].colour", schema) is not None
    assert node_at("stakeholders.banxico.roles[1]", schema) == schema["definitions"]["name"]
    assert node_at("hub.no_such_key", schema) is None
