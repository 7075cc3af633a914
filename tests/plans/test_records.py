"""A plan run as stored: the run object and its step items pass the crisis schema and read back the same."""

from __future__ import annotations

from dataclasses import replace

from hub.crisis.objects import is_hub_object
from hub.crisis.schema import hub_object_problem
from hub.plans.records import RunInfo, child_id, item_id, read_run, run_object, step_item, trigger_run_id
from hub.plans.run import NewItem
from hub.tlp import TLP
from tests.plans.test_run import CRISIS_ID, LINEAR, PARALLEL, T0, begin, playbook, settle

COA = "course-of-action--0b8e8a53-4a32-5f0e-8a1e-3d2c1b0a9f8e"


def info() -> RunInfo:
    return RunInfo("National protocol", COA, "declared", "hub", T0)


def test_a_run_version_passes_the_crisis_schema_and_reads_back_the_same() -> None:
    plan = playbook(PARALLEL)
    state = settle(begin(plan).state, plan, {"banxico": "completed"}).state
    obj = run_object(state, info(), T0, TLP.AMBER)
    assert is_hub_object(obj) and hub_object_problem(obj) is None
    assert read_run(obj) == (state, info())
    assert obj["object_marking_refs"] == [TLP.AMBER.marking_id]


def test_a_run_that_tries_a_state_the_schema_does_not_know_is_refused() -> None:
    plan = playbook(LINEAR)
    state = begin(plan).state
    state = replace(state, status="paused")
    problem = hub_object_problem(run_object(state, info(), T0, None))
    assert problem is not None and "status" in problem


def test_a_step_item_is_an_action_item_naming_its_run_and_step() -> None:
    run_id = trigger_run_id(CRISIS_ID, "p")
    new = NewItem(item_id(run_id, "triage", 1, "cert-mx"), "triage", "cert-mx", "Triage", "Look at it", T0)
    obj = step_item(CRISIS_ID, new, run_id, T0, TLP.AMBER, ("cert-mx",))
    assert hub_object_problem(obj) is None
    assert (obj["id"], obj["plan_run_ref"], obj["plan_step"], obj["assigned_by"]) == (new.id, run_id, "triage", "hub")
    assert obj["due"] == T0 and obj["status"] == "assigned" and obj["description"] == "Look at it"


def test_ids_follow_what_they_stand_for() -> None:
    run_id = trigger_run_id(CRISIS_ID, "p")
    assert run_id == trigger_run_id(CRISIS_ID, "p") != trigger_run_id(CRISIS_ID, "q")
    assert item_id(run_id, "s", 1, "a") != item_id(run_id, "s", 2, "a") != item_id(run_id, "s", 1, "b")
    assert child_id(run_id, "s", 1).startswith("crisis-plan-run--")
