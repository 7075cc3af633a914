"""`crisis-hub config check FILE`: OK and a summary, or every problem with its key and a hint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.config import parse_config
from hub.configcheck import check_config
from hub.errors import ConfigError
from tests.test_config import MINIMAL
from tests.timing import STARTUP

ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-m", "hub"]


def check(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "config", "check", str(path)], capture_output=True, text=True, timeout=STARTUP)


def test_a_valid_file_is_ok_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(MINIMAL)
    result = check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 1 stakeholders, 1 channels, 1 roles;")
    assert "crises on channel 'ops'" in result.stdout


def test_the_deployment_config_is_valid() -> None:
    """deploy/crisis-hub.toml, the file docker-compose.yml gives the hubs."""
    result = check(ROOT / "deploy" / "crisis-hub.toml")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("OK: 10 stakeholders, 5 channels, 6 roles; admins: cidge;")


def test_every_problem_is_listed_with_its_key_and_a_hint(tmp_path: Path) -> None:
    """Not only the first: a misspelt key, a bad value, a missing key, a bad name — exit 2."""
    path = tmp_path / "bad.toml"
    path.write_text(
        MINIMAL
        + """
[hub]
pagelimit = 100
stream_queue = 1

[channels."sector.energy"]
title = "Energy"
default_tlp = "amberish"

[channels.Finance]
default_tlp = "amber"
"""
    )
    result = check(path)
    assert result.returncode == 2
    out = result.stdout
    assert out.startswith(f"{path}: 5 problems")
    assert "  hub: must not contain {'pagelimit'} properties" in out and "did you mean 'page_limit'?" in out
    assert "  hub.stream_queue: must be bigger than or equal to 10" in out
    assert "Messages queued per WebSocket client" in out and "integer, 10 to 1000000, default 1000" in out
    assert "  channels.sector.energy.default_tlp: must be one of ['clear', 'white'" in out
    assert "  channels.Finance: 'Finance' is not a valid name: must match pattern" in out and "try 'finance'" in out
    assert "  channels.Finance: must contain ['title'] properties" in out and "Human name of the channel" in out


def test_cross_references_are_checked_like_the_loader_does(tmp_path: Path) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(
        MINIMAL.replace('roles = ["member"]', 'roles = ["membr"]').replace('read = ["ops"]', 'read = ["opz"]')
    )
    result = check(path)
    assert result.returncode == 2
    assert "  roles.member.read[0]: no channel named 'opz'\n      did you mean 'ops'? channels: ops." in result.stdout
    assert "  stakeholders.acme.roles[0]: no role named 'membr'\n      did you mean 'member'?" in result.stdout


def test_trusted_proxies_that_are_not_addresses_or_networks_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "proxies.toml"
    path.write_text(MINIMAL + '\n[hub]\ntrusted_proxies = ["10.0.0.5", "proxy.internal", "172.18.0.1/16"]\n')
    result = check(path)
    assert result.returncode == 2
    assert "  hub.trusted_proxies[1]: 'proxy.internal' is not an IP address or network" in result.stdout
    assert "  hub.trusted_proxies[2]: '172.18.0.1/16' has host bits set: the network is 172.18.0.0/16" in result.stdout
    assert "a network in CIDR notation" in result.stdout  # the hint


def test_toml_syntax_errors_and_unreadable_files_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[channels.ops\ntitle = 1\n")
    result = check(path)
    assert result.returncode == 2 and "(file): not valid TOML" in result.stdout and "line 1" in result.stdout
    missing = check(tmp_path / "absent.toml")
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "absent.toml" in missing.stderr


BROKEN = {
    "unknown top-level table": MINIMAL + "\n[hubb]\n",
    "wrong type": MINIMAL.replace('tlp = "red"', "tlp = 3"),
    "unknown TLP": MINIMAL.replace('default_tlp = "amber"', 'default_tlp = "purple"'),
    "no stakeholders": MINIMAL.split("[stakeholders.acme]")[0],
    "empty roles list": MINIMAL.replace('roles = ["member"]', "roles = []"),
    "severity not in order": MINIMAL + '\n[crisis]\nseverity = [{level = 1, name = "a", colour = "#000000"},'
    ' {level = 0, name = "b", colour = "#ffffff"}]\n',
    "default above max": MINIMAL.replace('default_tlp = "amber"', 'default_tlp = "red"\nmax_tlp = "green"'),
    "unknown crisis channel": MINIMAL + '\n[crisis]\nchannel = "committee"\n',
    "duplicate role": MINIMAL.replace('roles = ["member"]', 'roles = ["member", "member"]'),
    "bad trusted proxy": MINIMAL + '\n[hub]\ntrusted_proxies = ["10.0.0.0/8", "proxy.internal"]\n',
    "bad colour": MINIMAL + '\n[[crisis.severity]]\nlevel = 0\nname = "a"\ncolour = "red"\n'
    '[[crisis.severity]]\nlevel = 1\nname = "b"\ncolour = "#000000"\n',
}


@pytest.mark.parametrize("text", [MINIMAL, (ROOT / "hub" / "demo.toml").read_text()], ids=["minimal", "demo"])
def test_a_file_the_loader_accepts_has_no_problem(text: str) -> None:
    parse_config(text, "t")
    assert check_config(text) == []


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_the_check_reports_what_the_loader_rejects(text: str) -> None:
    """The loader's first error (the one `serve` would stop on) is always among the check's."""
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "t")
    first = refused.value.description.removeprefix("t: ").split("; ")[0]
    problems = check_config(text)
    assert problems, "the check passed a file the hub refuses"
    key, _, message = first.partition(": ")
    key = re.sub(r"\.(\d+)\b", r"[\1]", key)  # the loader says severity.0 for an item's key, the check severity[0]
    assert any(p.key == key and (p.message == message or message.endswith(p.message)) for p in problems), (
        first,
        [str(p) for p in problems],
    )
    assert all(p.hint for p in problems), [str(p) for p in problems if not p.hint]


def test_schema_problems_and_cross_references_are_reported_in_one_run(tmp_path: Path) -> None:
    """The README's own example error comes out on the first run, beside a bad value elsewhere."""
    demo = (ROOT / "hub" / "demo.toml").read_text()
    banxico = demo.index("[stakeholders.banxico]")
    roles = demo.index('roles = ["institution"]', banxico)
    text = demo[:roles] + 'roles = ["institution", "x"]' + demo[roles + len('roles = ["institution"]') :]
    path = tmp_path / "hub.toml"
    path.write_text(text.replace("[hub]\n", '[hub]\nstream_queue = "many"\n', 1))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "crisis-hub"), "config", "check", str(path)],
        capture_output=True, text=True, timeout=STARTUP,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{path}: 2 problems" in result.stdout
    assert "  hub.stream_queue: must be integer" in result.stdout
    assert "  stakeholders.banxico.roles[1]: no role named 'x'" in result.stdout
    with pytest.raises(ConfigError) as refused:  # and the hub, refusing the file, names both too
        parse_config(path.read_text(), "t")
    assert "hub.stream_queue" in refused.value.description and "banxico.roles[1]" in refused.value.description
