"""hub.plans.check: the shipped plan passes; each kind of broken plan fails where it is broken, all at once."""

from __future__ import annotations

import copy
import importlib.resources
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from hub.config import Config, load_config
from hub.plans.carrier import wrap
from hub.plans.check import (
    NOT_CACAO,
    Problem,
    Verdict,
    carried_plan_problem,
    check_bytes,
    check_carried,
    check_playbook,
)
from hub.tlp import TLP

CACAO_DATA = Path(__file__).parent.parent / "data" / "cacao"
CREATED = "2026-11-27T09:00:00.000Z"


def shipped() -> bytes:
    return importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()


def sid(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def small_plan() -> tuple[dict[str, Any], dict[str, str]]:
    """start → action (the National CERT) → end: the smallest plan the hub runs; and its ids by role."""
    ids = {"start": sid("start"), "action": sid("action"), "end": sid("end"), "agent": sid("organization")}
    playbook = {
        "type": "playbook",
        "spec_version": "cacao-2.0",
        "id": sid("playbook"),
        "name": "Small plan",
        "created_by": "identity--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e02",
        "created": CREATED,
        "modified": CREATED,
        "workflow_start": ids["start"],
        "workflow": {
            ids["start"]: {"type": "start", "on_completion": ids["action"]},
            ids["action"]: {
                "type": "action",
                "name": "Triage",
                "agent": ids["agent"],
                "commands": [{"type": "manual", "command": "Triage the incident."}],
                "on_completion": ids["end"],
            },
            ids["end"]: {"type": "end"},
        },
        "agent_definitions": {ids["agent"]: {"type": "organization", "name": "National CERT"}},
    }
    return playbook, ids


def wheres(verdict: Verdict, level: str = "error") -> dict[str, str]:
    return {p.where: p.message for p in verdict.problems if p.level == level}


@pytest.fixture(scope="module")
def demo() -> Config:
    return load_config(None)


def test_the_shipped_national_protocol_passes_with_the_demo_committee(demo: Config) -> None:
    verdict = check_bytes(shipped(), demo)
    assert verdict.problems == ()
    assert verdict.plan is not None and verdict.plan.tlp is TLP.AMBER
    assigned = {a.name: a.stakeholders for a in verdict.plan.agents.values()}
    assert assigned["committee-members"] == ("cidge", "sspc", "sedena", "cnpc")
    assert assigned["Energy sector"] == ("pemex", "cfe") and assigned["National CERT"] == ("cert-mx",)


def test_the_small_plan_passes_without_a_config() -> None:
    playbook, _ = small_plan()
    verdict = check_playbook(playbook)
    assert verdict.problems == () and verdict.plan is not None and verdict.plan.id == playbook["id"]


def test_an_agent_missing_from_agent_definitions_is_an_error_at_the_steps_agent() -> None:
    playbook, ids = small_plan()
    stranger = sid("organization")
    playbook["workflow"][ids["action"]]["agent"] = stranger
    verdict = check_playbook(playbook)
    assert wheres(verdict) == {f"workflow.{ids['action']}.agent": f"{stranger} is not in agent_definitions"}
    assert verdict.plan is None


def test_an_agent_that_names_no_stakeholder_here_is_an_error_only_with_a_config(demo: Config) -> None:
    playbook, ids = small_plan()
    playbook["agent_definitions"][ids["agent"]]["name"] = "Ministry of Magic"
    assert check_playbook(playbook).problems == ()
    assert wheres(check_playbook(playbook, demo)) == {
        f"workflow.{ids['action']}.agent": f"{ids['agent']} (organization 'Ministry of Magic') names no stakeholder "
        "of this hub"
    }


def test_an_individual_agent_is_refused_the_hub_knows_organisations(demo: Config) -> None:
    playbook, ids = small_plan()
    person = sid("individual")
    playbook["agent_definitions"] = {person: {"type": "individual", "name": "Jane Doe"}}
    playbook["workflow"][ids["action"]]["agent"] = person
    assert wheres(check_playbook(playbook, demo)) == {
        f"workflow.{ids['action']}.agent": f"{person} is an individual: the hub knows organisations, not people"
    }


def test_an_unreachable_step_is_named() -> None:
    playbook, _ = small_plan()
    orphan = sid("end")
    playbook["workflow"][orphan] = {"type": "end"}
    assert wheres(check_playbook(playbook)) == {f"workflow.{orphan}": "cannot be reached from workflow_start"}


def test_a_cycle_without_a_while_condition_is_an_error_at_the_edge_that_closes_it() -> None:
    playbook, ids = small_plan()
    back = sid("action")
    playbook["workflow"][ids["action"]]["on_completion"] = back
    playbook["workflow"][back] = {
        "type": "action",
        "agent": ids["agent"],
        "commands": [{"type": "manual", "command": "Again."}],
        "on_success": ids["action"],
        "on_failure": ids["end"],
    }
    assert wheres(check_playbook(playbook)) == {
        f"workflow.{back}.on_success": f"goes back to {ids['action']}: a loop must pass through a while-condition step"
    }


def test_a_cycle_through_a_while_condition_is_allowed() -> None:
    playbook, ids = small_plan()
    loop = sid("while-condition")
    playbook["workflow"][ids["action"]]["on_completion"] = loop
    playbook["workflow"][loop] = {
        "type": "while-condition",
        "condition": "[crisis:status = 'escalated']",
        "on_true": ids["action"],
        "on_completion": ids["end"],
    }
    assert check_playbook(playbook).errors == ()


def test_a_missing_workflow_start_is_a_schema_error_at_workflow_start() -> None:
    playbook, _ = small_plan()
    del playbook["workflow_start"]
    assert wheres(check_playbook(playbook)) == {"workflow_start": "is required but missing"}


def test_workflow_start_must_name_a_start_step() -> None:
    playbook, ids = small_plan()
    playbook["workflow_start"] = ids["action"]
    problems = wheres(check_playbook(playbook))
    assert problems["workflow_start"] == "names a action step; it must name a start step"


def test_an_unknown_step_type_is_a_schema_error_at_its_type() -> None:
    playbook, ids = small_plan()
    playbook["workflow"][ids["action"]]["type"] = "ritual"
    problems = wheres(check_playbook(playbook))
    assert problems[f"workflow.{ids['action']}.type"].startswith("'ritual' is not a CACAO workflow step type")


def test_a_schema_error_inside_a_step_names_the_property() -> None:
    playbook, ids = small_plan()
    playbook["workflow"][ids["action"]]["commands"] = []
    problems = wheres(check_playbook(playbook))
    assert problems == {f"workflow.{ids['action']}.commands": "must list at least 1"}
    del playbook["workflow"][ids["action"]]["commands"]
    problems = wheres(check_playbook(playbook))
    assert problems[f"workflow.{ids['action']}.commands"] == "is required but missing"


def test_an_edge_to_a_missing_step_is_an_error_at_that_edge() -> None:
    playbook, ids = small_plan()
    ghost = sid("end")
    playbook["workflow"][ids["action"]]["on_completion"] = ghost
    problems = wheres(check_playbook(playbook))
    assert problems[f"workflow.{ids['action']}.on_completion"] == f"no step {ghost} in the workflow"
    assert problems[f"workflow.{ids['end']}"] == "cannot be reached from workflow_start"


def test_a_condition_the_hub_cannot_evaluate_is_an_error_at_the_condition() -> None:
    playbook, ids = small_plan()
    branch = sid("if-condition")
    playbook["workflow"][ids["start"]]["on_completion"] = branch
    playbook["workflow"][branch] = {
        "type": "if-condition",
        "condition": "[ipv4-addr:value = '10.0.0.1']",
        "on_true": ids["action"],
    }
    problems = wheres(check_playbook(playbook))
    assert list(problems) == [f"workflow.{branch}.condition"]


def test_non_manual_commands_are_warnings_kept_and_shown_never_executed() -> None:
    playbook, ids = small_plan()
    playbook["workflow"][ids["action"]]["commands"].append({"type": "bash", "command": "rm -rf /"})
    verdict = check_playbook(playbook)
    assert verdict.errors == () and verdict.plan is not None
    assert wheres(verdict, "warning") == {
        f"workflow.{ids['action']}.commands[1]": "a bash command is kept and shown, never executed"
    }


def test_a_plan_above_a_stakeholders_ceiling_on_the_crisis_channel_is_a_warning_naming_step_and_stakeholder(
    demo: Config,
) -> None:
    playbook, ids = small_plan()
    playbook["agent_definitions"][ids["agent"]] = {"type": "organization", "name": "banxico"}
    verdict = check_playbook(playbook, demo, tlp=TLP.RED)
    assert verdict.errors == () and verdict.plan is not None
    assert wheres(verdict, "warning") == {
        f"workflow.{ids['action']}.agent": "banxico is assigned 'Triage' but may not read the TLP:RED plan: "
        "TLP:RED is above banxico's ceiling TLP:AMBER+STRICT on committee"
    }
    assert check_playbook(playbook, demo, tlp=TLP.AMBER_STRICT).problems == ()


def test_every_problem_of_a_plan_broken_many_ways_is_reported_at_once(demo: Config) -> None:
    playbook, ids = small_plan()
    del playbook["created_by"]
    playbook["workflow"][ids["start"]]["on_success"] = ids["end"]  # start steps have no on_success
    playbook["workflow"][ids["action"]]["agent"] = "organization--nope"
    orphan = sid("action")
    playbook["workflow"][orphan] = {
        "type": "action",
        "agent": ids["agent"],
        "commands": [{"type": "manual", "command": "x"}],
        "on_completion": sid("end"),
    }
    problems = wheres(check_playbook(playbook, demo))
    assert set(problems) >= {
        "created_by",
        f"workflow.{ids['start']}",
        f"workflow.{ids['action']}.agent",
        f"workflow.{orphan}",
        f"workflow.{orphan}.on_completion",
    }
    assert problems["created_by"] == "is required but missing"
    assert problems[f"workflow.{ids['start']}"] == "must not have 'on_failure' or 'on_success' here"


def test_a_step_id_must_begin_with_its_type() -> None:
    playbook, ids = small_plan()
    playbook["workflow"][ids["end"]]["type"] = "start"
    problems = wheres(check_playbook(playbook))
    assert problems[f"workflow.{ids['end']}"] == "the id of a start must start with 'start--'"


def test_a_course_of_action_carrying_a_broken_plan_is_refused_with_the_reason() -> None:
    playbook, ids = small_plan()
    playbook["workflow"][ids["action"]]["agent"] = "organization--nope"
    coa = wrap(json.dumps(playbook).encode(), TLP.AMBER)
    reason = carried_plan_problem(coa)
    assert reason is not None and reason.startswith("course-of-action playbook: ")
    assert f"workflow.{ids['action']}.agent: organization--nope is not in agent_definitions" in reason


def test_unknown_agents_and_tlp_never_refuse_a_carried_plan(demo: Config) -> None:
    playbook, ids = small_plan()
    playbook["agent_definitions"][ids["agent"]]["name"] = "A partner's own team"
    coa = wrap(json.dumps(playbook).encode(), TLP.RED)
    assert carried_plan_problem(coa) is None
    assert [p.where for p in check_carried(coa, demo).errors] == [f"workflow.{ids['action']}.agent"]


@pytest.mark.parametrize("name", sorted(p.name for p in CACAO_DATA.glob("*.json")))
def test_the_published_examples_carry_content_that_is_not_cacao_and_pass_with_a_warning(name: str) -> None:
    document = json.loads((CACAO_DATA / name).read_text())
    [coa] = [o for o in document["objects"] if o["type"] == "course-of-action"]
    verdict = check_carried(coa)
    content = "extensions.extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c.playbook_base64"
    assert verdict.problems == (Problem("warning", content, NOT_CACAO),)
    assert carried_plan_problem(coa) is None


def test_other_objects_are_not_the_checks_business() -> None:
    playbook, _ = small_plan()
    coa = wrap(json.dumps(playbook).encode())
    other = copy.deepcopy(coa)
    other["extensions"]["extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c"]["playbook_standard"] = "bpmn"
    other["extensions"]["extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c"]["playbook_bin"] = "AAAA"
    assert check_carried(other).problems == ()
    assert check_carried({"type": "indicator", "id": "indicator--x"}).problems == ()
