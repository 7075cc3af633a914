"""``crisis-hub plan check``, ``plan push`` and ``plan export``, run as a user runs them against a real hub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hub.plans.carrier import coa_id
from tests.cli.test_cli import CLI, get, no_traceback, run, served
from tests.timing import STARTUP

__all__ = ["served"]  # a fixture these tests use

ROOT = Path(__file__).parent.parent.parent
PLAN = ROOT / "hub" / "demo_data" / "national-protocol.json"
DEMO_CONFIG = ROOT / "hub" / "demo.toml"
CACAO_DATA = ROOT / "tests" / "data" / "cacao"


def test_the_shipped_plan_checks_clean_against_the_demo_config() -> None:
    result = run("plan", "check", str(PLAN), "--config", str(DEMO_CONFIG))
    assert result.stdout == "national-protocol.json: 1 plan, 0 errors, 0 warnings\n"


def test_a_broken_plan_prints_every_problem_one_a_line_and_exits_2(tmp_path: Path) -> None:
    playbook = json.loads(PLAN.read_text())
    del playbook["workflow_start"]
    triage = next(sid for sid, s in playbook["workflow"].items() if s.get("name") == "Detection and triage")
    playbook["workflow"][triage]["agent"] = "organization--00000000-0000-4000-8000-000000000000"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(playbook))
    result = run("plan", "check", str(path), check=False)
    no_traceback(result.stderr)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert "error: workflow_start: is required but missing" in lines
    undefined = "organization--00000000-0000-4000-8000-000000000000 is not in agent_definitions"
    assert f"error: workflow.{triage}.agent: {undefined}" in lines
    assert lines[-1].startswith("broken.json: 1 plan, ") and lines[-1].endswith(" 0 warnings")


def test_the_published_examples_pass_with_a_warning_that_their_content_is_no_cacao_playbook() -> None:
    for path in sorted(CACAO_DATA.glob("*.json")):
        result = run("plan", "check", str(path))
        assert result.stdout.splitlines() == [
            "course-of-action--e06259ad-a154-4e23-bc0a-e229ccb3456f: warning: "
            "extensions.extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c.playbook_base64: "
            "the content is not a CACAO playbook: it is stored as it is, and never run",
            f"{path.name}: 1 plan, 0 errors, 1 warning",
        ]


def test_a_file_without_a_plan_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "indicator.json"
    path.write_text('{"type": "indicator", "id": "indicator--x"}')
    result = run("plan", "check", str(path), check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"crisis-hub: {path} holds no CACAO playbook, nor a course-of-action that carries one\n"


def test_plan_push_then_export_gives_back_the_exact_bytes(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "cidge", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    reader = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    playbook_id = json.loads(PLAN.read_text())["id"]
    pushed = run("plan", "push", str(PLAN), "--channel", "committee", "--token", token, "--url", url)
    assert pushed.stdout == (
        f"National cyber crisis protocol ({playbook_id}) → committee: stored as {coa_id(playbook_id)}\n"
    )
    status, found = get(f"{url}/api/v1/objects/{coa_id(playbook_id)}", reader)
    assert status == 200 and found["events"][0]["tlp"] == "amber"  # the playbook's own marking-tlp

    out = tmp_path / "exported.json"
    exported = run("plan", "export", playbook_id, "--out", str(out), "--token", reader, "--url", url)
    assert exported.returncode == 0 and out.read_bytes() == PLAN.read_bytes()
    to_stdout = subprocess.run(
        [*CLI, "plan", "export", coa_id(playbook_id), "--token", reader, "--url", url],
        capture_output=True,
        timeout=2 * STARTUP,
    )
    assert to_stdout.returncode == 0 and to_stdout.stdout == PLAN.read_bytes()

    again = run("plan", "push", str(PLAN), "--channel", "committee", "--token", token, "--url", url)
    assert again.stdout.endswith(f"already stored as {coa_id(playbook_id)}\n")


def test_plan_push_refuses_a_broken_plan_before_sending_it(tmp_path: Path) -> None:
    playbook = json.loads(PLAN.read_text())
    playbook["workflow"] = {}
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(playbook))
    # The URL is never reached: a closed port would answer "cannot reach the hub" otherwise.
    result = run(
        "plan", "push", str(path), "--channel", "committee", "--token", "chub_a_b", "--url", "http://127.0.0.1:9",
        check=False,
    )  # fmt: skip
    no_traceback(result.stderr)
    assert result.returncode == 2
    assert result.stdout.startswith("error: workflow_start: no step ")
    assert result.stderr == f"crisis-hub: {path} has 1 error: not pushed\n"


def test_plan_export_of_something_else_is_a_usage_error() -> None:
    result = run("plan", "export", "indicator--x", "--token", "chub_a_b", check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "crisis-hub: 'indicator--x' is neither a playbook id (playbook--…) nor a course-of-action id\n"
    )


def test_a_tlp_that_is_no_level_is_refused_by_the_parser() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "plan", "push", str(PLAN), "--channel", "c", "--tlp", "purple"],
        capture_output=True,
        text=True,
        timeout=2 * STARTUP,
    )
    assert result.returncode == 2 and "'purple' is not a TLP level" in result.stderr
