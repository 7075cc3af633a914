"""Configured triggers: which crisis, declared or raised to which severity, starts a plan."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.config import PlanTrigger
from hub.crisis.model import Crisis, severity_of
from hub.crisis.taxonomy import NCISS
from hub.plans.triggers import starts
from hub.tlp import TLP

PLAN = "playbook--2e9a4a6c-4f64-4a55-9f9e-0c1d2b3a4f5e"
BASE = Crisis(
    id="incident--6f1d3c1e-2b4a-4c8e-9d7f-0a1b2c3d4e5f", name="Grid outage", description=None,
    severity=severity_of(2, NCISS), category="availability", subcategory="outage", status="assessing", lead="cidge",
    affected_sectors=("energy",), affected_stakeholders=(), created="", modified="", channel="committee",
    tlp=TLP.AMBER, updated="", updated_by="cidge", event_id="1-0",
)  # fmt: skip


def at(*levels: int, **changes: object) -> list[Crisis]:
    return [replace(BASE, severity=severity_of(level, NCISS), **changes) for level in levels]  # type: ignore[arg-type]


def trigger(**kw: object) -> PlanTrigger:
    return PlanTrigger(name="protocol", plan=PLAN, channel="committee", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "on, levels, expected",
    [
        ({"declared"}, (3,), True),
        ({"declared"}, (2,), False),
        ({"declared"}, (2, 4), False),  # raised later: not a declaration at 3
        ({"raised"}, (2, 4), True),
        ({"raised"}, (3, 4), False),  # never below the threshold: nothing rose to it
        ({"raised"}, (2, 2, 3, 1), True),  # it rose once, even if it fell again
        ({"declared", "raised"}, (3,), True),
        ({"declared", "raised"}, (1, 3), True),
    ],
)
def test_a_trigger_starts_on_declaration_or_on_a_rise_to_its_severity(
    on: set[str], levels: tuple[int, ...], expected: bool
) -> None:
    assert starts(trigger(on=frozenset(on), min_severity=3), at(*levels)) is expected


def test_categories_filter_on_the_crisis_as_it_stands() -> None:
    ransomware = trigger(min_severity=0, categories=frozenset({"ransomware"}))
    assert not starts(ransomware, at(3))
    assert starts(ransomware, at(3, category="ransomware"))


def test_exercises_start_only_plans_that_say_so_and_closed_crises_none() -> None:
    assert not starts(trigger(), at(3, exercise=True))
    assert starts(trigger(exercises=True), at(3, exercise=True))
    assert not starts(trigger(), at(3, status="closed"))
    assert not starts(trigger(), [])
