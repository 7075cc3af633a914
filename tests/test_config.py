"""Configuration loading: the demo config's rights, and errors that name the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import DEMO_SOURCE, load_config, parse_config
from hub.errors import ConfigError
from hub.tlp import TLP

MINIMAL = """
[channels.ops]
title = "Ops"
default_tlp = "amber"

[roles.member]
read = ["ops"]
write = ["ops"]
tlp = "red"

[stakeholders.acme]
name = "ACME"
roles = ["member"]
"""


PLAN = "playbook--2e9a4a6c-4f64-4a55-9f9e-0c1d2b3a4f5e"


def test_groups_and_plan_triggers_load() -> None:
    text = MINIMAL + (
        '\n[groups.responders]\nname = "Responders"\nmembers = ["acme"]\n'
        f'\n[[plans]]\nname = "protocol"\nplan = "{PLAN}"\non = ["declared", "raised"]\nmin_severity = 3\n'
        'categories = ["ransomware"]\n'
    )
    config = parse_config(text, "hub.toml")
    assert config.groups["responders"].members == ("acme",) and config.groups["responders"].name == "Responders"
    [trigger] = config.plans
    assert trigger.plan == PLAN and trigger.channel == "ops"  # the crisis channel when none is given
    assert trigger.on == {"declared", "raised"} and trigger.min_severity == 3
    assert trigger.categories == frozenset({"ransomware"}) and not trigger.exercises


def test_demo_config_models_the_committee() -> None:
    config = load_config(None)
    assert config.source == DEMO_SOURCE
    assert set(config.stakeholders) == {
        "cidge", "sspc", "sedena", "cnpc", "cert-mx", "banxico", "pemex", "cfe", "partner-cert", "observer"
    }  # fmt: skip
    assert set(config.channels) == {"committee", "sector.energy", "sector.finance", "partners", "public"}
    p = config.principals
    for member in ("cidge", "sspc", "sedena", "cnpc"):
        assert set(p[member].read) == set(config.channels) and set(p[member].read.values()) == {TLP.RED}
        assert p[member].write == {"committee", "public"}
    assert p["cidge"].admin and not p["sspc"].admin
    assert set(p["banxico"].read) == {"committee", "public", "sector.finance"} and p["banxico"].write == {
        "sector.finance"
    }
    assert set(p["pemex"].read) == {"committee", "public", "sector.energy"} and p["pemex"].write == {"sector.energy"}
    assert p["cert-mx"].write == {"sector.energy", "sector.finance"}
    assert set(p["partner-cert"].read) == {"partners", "public"} and p["partner-cert"].write == {"partners"}
    assert set(p["partner-cert"].read.values()) == {TLP.GREEN} and p["partner-cert"].access == {"taxii"}
    assert dict(p["observer"].read) == {"public": TLP.CLEAR} and not p["observer"].write
    defaults = {name: c.default_tlp for name, c in config.channels.items()}
    assert defaults == {
        "committee": TLP.AMBER, "sector.energy": TLP.AMBER, "sector.finance": TLP.AMBER,
        "partners": TLP.GREEN, "public": TLP.CLEAR,
    }  # fmt: skip


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert config.source == str(path)
    assert config.principals["acme"].read == {"ops": TLP.RED}
    assert config.hub.max_body_bytes == 16 * 1024 * 1024


@pytest.mark.parametrize(
    "change, key",
    [
        (MINIMAL.replace('roles = ["member"]', 'roles = ["member", "ghost"]'), "stakeholders.acme.roles[1]"),
        (MINIMAL.replace('default_tlp = "amber"', 'default_tlp = "purple"'), "channels.ops.default_tlp"),
        (MINIMAL.replace('write = ["ops"]', 'write = ["nowhere"]'), "roles.member.write[0]"),
        (MINIMAL.replace('name = "ACME"', 'name = "ACME"\ncolour = "red"'), "stakeholders.acme"),
        (MINIMAL.replace('tlp = "red"', "tlp = 3"), "roles.member.tlp"),
        (MINIMAL + '\n[hub]\nmax_body_bytes = "big"\n', "hub.max_body_bytes"),
        (MINIMAL.replace('name = "ACME"\n', ""), "stakeholders.acme"),
        (MINIMAL.replace("[stakeholders.acme]", "[stakeholders.hub]"), "stakeholders.hub"),
        (MINIMAL + '\n[groups.ops]\nname = "Ops"\nmembers = ["acme", "ghost"]\n', "groups.ops.members[1]"),
        (MINIMAL + '\n[groups.acme]\nname = "Twin"\nmembers = ["acme"]\n', "groups.acme"),
        (MINIMAL + f'\n[[plans]]\nname = "p"\nplan = "{PLAN}"\nchannel = "nowhere"\n', "plans[0].channel"),
        (MINIMAL + '\n[[plans]]\nname = "p"\nplan = "course-of-action--1"\n', "plans[0].plan"),
        (MINIMAL + f'\n[[plans]]\nname = "p"\nplan = "{PLAN}"\non = ["later"]\n', "plans[0].on"),
    ],
)
def test_errors_name_the_key_at_fault(change: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(change, "hub.toml")
    assert key in caught.value.description


def test_toml_syntax_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[channels", "hub.toml")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_sector_templates_follow_the_stakeholder() -> None:
    text = MINIMAL.replace('read = ["ops"]', 'read = ["sector.{sector}"]') + (
        '\n[channels."sector.water"]\ntitle = "Water"\ndefault_tlp = "green"\n'
        '\n[stakeholders.aqua]\nname = "Aqua"\nsector = "water"\nroles = ["member"]\n'
    )
    config = parse_config(text, "t")
    assert set(config.principals["aqua"].read) == {"sector.water"}
    assert set(config.principals["acme"].read) == set()
