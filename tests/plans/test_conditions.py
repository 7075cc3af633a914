"""Plan conditions: STIX patterns over the crisis, evaluated by the hub; what it cannot read is refused up front."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.plans.conditions import ConditionError, Facts, condition_problem, evaluate, switch_property, switch_value

CRISIS = Facts(
    severity=3,
    status="escalated",
    category="ransomware",
    subcategory="encryption",
    affected_sectors=("energy", "finance"),
    affected_stakeholders=("pemex",),
)


@pytest.mark.parametrize(
    "condition, holds",
    [
        ("[crisis:severity >= 3]", True),
        ("[crisis:severity > 3]", False),
        ("[crisis:severity < 4 AND crisis:status = 'escalated']", True),
        ("[crisis:category IN ('ddos', 'ransomware')]", True),
        ("[crisis:category NOT IN ('ddos', 'ransomware')]", False),
        ("[crisis:affected_sectors[*] = 'energy']", True),
        ("[crisis:affected_sectors[*] = 'health']", False),
        ("[crisis:affected_stakeholders[*] = 'cfe'] OR [crisis:severity = 3]", True),
        ("[crisis:affected_stakeholders[*] = 'cfe'] AND [crisis:severity = 3]", False),
        ("[crisis:exercise = false]", True),
        ("[crisis:exercise = true]", False),
        ("[crisis:subcategory LIKE 'encr%']", True),
        ("[crisis:subcategory MATCHES '^enc']", True),
        ("[crisis:status != 'closed' AND (crisis:severity = 1 OR crisis:severity = 3)]", True),
        ("[crisis:severity > 'high']", False),
        ("[crisis:severity NOT >= 3]", False),
        ("[crisis:severity NOT < 3]", True),
        ("[crisis:subcategory NOT LIKE 'encr%']", False),
        ("[crisis:subcategory NOT MATCHES '^x']", True),
        ("[crisis:status NOT = 'escalated']", False),
        ("[crisis:status NOT != 'escalated']", True),
        ("[crisis:status != 'escalated']", False),
    ],
)
def test_conditions_read_the_crisis(condition: str, holds: bool) -> None:
    assert condition_problem(condition) is None
    assert evaluate(condition, CRISIS) is holds


@pytest.mark.parametrize(
    "condition, reason",
    [
        ("crisis:severity >= 3", "not a STIX pattern"),
        ("", "must be a STIX pattern"),
        ("[file:name = 'x']", "compares the crisis"),
        ("[crisis:colour = 'red']", "no property 'colour'"),
        ("[crisis:affected_sectors = 'energy']", "is a list"),
        ("[crisis:affected_sectors[0] = 'energy']", "use [*]"),
        ("[crisis:severity = 3] WITHIN 5 SECONDS", "time qualifiers"),
        ("[crisis:affected_sectors[*] ISSUBSET '10.0.0.0/8']", "cannot evaluate ISSUBSET"),
    ],
)
def test_conditions_the_hub_cannot_read_are_refused_with_the_reason(condition: str, reason: str) -> None:
    problem = condition_problem(condition)
    assert problem is not None and reason in problem
    with pytest.raises(ConditionError):
        evaluate(condition, CRISIS)


@pytest.mark.parametrize("switch", ["crisis:category", "__crisis_category__", "__crisis_category__:value"])
def test_a_switch_names_one_property_of_the_crisis(switch: str) -> None:
    assert switch_property(switch) == "category"
    assert switch_value(switch, CRISIS) == "ransomware"


def test_a_switch_on_a_number_or_a_flag_selects_its_text() -> None:
    assert switch_value("crisis:severity", CRISIS) == "3"
    assert switch_value("crisis:exercise", CRISIS) == "false"
    with pytest.raises(ConditionError, match="switch must name"):
        switch_property("crisis:affected_sectors")


@given(st.integers(0, 5), st.integers(0, 5))
def test_severity_thresholds_agree_with_integer_order(severity: int, threshold: int) -> None:
    facts = Facts(severity, "declared", "c", "s", (), ())
    assert evaluate(f"[crisis:severity >= {threshold}]", facts) is (severity >= threshold)
    assert evaluate(f"[crisis:severity >= {threshold}]", facts) is not evaluate(
        f"[crisis:severity < {threshold}]", facts
    )
