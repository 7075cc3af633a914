"""Scenario files are checked whole before an exercise starts: each mistake named with its inject. No loop, no hub."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import pytest

from hub import demo
from hub.cli.scenario import ScenarioError, load, offset, parse, stix_object

DEMO = Path(str(importlib.resources.files("hub").joinpath("demo_data/exercise.toml")))
DECLARE = {"at": "+0s", "as": "cidge", "declare": {"name": "Drill", "severity": 1}}


def scenario(*injects: dict[str, Any]) -> dict[str, Any]:
    return {"name": "test", "inject": [DECLARE, *injects]}


def test_the_demo_scenario_reads_as_its_injects_in_time_order() -> None:
    demo = load(DEMO)
    assert demo.name == "Ransomware at the state oil company" and len(demo.injects) == 29
    assert [i.number for i in demo.injects] == list(range(1, 30))
    assert [i.at for i in demo.injects] == sorted(i.at for i in demo.injects) and demo.injects[-1].at == 35
    assert demo.stakeholders == [
        "pemex",
        "cidge",
        "cert-mx",
        "sspc",
        "cnpc",
        "banxico",
        "sedena",
        "cfe",
        "partner-cert",
    ]
    assert demo.injects[2].action == "declare" and demo.injects[2].label == "declared"


@pytest.mark.parametrize(
    "text, seconds",
    [("+0s", 0), ("+90s", 90), ("+2m", 120), ("+1h30m", 5400), ("1.5s", 1.5), (12, 12), ("+1m30s", 90)],
)
def test_offsets_are_written_in_hours_minutes_and_seconds(text: Any, seconds: float) -> None:
    assert offset(text, "at") == seconds


@pytest.mark.parametrize("text", ["", "+", "soon", "-5s", "5 s", True, -1])
def test_an_offset_that_is_not_one_says_the_form(text: Any) -> None:
    with pytest.raises(ScenarioError, match=r'at must be a time offset like "\+90s"'):
        offset(text, "at")


@pytest.mark.parametrize(
    "injects, problem",
    [
        ([{"at": "+1s", "as": "cidge", "update": {"content": "x"}, "revise": {"severity": 2}}],
         "inject 2 must have exactly one of declare, revise"),
        ([{"at": "+1s", "as": "cidge", "shout": {}}], "inject 2: unknown key(s) shout"),
        ([{"as": "cidge", "revise": {"severity": 2}}], "inject 2 has no at"),
        ([{"at": "+1s", "revise": {"severity": 2}}], "inject 2 has no as"),
        ([{"at": "+1s", "as": "cidge", "revise": 2}], "inject 2: revise must be a table"),
        ([{"at": "+5s", "as": "cidge", "revise": {"severity": 2}},
          {"at": "+2s", "as": "cidge", "revise": {"severity": 3}}], "inject 3 is at +2s, before the inject above it"),
        ([{"at": "+1s", "as": "sspc", "acknowledge": {"item": "@3"}}], "inject 2: @3 is not an inject above this one"),
        ([{"at": "+1s", "as": "sspc", "acknowledge": {"item": "spread"}}], "'spread' names no inject, label"),
        ([{"at": "+1s", "as": "pemex", "move": {"action": "@1", "status": "accepted"}}],
         "inject 2: '@1' is a declare, not one of assign"),
        ([{"at": "+1s", "as": "cidge", "update": {"content": "x", "refs": ["c2"]}}], "'c2' names no inject"),
        ([{"at": "+1s", "as": "cidge", "revise": {"severity": 2}, "crisis": "Other"}],
         "crisis 'Other' is no inject, label or crisis declared above"),
        ([{"at": "+1s", "as": "pemex", "push": {"channel": "x"}}], "push needs either a file or objects"),
        ([{"at": "+1s", "as": "pemex", "push": {"channel": "x", "objects": [{"type": "sighting", "of": "c2"}]}}],
         "of 'c2' is no object key above"),
        ([{"at": "+1s", "as": "pemex", "push": {"channel": "x", "tlp": "pink", "objects": []}}],
         "inject 2: tlp must be clear, green"),
        ([{"at": "+1s", "as": "pemex", "push": {"channel": "x", "via": "mail", "objects": []}}],
         "via must be api or taxii"),
        ([{"at": "+1s", "as": "pemex", "label": "a", "update": {"content": "x"}},
          {"at": "+1s", "as": "pemex", "label": "a", "update": {"content": "y"}}],
         "inject 3: label must be a new name"),
        ([{"at": "+1s", "as": "cidge", "assign": {"assignee": "pemex", "name": "x", "due": "tomorrow"}}],
         "inject 2: due must be a time offset"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_with_its_inject(injects: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(scenario(*injects), Path("."))
    assert problem in str(caught.value)


def test_references_reach_back_by_number_label_key_or_crisis_name() -> None:
    read = parse(
        scenario(
            {"at": "+1s", "as": "pemex", "push": {"channel": "e", "objects": [{"type": "indicator", "key": "c2"}]}},
            {"at": "+2s", "as": "cert-mx", "label": "ekans", "update": {"content": "x", "refs": ["c2"]}},
            {"at": "+3s", "as": "cidge", "crisis": "Drill", "sitrep": {"name": "S", "refs": ["ekans", "c2"]}},
            {"at": "+4s", "as": "sspc", "crisis": "@1", "acknowledge": {"item": "@4"}},
        ),
        Path("."),
    )
    assert [i.action for i in read.injects] == ["declare", "push", "update", "sitrep", "acknowledge"]


def test_a_scenario_object_becomes_a_new_stix_object_marked_and_linked_by_key() -> None:
    ids = {"c2": "indicator--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e09"}
    sighting = stix_object({"type": "sighting", "of": "c2", "count": 3}, ids, "marking-definition--x", "T")
    assert sighting["sighting_of_ref"] == ids["c2"] and sighting["count"] == 3 and sighting["first_seen"] == "T"
    assert sighting["object_marking_refs"] == ["marking-definition--x"] and sighting["id"].startswith("sighting--")
    indicator = stix_object({"type": "indicator", "key": "c2", "pattern": "[x:y = 'z']"}, ids, None, "T")
    assert "key" not in indicator and indicator["pattern_type"] == "stix" and indicator["valid_from"] == "T"
    assert "object_marking_refs" not in indicator


def test_a_file_that_is_not_toml_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[inject]\n")
    with pytest.raises(ScenarioError, match="is not TOML"):
        load(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "missing.toml")


def test_the_exercise_tells_the_demos_story() -> None:
    """The demo (crisis-hub demo) and its exercise file name the same crisis, actions, sitrep, advisory and C2."""
    injects = load(DEMO).injects
    bodies = {action: [i.body for i in injects if i.action == action] for action in ("declare", "assign", "sitrep")}
    assert [b["name"] for b in bodies["declare"]] == [demo.CRISIS_NAME]
    assert [b["name"] for b in bodies["assign"]] == [demo.ISOLATE, demo.SHARE]
    assert [b["name"] for b in bodies["sitrep"]] == [demo.SITREP]
    assert injects[-1].body["abstract"] == demo.ADVISORY
    patterns = {o.get("pattern") for i in injects if i.action == "push" for o in i.body.get("objects", [])}
    sample = f"[file:hashes.'SHA-256' = '{demo.SAMPLE_SHA256}']"
    assert {f"[ipv4-addr:value = '{ip}']" for ip in demo.C2} | {sample} <= patterns
