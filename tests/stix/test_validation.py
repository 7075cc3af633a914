"""hub.stix: decoding, strict STIX 2.1 validation and TLP extraction, on real public STIX data.

The data lives in tests/data/stix (see its README.md for sources and licences).
Pure: no event loop, no Redis.
"""

from __future__ import annotations

import copy
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
import stix2  # type: ignore[import-untyped]

from hub.errors import BadRequest, InvalidJson, InvalidStix
from hub.stix import (
    Rejection,
    StixItem,
    Submission,
    decode,
    parse_submission,
    tlp_of,
    validate,
)
from hub.tlp import TLP, TLP1_MARKING_IDS, TLP2_MARKING_IDS

DATA = Path(__file__).parents[1] / "data" / "stix"

VALID_FILES = sorted(
    path.relative_to(DATA).as_posix()
    for folder in ("oasis-examples", "python-stix2-objects", "tlp2")
    for path in (DATA / folder).glob("*.json")
)
ATTACK_FILE = "attack/ics-attack-18.1.json"

TLP1_WHITE = TLP1_MARKING_IDS[TLP.CLEAR]
TLP1_RED = TLP1_MARKING_IDS[TLP.RED]


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def objects_in(name: str) -> list[dict[str, Any]]:
    doc = orjson.loads(body(name))
    return list(doc["objects"]) if doc["type"] == "bundle" else [doc]


def only_object(name: str) -> dict[str, Any]:
    (obj,) = objects_in(name)
    return obj


def bundle_of(*objects: Any) -> bytes:
    return orjson.dumps(
        {
            "type": "bundle",
            "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": list(objects),
        }
    )


def accepted(obj: Any, default_tlp: TLP = TLP.AMBER) -> StixItem:
    submission = validate([obj], default_tlp)
    assert submission.rejected == (), submission.rejected
    (item,) = submission.items
    return item


def rejected(obj: Any) -> Rejection:
    submission = validate([obj], TLP.AMBER)
    assert submission.items == ()
    (rejection,) = submission.rejected
    return rejection


def identity(**changes: Any) -> dict[str, Any]:
    """The validator's own valid identity example, with ``changes`` applied (``...`` deletes)."""
    obj = only_object("oasis-examples/validator-identity.json")
    for key, value in changes.items():
        if value is ...:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def tlp2_marking(name: str) -> dict[str, Any]:
    return only_object(f"tlp2/{name}.json")


# --- the valid examples ---------------------------------------------------------


def test_the_valid_example_set_is_there() -> None:
    """Guard: the parametrised tests below really run over the copied examples."""
    assert len(VALID_FILES) == 40


@pytest.mark.parametrize("name", VALID_FILES)
def test_valid_example_is_accepted_whole_and_raw_round_trips(name: str) -> None:
    """Every object of every valid example is accepted, in order, and raw decodes back to the object."""
    expected = objects_in(name)
    submission = parse_submission(body(name), TLP.AMBER)

    assert submission.rejected == ()
    assert [item.index for item in submission.items] == list(range(len(expected)))
    for item, obj in zip(submission.items, expected, strict=True):
        assert (item.id, item.type) == (obj["id"], obj["type"])
        assert item.obj == obj
        assert orjson.loads(item.raw) == obj


def test_validation_does_not_modify_the_objects() -> None:
    """validate() leaves the decoded objects untouched (what is stored is what was sent)."""
    objects = decode(body("oasis-examples/sighting-of-observed-data.json"))
    before = copy.deepcopy(objects)
    validate(objects, TLP.AMBER)
    assert objects == before


def test_raw_is_orjson_of_the_object_and_item_obj_is_the_decoded_object() -> None:
    """raw is the object serialised once by orjson; obj is the decoded dict itself."""
    objects = decode(body("oasis-examples/indicator-for-malicious-url.json"))
    submission = validate(objects, TLP.AMBER)
    for item in submission.items:
        assert item.obj is objects[item.index]
        assert item.raw == orjson.dumps(objects[item.index])


def test_a_lone_object_has_index_zero() -> None:
    """A body that is one object, not a bundle, gives one item at index 0."""
    submission = parse_submission(body("python-stix2-objects/test_note__EXPECTED_NOTE.json"), TLP.GREEN)
    (item,) = submission.items
    assert (item.index, item.type, item.tlp) == (0, "note", TLP.GREEN)


# --- the invalid examples --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("invalid/invalid_braces.json", "line 1 column 1"),
        ("invalid/invalid_comma.json", "line 8 column 35"),
    ],
)
def test_not_json_example_raises_invalid_json_saying_where(name: str, where: str) -> None:
    """A body that is not JSON raises InvalidJson, and the message gives the position."""
    with pytest.raises(InvalidJson) as info:
        parse_submission(body(name), TLP.AMBER)
    assert where in info.value.description


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("invalid/invalid_identity.json", "'modified' is a required property"),
        (
            "invalid/invalid_timestamp.json",
            "'modified' (2015-08-08T15:50:10.983Z) must be later than or equal to 'created'",
        ),
        ("invalid/test_sighting__BAD_SIGHTING.json", "where_sighted_refs"),
    ],
)
def test_invalid_example_is_rejected_with_a_reason_naming_the_problem(name: str, reason: str) -> None:
    """Each invalid STIX example becomes one Rejection whose reason names the property at fault."""
    obj = only_object(name)
    submission = parse_submission(body(name), TLP.AMBER)

    assert submission.items == ()
    (rejection,) = submission.rejected
    assert (rejection.index, rejection.id) == (0, obj["id"])
    assert reason in rejection.reason
    assert not rejection.reason.startswith(obj["id"])  # the validator's id prefix is noise here


@pytest.mark.parametrize("name", ["invalid/invalid_identity.json", "invalid/invalid_timestamp.json"])
def test_what_stix2_parse_alone_accepts_is_still_rejected_thanks_to_the_validator(
    name: str,
) -> None:
    """Two invalid examples pass stix2.parse: the validator is what rejects them."""
    obj = only_object(name)
    stix2.parse(obj, allow_custom=True, version="2.1")  # does not raise
    assert rejected(obj).id == obj["id"]


def test_what_the_validator_accepts_is_still_rejected_thanks_to_stix2() -> None:
    """A marking ref to a non marking-definition passes the validator; stix2.parse rejects it."""
    obj = identity(object_marking_refs=["identity--311b2d2d-f010-4473-83ec-1edf84858f4c"])
    rejection = rejected(obj)
    assert "object_marking_refs" in rejection.reason
    assert "marking-definition" in rejection.reason


# --- ATT&CK: a big real feed with custom content ---------------------------------


@pytest.fixture(scope="module")
def attack() -> tuple[Submission, float]:
    """The ATT&CK for ICS bundle validated once for this module, with the time it took."""
    started = time.perf_counter()
    submission = parse_submission(body(ATTACK_FILE), TLP.GREEN)
    return submission, time.perf_counter() - started


def test_attack_bundle_is_fully_accepted(attack: tuple[Submission, float]) -> None:
    """All 1826 objects of ATT&CK for ICS v18.1 are accepted, none rejected."""
    submission, _ = attack
    assert submission.rejected == ()
    assert len(submission.items) == 1826
    assert [item.index for item in submission.items] == list(range(1826))


def test_attack_custom_objects_and_properties_are_kept(attack: tuple[Submission, float]) -> None:
    """The x-mitre-* objects are accepted as they are, with their x_mitre_* properties in obj and raw."""
    submission, _ = attack
    types = Counter(item.type for item in submission.items)
    assert types["x-mitre-tactic"] == 12
    assert types["x-mitre-detection-strategy"] == 83
    assert sum(n for t, n in types.items() if t.startswith("x-mitre-")) == 250

    tactic = next(item for item in submission.items if item.type == "x-mitre-tactic")
    assert "x_mitre_shortname" in tactic.obj
    assert orjson.loads(tactic.raw) == tactic.obj
    technique = next(item for item in submission.items if item.type == "attack-pattern")
    assert any(key.startswith("x_mitre_") for key in technique.obj)


def test_attack_statement_marking_is_not_a_tlp(attack: tuple[Submission, float]) -> None:
    """ATT&CK's copyright statement marking carries no TLP: every object takes the default."""
    submission, _ = attack
    assert {item.tlp for item in submission.items} == {TLP.GREEN}


def test_attack_bundle_validates_in_reasonable_time(attack: tuple[Submission, float]) -> None:
    """A generous guard against a pathological slow-down (about 0.15 s with the fast path, 7 s without)."""
    _, seconds = attack
    assert seconds < 60


# --- TLP ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_tlp2_marking_ids_published_by_oasis_give_their_level(level: str) -> None:
    """An object marked with a TLP 2.0 marking-definition id (as OASIS publishes it) gets that level."""
    marking = tlp2_marking(f"tlp-{level}")
    expected = TLP.parse(marking["name"])
    assert TLP2_MARKING_IDS[expected] == marking["id"]

    # The default is chosen unequal to the expected level, to see the marking win.
    default = TLP.RED if expected is not TLP.RED else TLP.CLEAR
    item = accepted(identity(object_marking_refs=[marking["id"]]), default)
    assert item.tlp is expected


def test_tlp1_white_object_marking_is_clear() -> None:
    """TLP 1.0 WHITE (python-stix2's TLP_WHITE) in object_marking_refs means CLEAR."""
    item = accepted(
        only_object("python-stix2-objects/test_markings__EXPECTED_CAMPAIGN_WITH_OBJECT_MARKING.json"),
        TLP.RED,
    )
    assert item.obj["object_marking_refs"] == [TLP1_WHITE]
    assert item.tlp is TLP.CLEAR


def test_tlp1_red_object_marking_is_red() -> None:
    """TLP 1.0 RED in object_marking_refs (next to an unknown marking id) means RED."""
    item = accepted(only_object("oasis-examples/interop-objectmarking-test.json"), TLP.CLEAR)
    assert TLP1_RED in item.obj["object_marking_refs"]
    assert item.tlp is TLP.RED


def test_tlp1_amber_with_a_statement_marking_is_amber() -> None:
    """A TLP marking next to a statement marking: the TLP counts, the statement does not."""
    submission = parse_submission(body("oasis-examples/using-marking-definitions.json"), TLP.CLEAR)
    levels = {item.type: item.tlp for item in submission.items}
    assert levels == {
        "identity": TLP.CLEAR,
        "indicator": TLP.AMBER,
        "marking-definition": TLP.CLEAR,
    }


def test_granular_marking_gives_the_level() -> None:
    """A TLP on a granular marking (only the description) marks the object for sharing."""
    item = accepted(
        only_object("python-stix2-objects/test_markings__EXPECTED_CAMPAIGN_WITH_GRANULAR_REF_MARKINGS.json"),
        TLP.RED,
    )
    assert "object_marking_refs" not in item.obj
    assert item.tlp is TLP.CLEAR


def test_most_restrictive_granular_marking_wins() -> None:
    """An indicator with RED, AMBER and GREEN granular markings is RED."""
    submission = parse_submission(body("oasis-examples/using-granular-markings.json"), TLP.CLEAR)
    indicator = next(item for item in submission.items if item.type == "indicator")
    assert len(indicator.obj["granular_markings"]) == 3
    assert indicator.tlp is TLP.RED


def test_most_restrictive_wins_across_object_and_granular_markings_and_tlp_versions() -> None:
    """GREEN (2.0) on the object and AMBER+STRICT (2.0) on the name make AMBER+STRICT; 1.0 RED beats both."""
    green, strict = tlp2_marking("tlp-green")["id"], tlp2_marking("tlp-amber+strict")["id"]
    marked = identity(
        object_marking_refs=[green],
        granular_markings=[{"marking_ref": strict, "selectors": ["name"]}],
    )
    assert accepted(marked, TLP.CLEAR).tlp is TLP.AMBER_STRICT
    marked["object_marking_refs"] = [green, TLP1_RED]
    assert accepted(marked, TLP.CLEAR).tlp is TLP.RED


@pytest.mark.parametrize("default", list(TLP))
def test_unmarked_object_takes_the_default(default: TLP) -> None:
    """An object without TLP marking gets the default given (the channel's)."""
    assert accepted(identity(), default).tlp is default


def test_explicit_clear_marking_beats_a_stricter_default() -> None:
    """CLEAR is a marking like any other (and not a falsy 'no marking'): it overrides a RED default."""
    item = accepted(identity(object_marking_refs=[tlp2_marking("tlp-clear")["id"]]), TLP.RED)
    assert item.tlp is TLP.CLEAR


def test_tlp_of_reads_markings_and_ignores_malformed_ones() -> None:
    """tlp_of: None when unmarked or only non-TLP markings; malformed marking properties are skipped."""
    assert tlp_of(identity()) is None
    assert tlp_of({"object_marking_refs": ["marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"]}) is None
    assert tlp_of({"object_marking_refs": "not a list", "granular_markings": [42, {"lang": "en"}]}) is None
    assert tlp_of({"object_marking_refs": [{"x": 1}, TLP1_RED]}) is TLP.RED
    assert (
        tlp_of({"granular_markings": [{"marking_ref": TLP2_MARKING_IDS[TLP.AMBER], "selectors": ["name"]}]})
        is TLP.AMBER
    )


# --- mixed bundles and indices --------------------------------------------------------


def test_mixed_bundle_yields_items_and_rejections_with_their_indices() -> None:
    """Valid and invalid objects in one bundle: each is judged alone and keeps its position."""
    good_identity = identity()
    missing_modified = only_object("invalid/invalid_identity.json")
    good_indicator = objects_in("oasis-examples/indicator-for-c2-ip-address.json")[0]
    bad_sighting = only_object("invalid/test_sighting__BAD_SIGHTING.json")
    submission = parse_submission(
        bundle_of(good_identity, missing_modified, good_indicator, "a string", bad_sighting, {"id": 7}),
        TLP.AMBER,
    )

    assert [(item.index, item.id) for item in submission.items] == [
        (0, good_identity["id"]),
        (2, good_indicator["id"]),
    ]
    assert [(r.index, r.id) for r in submission.rejected] == [
        (1, missing_modified["id"]),
        (3, None),
        (4, bad_sighting["id"]),
        (5, None),
    ]
    reasons = [r.reason for r in submission.rejected]
    assert "'modified' is a required property" in reasons[0]
    assert "not a STIX object: a JSON string" in reasons[1]
    assert "where_sighted_refs" in reasons[2]
    assert "'type' is a required property" in reasons[3]


# --- spec version ---------------------------------------------------------------------


def test_object_with_spec_version_2_0_is_rejected() -> None:
    """spec_version "2.0" is refused (the validator, told to check 2.1, would let it through)."""
    rejection = rejected(identity(spec_version="2.0"))
    assert rejection.reason == "spec_version: '2.0' is not supported, only STIX 2.1"


def test_sco_with_spec_version_2_0_is_rejected() -> None:
    """The spec_version rule holds for SCOs too."""
    ipv4 = next(o for o in objects_in("oasis-examples/infrastructure.json") if o["type"] == "ipv4-addr")
    assert "spec_version" in rejected({**ipv4, "spec_version": "2.0"}).reason


def test_sdo_without_spec_version_is_rejected() -> None:
    """A STIX 2.0-style SDO (no spec_version) is not STIX 2.1."""
    assert "'spec_version' is a required property" in rejected(identity(spec_version=...)).reason


def test_sco_without_spec_version_is_accepted() -> None:
    """SCOs may omit spec_version in STIX 2.1; their version is "" (no created/modified)."""
    submission = parse_submission(body("oasis-examples/infrastructure.json"), TLP.AMBER)
    scos = [item for item in submission.items if item.type in ("ipv4-addr", "domain-name")]
    assert len(scos) == 2
    assert all("spec_version" not in item.obj and item.version == "" for item in scos)


def test_stix_2_0_bundle_is_refused() -> None:
    """A bundle with spec_version (STIX 2.0) raises InvalidStix, whatever its objects."""
    doc = orjson.loads(body("python-stix2-objects/test_bundle__EXPECTED_BUNDLE.json"))
    doc["spec_version"] = "2.0"
    with pytest.raises(InvalidStix, match="spec_version"):
        decode(orjson.dumps(doc))


# --- decode errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"", InvalidJson, "not valid JSON"),
        (b"\xff\xfe{}", InvalidJson, "not valid JSON"),
        (b'{"type": "bundle",', InvalidJson, "line 1"),
        (b"[]", InvalidStix, "JSON array"),
        (b'[{"type": "identity"}]', InvalidStix, "JSON array"),
        (b'"bundle"', InvalidStix, "JSON string"),
        (b"null", InvalidStix, "JSON null"),
        (b'{"id": "identity--8c6af861-7b20-41ef-9b59-6344fd872a8f"}', InvalidStix, "'type'"),
        (b'{"type": 1}', InvalidStix, "'type'"),
        (
            b'{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}',
            InvalidStix,
            "'objects' is missing",
        ),
        (
            b'{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": {}}',
            InvalidStix,
            "not a list",
        ),
        (
            b'{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": []}',
            InvalidStix,
            "empty",
        ),
        (b'{"type": "bundle", "objects": [{}]}', InvalidStix, "'id'"),
        (b'{"type": "bundle", "id": "bundle--nope", "objects": [{}]}', InvalidStix, "'id'"),
    ],
)
def test_decode_raises_the_right_error(raw: bytes, error: type[BadRequest], message: str) -> None:
    """Non-JSON raises InvalidJson; JSON that is no bundle or object, or a bad bundle, raises InvalidStix."""
    with pytest.raises(error) as info:
        decode(raw)
    assert message in info.value.description


def test_decode_returns_a_lone_object_or_the_bundle_objects_unchecked() -> None:
    """decode gives [object] for one object and the objects list for a bundle, without judging them."""
    assert decode(b'{"type": "whatever"}') == [{"type": "whatever"}]
    assert decode(bundle_of(1, "two", {"type": "x"})) == [1, "two", {"type": "x"}]


# --- version --------------------------------------------------------------------------


def test_version_is_modified_else_created_else_empty() -> None:
    """version picks modified, else created (marking definitions), else "" (SCOs)."""
    assert accepted(identity(modified="2017-01-01T00:00:00.000Z")).version == "2017-01-01T00:00:00.000Z"
    marking = tlp2_marking("tlp-red")
    assert "modified" not in marking
    assert accepted(marking).version == marking["created"]
    ipv4 = next(o for o in objects_in("oasis-examples/infrastructure.json") if o["type"] == "ipv4-addr")
    assert accepted(ipv4).version == ""


# --- strictness beyond the examples ---------------------------------------------------


def test_custom_object_type_and_custom_properties_are_accepted() -> None:
    """A custom x- object type with custom properties passes (only warnings in the validator)."""
    obj = identity(x_crisis_sector="energy")
    assert accepted(obj).obj["x_crisis_sector"] == "energy"
    custom = {
        "type": "x-crisis-update",
        "spec_version": "2.1",
        "id": "x-crisis-update--6ba9ec1f-8a6a-4d7e-8f0e-3b0f5cfc5a41",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "x_status": "contained",
    }
    assert accepted(custom).type == "x-crisis-update"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"created": "yesterday"}, "created: 'yesterday' does not match the timestamp format"),
        ({"Bad-Name": 1}, "'Bad-Name' does not match any of the regexes"),
        ({"confidence": 101}, "confidence: 101 is greater than the maximum of 100"),
        ({"name": None}, "name: null properties are not allowed"),
        ({"id": "identity--nope"}, "id: 'identity--nope' does not match the id format"),
        (
            {"id": "malware--8c6af861-7b20-41ef-9b59-6344fd872a8f"},
            "does not start with 'identity--'",
        ),
        ({"object_marking_refs": TLP1_RED}, "object_marking_refs: "),
        (
            {"granular_markings": [{"marking_ref": TLP1_RED, "selectors": ["nope"]}]},
            "'nope' is not a valid selector",
        ),
    ],
)
def test_standard_rules_are_enforced_with_a_reason_naming_the_property(changes: dict[str, Any], reason: str) -> None:
    """Broken timestamps, property names, ranges, nulls, ids and markings are rejected with a precise reason."""
    assert reason in rejected(identity(**changes)).reason


def test_custom_type_whose_id_has_another_type_is_rejected() -> None:
    """An id must start with its own type--, for custom types too (neither library checks that)."""
    obj = {
        "type": "x-crisis-update",
        "spec_version": "2.1",
        "id": "x-other--6ba9ec1f-8a6a-4d7e-8f0e-3b0f5cfc5a41",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
    }
    assert (
        rejected(obj).reason
        == "id: 'x-other--6ba9ec1f-8a6a-4d7e-8f0e-3b0f5cfc5a41' does not start with 'x-crisis-update--'"
    )


def test_invalid_pattern_is_rejected() -> None:
    """An indicator whose STIX pattern does not parse is rejected, saying so."""
    indicator = objects_in("oasis-examples/indicator-for-c2-ip-address.json")[0]
    indicator["pattern"] = "[ipv4-addr:value = ]"
    assert "Pattern failed to validate" in rejected(indicator).reason


def test_a_nested_bundle_is_rejected() -> None:
    """A bundle inside a bundle is not a STIX object (both libraries would let it through)."""
    inner = orjson.loads(body("python-stix2-objects/test_bundle__EXPECTED_BUNDLE.json"))
    assert "bundle" in rejected(inner).reason


def test_any_of_error_says_what_is_required_without_dumping_object_or_schema() -> None:
    """A location with none of region/country/lat+long: a short reason, not the validator's dumps."""
    location = only_object("python-stix2-objects/test_location__EXPECTED_LOCATION_1.json")
    for key in ("region", "country", "latitude", "longitude"):
        location.pop(key, None)
    reason = rejected(location).reason
    assert reason == "requires one of: 'region', 'country', 'latitude' + 'longitude'"


def test_long_values_are_cut_in_reasons() -> None:
    """A huge bad value does not make a huge reason."""
    reason = rejected(identity(created="x" * 10_000)).reason
    assert "created" in reason
    assert len(reason) < 1000


@pytest.mark.parametrize(
    "garbage",
    [
        42,
        None,
        [],
        {},
        {"type": ["identity"], "id": "identity--8c6af861-7b20-41ef-9b59-6344fd872a8f"},
        {"type": "identity", "id": 5},
        {"type": "identity", "id": "identity--8c6af861-7b20-41ef-9b59-6344fd872a8f"},
        {
            "type": "observed-data",
            "spec_version": "2.1",
            "id": "observed-data--8c6af861-7b20-41ef-9b59-6344fd872a8f",
            "created": "2016-08-08T15:50:10.983Z",
            "modified": "2016-08-08T15:50:10.983Z",
            "first_observed": "2016-08-08T15:50:10.983Z",
            "last_observed": "2016-08-08T15:50:10.983Z",
            "number_observed": 1,
            "objects": {"0": "not an object"},  # makes the validator itself crash
        },
    ],
)
def test_validate_never_raises_for_a_bad_object(garbage: Any) -> None:
    """Malformed objects, even ones that crash the libraries, become Rejections with a reason."""
    rejection = rejected(garbage)
    assert rejection.reason
    expected_id = garbage.get("id") if isinstance(garbage, dict) else None
    assert rejection.id == (expected_id if isinstance(expected_id, str) else None)


# --- library hygiene ------------------------------------------------------------------


def test_importing_does_not_leave_colorama_wrapping_stdout_or_stderr() -> None:
    """stix2validator's colorama.init() is undone: the standard streams are not colorama wrappers."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        assert "colorama" not in type(stream).__module__


def test_validation_is_silent(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """No log record and no output per object, even where the validator would warn."""
    software = {
        "type": "software",
        "spec_version": "2.1",
        "id": "software--a1827f6d-ca53-5605-9e93-4316cd22a00a",
        "name": "Word",
        "languages": ["eng"],  # an ISO 639-2 code: stix2validator logs a warning for it
    }
    with caplog.at_level(logging.DEBUG):
        accepted(software)
        parse_submission(body("oasis-examples/validator-tool-custom-property.json"), TLP.AMBER)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert capsys.readouterr() == ("", "")


def test_concurrent_validation_from_threads_agrees_with_serial() -> None:
    """validate() from several worker threads at once gives the same verdicts as one thread."""
    objects = [
        obj
        for name in (
            "oasis-examples/indicators-for-C2-with-COA.json",
            "oasis-examples/sighting-of-observed-data.json",
            "oasis-examples/malicious-email-indicator-with-attachment.json",
        )
        for obj in objects_in(name)
    ] + [
        only_object("invalid/invalid_timestamp.json"),
        only_object("invalid/test_sighting__BAD_SIGHTING.json"),
    ]
    run: Callable[[], Submission] = lambda: validate(objects, TLP.AMBER)  # noqa: E731
    serial = run()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [future.result() for future in [pool.submit(run) for _ in range(4)]]
    assert all(result == serial for result in results)
    assert len(serial.rejected) == 2


@pytest.mark.parametrize("stamp", ["x,y", "2026-11-27T10:00:00Z\n", "2026-11-27 10:00:00Z", "2026-11-27T10:00:00.000z"])
def test_a_version_that_is_not_a_timestamp_is_refused_on_any_object(stamp: str) -> None:
    """On an observable, ``modified`` is a custom property the libraries leave alone; the hub orders versions by it."""
    sco = {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "1.2.3.4"}
    good = parse_submission(orjson.dumps({**sco, "modified": "2026-11-27T10:00:00.000Z"}), TLP.GREEN)
    assert [i.version for i in good.items] == ["2026-11-27T10:00:00.000Z"]
    bad = parse_submission(orjson.dumps({**sco, "created": stamp}), TLP.GREEN)
    assert not bad.items and [r.reason for r in bad.rejected] == [
        f"created: {stamp!r} is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)"
    ]
