"""``crisis-hub serve`` without ``--config``: it says it serves the demo committee, and refuses to in production."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.test_cli import Lines, crisis_hub, free_port, no_traceback, served
from tests.timing import STARTUP

__all__ = ["served"]  # the fixture, for pytest


def test_serve_without_a_config_says_it_serves_the_demo_committee(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    _, _, process = served
    output = Lines(process.stdout)
    before: list[str] = []
    while not before or not before[-1].startswith("Crisis Hub on "):
        before += output.take(1)
    warnings = [line for line in before if "built-in demo committee" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "--config" in warnings[0], before


def test_serve_refuses_the_demo_committee_in_production(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRISIS_HUB_CONFIG"} | {"CRISIS_HUB_ENV": "production"}
    result = crisis_hub(
        "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"), env=env, timeout=STARTUP
    )
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "CRISIS_HUB_ENV=production" in result.stderr and "--config" in result.stderr
    assert not (tmp_path / "d").exists()  # refused before any Redis started


def test_serve_in_production_runs_the_config_it_is_given(tmp_path: Path) -> None:
    """The refusal is about the demo only: a config file passes (here its check fails later, on the TLS key)."""
    config = Path(__file__).parents[2] / "hub" / "demo.toml"
    env = os.environ | {"CRISIS_HUB_ENV": "production"}
    result = crisis_hub("serve", "--config", str(config), "--cert", "c.pem", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2 and "--cert and --key" in result.stderr, result.stderr
    assert "demo committee" not in result.stderr
