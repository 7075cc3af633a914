"""The run engine: a playbook's workflow walked step by step against a crisis, its items and the clock. No loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.plans.conditions import Facts
from hub.plans.model import Directory, Plan, read_plan
from hub.plans.records import child_id, item_id, trigger_run_id
from hub.plans.run import (
    COMPLETED,
    DELAYED,
    FAILED,
    RUNNING,
    SKIPPED,
    TIMED_OUT,
    Advance,
    Inputs,
    ItemView,
    RunState,
    advance,
    cursors_from_json,
    cursors_json,
    next_wake,
    plus_ms,
    record_from_json,
    record_json,
    start,
)

T0 = "2026-12-06T10:00:00.000Z"
CRISIS_ID = "incident--6f1d3c1e-2b4a-4c8e-9d7f-0a1b2c3d4e5f"
RUN = trigger_run_id(CRISIS_ID, "protocol")
DIRECTORY = Directory(
    names={"cert-mx": "National CERT", "pemex": "State Oil Company", "cfe": "Electricity", "banxico": "Central Bank"},
    sectors={"cert-mx": "cyber", "pemex": "energy", "cfe": "energy", "banxico": "finance"},
    groups={"energy-operators": ("Energy operators", ("pemex", "cfe"))},
)
AGENTS = {
    "organization--cert": {"type": "organization", "name": "National CERT"},
    "sector--energy": {"type": "sector", "name": "Energy", "sector": "energy"},
    "organization--bank": {"type": "organization", "name": "banxico"},
    "group--ops": {"type": "group", "name": "energy-operators"},
}
CRISIS = Facts(3, "escalated", "ransomware", "encryption", ("energy",), ("pemex",))


def action(name: str, agent: str, **edges: Any) -> dict[str, Any]:
    return {"type": "action", "name": name, "agent": agent, "commands": [{"type": "manual", "command": name}], **edges}


def playbook(workflow: Mapping[str, dict[str, Any]], **extra: Any) -> Plan:
    doc = {
        "type": "playbook",
        "spec_version": "cacao-2.0",
        "id": "playbook--00000000-0000-4000-8000-000000000001",
        "name": "test plan",
        "created_by": "identity--00000000-0000-4000-8000-000000000002",
        "created": T0,
        "modified": T0,
        "workflow_start": "start",
        "workflow": {"start": {"type": "start", "on_completion": next(iter(workflow))}, **workflow},
        "agent_definitions": AGENTS,
        **extra,
    }
    return read_plan(doc, DIRECTORY)


def inputs(
    now: str = T0,
    items: Mapping[str, ItemView] | None = None,
    children: Mapping[str, str] | None = None,
    facts: Facts = CRISIS,
    may_assign: Callable[[str], bool] = lambda _: True,
) -> Inputs:
    return Inputs(
        facts=facts,
        items=items or {},
        children=children or {},
        now=now,
        default_due_ms=3_600_000,
        may_assign=may_assign,
        item_id=lambda step, visit, who: item_id(RUN, step, visit, who),
        child_id=lambda step, visit: child_id(RUN, step, visit),
    )


def begin(plan: Plan, **kw: Any) -> Advance:
    return advance(start(RUN, plan, CRISIS_ID), plan, inputs(**kw))


def settle(state: RunState, plan: Plan, statuses: Mapping[str, str], now: str = T0, **kw: Any) -> Advance:
    """Advance after each named item (by assignee, of every step that has items) moved to its status."""
    items = {}
    for record in state.steps.values():
        for key, who in zip(record.items, record.assignees, strict=True):
            items[key] = ItemView(key, who, statuses.get(who, "assigned"), now, who)
    return advance(state, plan, inputs(now=now, items=items, **kw))


LINEAR = {
    "triage": action("Triage", "organization--cert", on_success="contain", on_failure="fallback"),
    "contain": action("Contain", "sector--energy", on_completion="end"),
    "fallback": action("Fallback", "organization--bank", on_completion="end"),
    "end": {"type": "end"},
}


def test_reaching_an_action_assigns_it_to_the_organisation_its_agent_names() -> None:
    plan = playbook(LINEAR)
    moved = begin(plan)
    [item] = moved.items
    assert (item.step, item.assignee, item.name, item.due) == ("triage", "cert-mx", "Triage", plus_ms(T0, 3_600_000))
    assert moved.state.status == RUNNING and [c.step for c in moved.state.cursors] == ["triage"]
    assert moved.state.steps["start"].state == COMPLETED and moved.state.steps["triage"].state == RUNNING


def test_a_completed_item_takes_on_success_and_a_sector_agent_assigns_every_stakeholder_of_it() -> None:
    plan = playbook(LINEAR)
    moved = settle(begin(plan).state, plan, {"cert-mx": "completed"})
    assert moved.state.steps["triage"].state == COMPLETED and moved.state.steps["triage"].done_by == ("cert-mx",)
    assert sorted(i.assignee for i in moved.items) == ["cfe", "pemex"]
    assert all(i.step == "contain" for i in moved.items)


def test_a_cancelled_item_takes_on_failure() -> None:
    plan = playbook(LINEAR)
    moved = settle(begin(plan).state, plan, {"cert-mx": "cancelled"})
    assert moved.state.steps["triage"].state == FAILED
    assert [i.assignee for i in moved.items] == ["banxico"]


def test_a_step_with_several_assignees_waits_for_every_one() -> None:
    plan = playbook(LINEAR)
    contain = settle(begin(plan).state, plan, {"cert-mx": "completed"}).state
    half = settle(contain, plan, {"cert-mx": "completed", "pemex": "completed"})
    assert half.state.steps["contain"].state == RUNNING and not half.items
    done = settle(contain, plan, {"cert-mx": "completed", "pemex": "completed", "cfe": "completed"})
    assert done.state.status == COMPLETED and done.state.steps["end"].state == COMPLETED
    assert set(done.state.steps["contain"].done_by) == {"pemex", "cfe"}


def test_a_failure_with_nowhere_to_go_fails_the_run_and_says_which_step() -> None:
    plan = playbook({"only": action("Only", "organization--cert", on_success="end"), "end": {"type": "end"}})
    moved = settle(begin(plan).state, plan, {"cert-mx": "cancelled"})
    assert moved.state.status == FAILED and "'Only'" in (moved.state.note or "")


def test_the_playbooks_exception_step_takes_a_failure_nobody_else_takes() -> None:
    workflow = {
        "only": action("Only", "organization--cert", on_success="end"),
        "end": {"type": "end"},
        "rescue": action("Rescue", "organization--bank", on_completion="end"),
    }
    plan = playbook(workflow, workflow_exception="rescue")
    moved = settle(begin(plan).state, plan, {"cert-mx": "cancelled"})
    assert moved.state.status == RUNNING and [i.assignee for i in moved.items] == ["banxico"]


PARALLEL = {
    "fork": {"type": "parallel", "next_steps": ["energy", "finance"], "on_completion": "advise"},
    "energy": action("Energy impact", "group--ops", on_completion="energy-end"),
    "energy-end": {"type": "end"},
    "finance": action("Finance impact", "organization--bank", on_completion="finance-end"),
    "finance-end": {"type": "end"},
    "advise": action("Public advisory", "organization--cert", on_completion="end"),
    "end": {"type": "end"},
}


def test_a_parallel_step_runs_its_branches_together_and_goes_on_when_all_are_done() -> None:
    plan = playbook(PARALLEL)
    forked = begin(plan)
    assert sorted(i.assignee for i in forked.items) == ["banxico", "cfe", "pemex"]
    one = settle(forked.state, plan, {"banxico": "completed"})
    assert one.state.steps["fork"].state == RUNNING and one.state.steps["fork"].branches_done == (1,)
    assert not one.items
    both = settle(forked.state, plan, {"banxico": "completed", "pemex": "completed", "cfe": "completed"})
    assert both.state.steps["fork"].state == COMPLETED
    assert [i.step for i in both.items] == ["advise"]


def conditional(condition: str) -> Plan:
    return playbook(
        {
            "convene": {
                "type": "if-condition",
                "condition": condition,
                "on_true": "meet",
                "on_false": "skip",
                "on_completion": "end",
            },  # fmt: skip
            "meet": action("Convene the committee", "organization--bank", on_completion="meet-end"),
            "meet-end": {"type": "end"},
            "skip": action("Monitor", "organization--cert", on_completion="skip-end"),
            "skip-end": {"type": "end"},
            "end": {"type": "end"},
        }
    )


def test_an_if_condition_reads_the_crisis_and_returns_after_its_branch() -> None:
    plan = conditional("[crisis:severity >= 3]")
    moved = begin(plan)
    assert [i.step for i in moved.items] == ["meet"]
    assert [i.step for i in begin(plan, facts=replace(CRISIS, severity=2)).items] == ["skip"]
    done = settle(moved.state, plan, {"banxico": "completed"})
    assert done.state.steps["convene"].state == COMPLETED and done.state.status == COMPLETED


def test_a_condition_the_hub_cannot_read_fails_the_step_with_the_reason() -> None:
    moved = begin(conditional("[crisis:colour = 'red']"))
    assert moved.state.steps["convene"].state == FAILED and "colour" in (moved.state.steps["convene"].note or "")


def test_a_switch_picks_the_case_of_the_crisis_category_or_the_default() -> None:
    workflow = {
        "by-kind": {
            "type": "switch-condition",
            "switch": "crisis:category",
            "cases": {"ransomware": "decrypt", "default": "watch"},
            "on_completion": "end",
        },  # fmt: skip
        "decrypt": action("Decryption support", "organization--cert", on_completion="d-end"),
        "d-end": {"type": "end"},
        "watch": action("Watch", "organization--bank", on_completion="w-end"),
        "w-end": {"type": "end"},
        "end": {"type": "end"},
    }
    plan = playbook(workflow)
    assert [i.step for i in begin(plan).items] == ["decrypt"]
    assert [i.step for i in begin(plan, facts=replace(CRISIS, category="ddos")).items] == ["watch"]


def test_a_while_loop_repeats_its_branch_with_new_items_until_its_condition_turns_false() -> None:
    workflow = {
        "loop": {
            "type": "while-condition",
            "condition": "[crisis:status != 'closed']",
            "on_true": "check",
            "on_completion": "end",
        },  # fmt: skip
        "check": action("Hourly check", "organization--cert", on_completion="check-end"),
        "check-end": {"type": "end"},
        "end": {"type": "end"},
    }
    plan = playbook(workflow)
    first = begin(plan)
    [item] = first.items
    second = settle(first.state, plan, {"cert-mx": "completed"})
    [again] = second.items
    assert again.id != item.id and second.state.steps["check"].visits == 2
    closed = replace(CRISIS, status="closed")
    items = {again.id: ItemView(again.id, "cert-mx", "completed", T0, "cert-mx")}
    done = advance(second.state, plan, inputs(items=items, facts=closed))
    assert done.state.status == COMPLETED


def test_a_loop_that_never_waits_fails_the_run_instead_of_spinning() -> None:
    workflow = {
        "loop": {
            "type": "while-condition",
            "condition": "[crisis:severity >= 0]",
            "on_true": "noop",
            "on_completion": "end",
        },  # fmt: skip
        "noop": {"type": "start", "on_completion": "noop-end"},
        "noop-end": {"type": "end"},
        "end": {"type": "end"},
    }
    moved = begin(playbook(workflow))
    assert moved.state.status == FAILED and "loop" in (moved.state.note or "")


def test_a_timeout_with_on_failure_moves_the_run_and_without_it_the_step_stays_late() -> None:
    workflow = {
        "triage": {
            **action("Triage", "organization--cert", on_success="end", on_failure="escalate"),
            "timeout": 60_000,
        },
        "escalate": action("Escalate", "organization--bank", on_completion="end"),
        "end": {"type": "end"},
    }
    plan = playbook(workflow)
    moved = begin(plan)
    assert moved.items[0].due == plus_ms(T0, 60_000) and next_wake(moved.state, plan) == plus_ms(T0, 60_000)
    early = settle(moved.state, plan, {}, now=plus_ms(T0, 59_999))
    assert early.state.steps["triage"].state == RUNNING and not early.items
    late = settle(moved.state, plan, {}, now=plus_ms(T0, 60_000))
    assert late.state.steps["triage"].state == TIMED_OUT and [i.step for i in late.items] == ["escalate"]
    no_edge = playbook({**workflow, "triage": {**workflow["triage"], "on_failure": None}})
    waiting = settle(begin(no_edge).state, no_edge, {}, now=plus_ms(T0, 3_600_000))
    assert waiting.state.steps["triage"].state == RUNNING and next_wake(waiting.state, no_edge) is None


def test_a_delayed_step_starts_when_its_delay_is_over() -> None:
    plan = playbook({"later": {**action("Later", "organization--cert", on_completion="end"), "delay": 5_000},
                     "end": {"type": "end"}})  # fmt: skip
    moved = begin(plan)
    assert moved.state.steps["later"].state == DELAYED and not moved.items
    assert next_wake(moved.state, plan) == plus_ms(T0, 5_000)
    assert not advance(moved.state, plan, inputs(now=plus_ms(T0, 4_999))).items
    [item] = advance(moved.state, plan, inputs(now=plus_ms(T0, 5_000))).items
    assert item.step == "later"


def test_a_stakeholder_that_may_not_read_the_runs_tlp_is_never_assigned() -> None:
    plan = playbook(LINEAR)
    contain = settle(begin(plan).state, plan, {"cert-mx": "completed"}, may_assign=lambda s: s != "cfe")
    assert [i.assignee for i in contain.items] == ["pemex"] and contain.state.steps["contain"].withheld == ("cfe",)
    nobody = begin(plan, may_assign=lambda _: False)
    assert not nobody.items and nobody.state.steps["triage"].state == FAILED
    assert "may read" in (nobody.state.steps["triage"].note or "")


def test_an_action_that_is_not_manual_is_kept_and_skipped() -> None:
    scripted = {"type": "action", "name": "Block", "agent": "organization--cert",
                "commands": [{"type": "bash", "command": "iptables -A"}], "on_completion": "next"}  # fmt: skip
    plan = playbook({"script": scripted, "next": action("Next", "organization--bank", on_completion="end"),
                     "end": {"type": "end"}})  # fmt: skip
    moved = begin(plan)
    assert moved.state.steps["script"].state == SKIPPED and [i.step for i in moved.items] == ["next"]


def test_a_playbook_action_starts_a_child_run_and_goes_on_when_it_completes() -> None:
    plan = playbook({"sub": {"type": "playbook-action", "playbook_id": "playbook--sub", "on_success": "end",
                             "on_failure": "end"}, "end": {"type": "end"}})  # fmt: skip
    moved = begin(plan)
    [child] = moved.children
    assert child.playbook == "playbook--sub" and moved.state.steps["sub"].child == child.id
    assert advance(moved.state, plan, inputs(children={child.id: RUNNING})).state.status == RUNNING
    done = advance(moved.state, plan, inputs(children={child.id: COMPLETED}))
    assert done.state.status == COMPLETED and done.state.steps["sub"].state == COMPLETED


def test_the_stored_form_reads_back_the_same() -> None:
    plan = playbook(PARALLEL)
    state = settle(begin(plan).state, plan, {"banxico": "completed"}).state
    steps = {k: record_from_json(record_json(v)) for k, v in state.steps.items()}
    assert steps == dict(state.steps)
    assert cursors_from_json(cursors_json(state.cursors)) == state.cursors


@given(st.sets(st.sampled_from(["banxico", "pemex", "cfe"])), st.sampled_from(["completed", "cancelled"]))
def test_the_same_inputs_give_the_same_next_state(done: set[str], status: str) -> None:
    plan = playbook(PARALLEL)
    forked = begin(plan).state
    statuses = dict.fromkeys(done, status)
    assert settle(forked, plan, statuses) == settle(forked, plan, statuses)


@given(
    st.lists(st.sampled_from(sorted(AGENTS)), min_size=1, max_size=6),
    st.sets(st.sampled_from(sorted(DIRECTORY.names))),
    st.lists(st.sampled_from(["completed", "cancelled", "assigned"]), min_size=6, max_size=6),
)
def test_no_step_is_ever_assigned_to_a_stakeholder_who_may_not_read_the_run(
    agents: list[str], cleared: set[str], outcomes: list[str]
) -> None:
    """Any chain of action steps, any ceilings, any outcomes: every item goes to a cleared stakeholder."""
    workflow: dict[str, dict[str, Any]] = {}
    for i, agent in enumerate(agents):
        after = f"step-{i + 1}" if i + 1 < len(agents) else "end"
        workflow[f"step-{i}"] = action(f"Step {i}", agent, on_completion=after)
    workflow["end"] = {"type": "end"}
    plan = playbook(workflow)
    moved = begin(plan, may_assign=lambda s: s in cleared)
    assigned = list(moved.items)
    for outcome in outcomes:
        if moved.state.status != RUNNING:
            break
        statuses = dict.fromkeys(DIRECTORY.names, outcome)
        moved = settle(moved.state, plan, statuses, may_assign=lambda s: s in cleared)
        assigned += moved.items
    assert {item.assignee for item in assigned} <= cleared
    for record in moved.state.steps.values():
        assert not set(record.assignees) - cleared and not set(record.withheld) & cleared
