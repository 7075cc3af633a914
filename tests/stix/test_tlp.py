"""hub.tlp / hub.stix: how a TLP is read from markings, whatever the letter case, and which marking
definitions may declare one. Pure: no event loop, no Redis.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.stix import Submission, tlp_of, validate
from hub.tlp import TLP, TLP1_MARKING_IDS, TLP2_MARKING_IDS, declared_tlp, level_of_markings

TLP_DATA = Path(__file__).parents[1] / "data" / "stix" / "tlp2"
UNOFFICIAL = "marking-definition--0b7a0a57-93a8-4b1e-9d9e-6c1b8a3a8e01"
REASON = "declares a TLP but is not an official TLP marking; mark with the official TLP 2.0 ids"


def upper(marking_id: str) -> str:
    """The id with its UUID in upper case (what some producers emit; the validators accept it)."""
    prefix, _, uuid = marking_id.partition("--")
    return f"{prefix}--{uuid.upper()}"


def official_definition(level: str) -> dict[str, Any]:
    (obj,) = orjson.loads((TLP_DATA / f"tlp-{level}.json").read_bytes())["objects"]
    assert isinstance(obj, dict)
    return obj


def indicator(n: int, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--6b3a3b5e-8f1c-4d2e-9a7b-{n:012d}",
        "created": "2026-03-01T10:00:00.000Z",
        "modified": "2026-03-01T10:00:00.000Z",
        "name": "C2 address",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T10:00:00Z",
    }
    obj.update(changes)
    return obj


def verdicts(submission: Submission) -> dict[int, TLP | str]:
    """index → TLP of each accepted object, or the reason of each rejected one."""
    out: dict[int, TLP | str] = {item.index: item.tlp for item in submission.items}
    out.update({rejection.index: rejection.reason for rejection in submission.rejected})
    return out


# --- letter case ------------------------------------------------------------------------

ALL_OFFICIAL = [(level, mid) for level, mid in TLP2_MARKING_IDS.items()] + [
    (level, mid) for level, mid in TLP1_MARKING_IDS.items()
]


@pytest.mark.parametrize(("level", "marking_id"), ALL_OFFICIAL, ids=lambda v: str(v))
@pytest.mark.parametrize("full", [False, True], ids=["fast", "full"])
def test_an_upper_case_official_id_gives_its_level_on_the_object_and_on_a_part(
    level: TLP, marking_id: str, full: bool
) -> None:
    """TLP 2.0 and 1.0 ids with an upper-case UUID are the same marking, object-level or granular."""
    default = TLP.CLEAR if level is not TLP.CLEAR else TLP.RED
    objects = [
        indicator(1, object_marking_refs=[upper(marking_id)]),
        indicator(2, granular_markings=[{"marking_ref": upper(marking_id), "selectors": ["name"]}]),
    ]
    assert verdicts(validate(objects, default, full=full)) == {0: level, 1: level}


def test_upper_case_red_is_never_read_as_unmarked() -> None:
    """The issue's case: TLP 2.0 RED in upper case on a channel whose default is AMBER is RED."""
    red = "marking-definition--E828B379-4E03-4974-9AC4-E53A884C97C1"
    assert tlp_of({"object_marking_refs": [red]}) is TLP.RED
    assert verdicts(validate([indicator(1, object_marking_refs=[red])], TLP.AMBER)) == {0: TLP.RED}


def test_most_restrictive_wins_across_cases_versions_and_granular_markings() -> None:
    """Lower-case GREEN on the object, upper-case 1.0 AMBER and 2.0 AMBER+STRICT on parts: AMBER+STRICT."""
    obj = indicator(
        1,
        object_marking_refs=[TLP2_MARKING_IDS[TLP.GREEN]],
        granular_markings=[
            {"marking_ref": upper(TLP1_MARKING_IDS[TLP.AMBER]), "selectors": ["name"]},
            {"marking_ref": upper(TLP2_MARKING_IDS[TLP.AMBER_STRICT]), "selectors": ["pattern"]},
        ],
    )
    assert tlp_of(obj) is TLP.AMBER_STRICT
    assert level_of_markings([upper(TLP2_MARKING_IDS[TLP.CLEAR]), TLP1_MARKING_IDS[TLP.RED]]) is TLP.RED


def test_a_non_tlp_marking_in_any_case_is_still_no_tlp() -> None:
    """Lower-casing finds only official ids: a statement marking stays "no TLP" (the default applies)."""
    assert level_of_markings([upper("marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168")]) is None


# --- marking definitions declaring a TLP ------------------------------------------------------


def tlp2_lookalike(value: str = "red", marking_id: str = UNOFFICIAL) -> dict[str, Any]:
    """An official TLP 2.0 definition copied under another id: declares a TLP, is not one."""
    return {**copy.deepcopy(official_definition(value)), "id": marking_id}


def tlp1_style(value: str = "red", marking_id: str = UNOFFICIAL) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2026-03-01T10:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": value},
    }


@pytest.mark.parametrize("definition", [tlp2_lookalike, tlp1_style], ids=["tlp2-extension", "tlp1-definition"])
@pytest.mark.parametrize("full", [False, True], ids=["fast", "full"])
def test_a_tlp_declaring_marking_definition_with_its_own_id_is_rejected_with_its_referrers(
    definition: Any, full: bool
) -> None:
    """It and every object of the submission marking with it (object-level or granular, any case) get a reason."""
    objects = [
        definition(),
        indicator(1, object_marking_refs=[UNOFFICIAL]),
        indicator(2, granular_markings=[{"marking_ref": upper(UNOFFICIAL), "selectors": ["name"]}]),
        indicator(3),
    ]
    result = verdicts(validate(objects, TLP.AMBER, full=full))
    assert result[0] == REASON
    assert result[1] == f"object_marking_refs: {UNOFFICIAL} (in this submission) {REASON}"
    assert result[2] == f"granular_markings[0].marking_ref: {upper(UNOFFICIAL)} (in this submission) {REASON}"
    assert result[3] is TLP.AMBER


def test_an_official_id_declaring_another_level_is_rejected() -> None:
    """The CLEAR id with a RED declaration would tell readers RED while the hub reads CLEAR."""
    forged = tlp2_lookalike("red", TLP2_MARKING_IDS[TLP.CLEAR])
    assert verdicts(validate([forged], TLP.AMBER)) == {
        0: "declares TLP 'red' but its id is the official TLP:CLEAR marking"
    }


@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_the_official_definitions_stay_accepted_in_any_case(level: str) -> None:
    """OASIS's own TLP 2.0 definitions, and the same with an upper-case id, are accepted."""
    official = official_definition(level)
    shouted = {**official, "id": upper(official["id"])}
    assert set(verdicts(validate([official, shouted], TLP.AMBER)).values()) == {TLP.AMBER}


def test_declared_tlp_reads_every_form_and_nothing_else() -> None:
    """The forms that declare a TLP, and statements that do not."""
    assert declared_tlp(official_definition("amber+strict")) == "amber+strict"
    assert declared_tlp(tlp1_style("white")) == "white"
    assert declared_tlp({"definition_type": "TLP", "definition": {}}) == ""
    assert declared_tlp({"extensions": {"x": {"tlp_2_0": 4}}}) == "4"
    assert declared_tlp({"definition_type": "statement", "definition": {"statement": "Copyright"}}) is None
    assert declared_tlp({"name": "TLP:RED"}) is None  # a name is not a declaration
