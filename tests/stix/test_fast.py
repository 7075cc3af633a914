"""hub.stix.fast: the fast path never accepts what the full path (stix2validator + stix2) rejects.

The full path is ``hub.stix.full_path_reason`` / ``validate(..., full=True)``;
the fast path is ``hub.stix.fast.fast_accepts``, which only ever vouches or
abstains. Objects are the real examples of tests/data/stix, mutated by
Hypothesis (properties removed, replaced by good and bad values, custom
properties, references of other types, odd timestamps …), and novel
indicators with generated patterns. Each part of the fast path is also
checked against the library code it stands for. Pure: no event loop.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
import stix2  # type: ignore[import-untyped]
from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from stix2validator.v21 import musts, shoulds  # type: ignore[import-untyped]
from stix2validator.validator import _iter_errors_custom, _schema_validate  # type: ignore[import-untyped]

import hub.stix
from hub.errors import HubError
from hub.stix import Submission, decode, full_path_reason, validate
from hub.stix.fast import (
    announce_fast_path,
    fast_accepts,
    fast_path_enabled,
    fast_path_problem,
    installed_problem,
    stix2_rules,
    validator_checks,
)
from hub.stix.fast.libraries import AUDITED_VERSIONS, VALIDATOR_OPTIONS
from hub.stix.fast.schemas import check_schema
from hub.stix.fast.timestamps import parse_strict
from hub.tlp import TLP
from tests import stixgen
from tests.stix.test_patterns import any_patterns, scaled, simple_patterns
from tests.timing import STARTUP

DATA = Path(__file__).parents[1] / "data" / "stix"
DATA_FILES = sorted(path.relative_to(DATA).as_posix() for path in DATA.rglob("*.json"))
ATTACK_FILE = "attack/ics-attack-18.1.json"
SETTINGS = settings(max_examples=scaled(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def own_checks_pass(obj: Any) -> bool:
    return isinstance(obj, dict) and hub.stix.own_checks_reason(obj) is None


def _objects_of(name: str) -> list[Any]:
    doc = orjson.loads((DATA / name).read_bytes())
    return list(doc["objects"]) if doc.get("type") == "bundle" else [doc]


def _base_objects() -> list[dict[str, Any]]:
    """Up to three valid example objects of each type (ATT&CK's custom types included), none huge."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for name in DATA_FILES:
        if name.startswith("invalid/"):
            continue
        for obj in _objects_of(name):
            by_type.setdefault(obj["type"], [])
            if len(by_type[obj["type"]]) < 3 and len(orjson.dumps(obj)) < 16_000:
                by_type[obj["type"]].append(obj)
    return [obj for objs in by_type.values() for obj in objs]


BASES = _base_objects()
INDICATORS = [obj for obj in BASES if obj["type"] == "indicator"]

TIMESTAMPS = [
    "2016-01-01T00:00:00Z", "2016-01-01T00:00:00.000Z", "2015-12-31T23:59:59.999Z", "2016-02-29T00:00:00Z",
    "2015-02-29T00:00:00Z", "2016-01-01T00:00:60Z", "2016-01-01T00:00:00.1234567Z", "2016-01-01T00:00:00Z\n",
    "2016-01-01t00:00:00z", "2016-01-01T00:00:00", "0000-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z",
    "2016-01-01T24:00:00Z", "2016-13-01T00:00:00Z", "2017-01-20T00:00:00.000Z", "2016-01-01T00:00:00.5Z",
]  # fmt: skip
UUID = "311b2d2d-f010-4473-83ec-1edf84858f4c"
IDS = [
    f"identity--{UUID}", f"malware--{UUID}", f"location--{UUID}", f"x-foo--{UUID}", f"ipv4-addr--{UUID}",
    f"relationship--{UUID}", f"bundle--{UUID}", f"indicator--{UUID}", f"observed-data--{UUID}", f"sighting--{UUID}",
    f"language-content--{UUID}", f"software--{UUID}", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "identity--311b2d2d-f010-4473-03ec-1edf84858f4c",
    "identity--311b2d2d-f010-0473-83ec-1edf84858f4c", "identity--311B2D2D-F010-4473-83EC-1EDF84858F4C",
    "identity--311b2d2d-f010-4473-83ec-1edf84858f4", "identity--{311b2d2d-f010-4473-83ec-1edf84858f4c}",
]  # fmt: skip
SCALARS: list[Any] = [
    None, True, False, 0, 1, -1, 100, 101, 1.0, 1.5, 90.5, -200.0, "", "x", "stix", "2.1", "2.0", "en", "english",
    "tlp", "statement", "Abc", "a b", "a_b", "http://example.com", "not a uri", "ab", "MD5", "malicious-activity",
    "uses", "indicates", [], {}, ["x"], ["a b"], [1], [{}], [None], [["x"]], {"a": 1}, {"tlp": "green"},
    {"MD5": "d41d8cd98f00b204e9800998ecf8427e"},
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(SCALARS),
    st.sampled_from(TIMESTAMPS),
    st.sampled_from(IDS),
    st.lists(st.sampled_from(IDS), min_size=1, max_size=2),
    st.lists(st.sampled_from([*TIMESTAMPS[:3], "x", "malicious-activity"]), max_size=2),
    st.text(max_size=5),
)
KEYS = [
    "name", "description", "created", "modified", "first_seen", "last_seen", "valid_from", "valid_until",
    "start_time", "stop_time", "published", "created_by_ref", "object_marking_refs", "labels", "confidence",
    "lang", "revoked", "spec_version", "pattern", "pattern_type", "pattern_version", "indicator_types", "is_family",
    "aliases", "sectors", "identity_class", "where_sighted_refs", "sighting_of_ref", "source_ref", "target_ref",
    "relationship_type", "object_refs", "count", "latitude", "longitude", "precision", "region", "country",
    "value", "x_custom", "X_bad", "self", "allow_custom", "custom_properties", "_valid_refs", "a", "objects",
    "first_observed", "last_observed", "number_observed", "result", "product", "context", "opinion", "content",
    "resolves_to_refs", "hashes", "cpe", "roles", "malware_types", "threat_actor_types", "sophistication",
    "primary_motivation", "report_types", "tool_types", "definition_type", "definition", "summary", "x_mitre_version",
    "observed_data_refs", "abstract", "authors", "defanged", "kill_chain_phases", "external_references",
]  # fmt: skip
EXTERNAL_REFERENCES = [
    {"source_name": "x", "url": "http://x.example"}, {"source_name": "x"}, {"url": "http://x.example"},
    {"source_name": "cve", "external_id": "CVE-2016-1234"}, {"source_name": "cve", "external_id": "x"},
    {"source_name": "capec", "external_id": "CAPEC-1"}, {"source_name": "x", "description": "d", "Bad": 1},
    {"source_name": "x", "description": "d", "hashes": {"SHA-256": "a" * 64}},
    {"source_name": "x", "description": "d", "hashes": {"sha256": "a" * 64}},
    {"source_name": "x", "description": "d", "hashes": {"MD5": "zz"}},
    {"source_name": "x", "description": "d", "hashes": {}}, {"source_name": "x", "description": "d", "x_y": None},
    {"source_name": "x", "description": "d", "self": 1}, "str",
]  # fmt: skip
KILL_CHAIN_PHASES = [
    {"kill_chain_name": "lockheed", "phase_name": "recon"}, {"kill_chain_name": "Lock Heed", "phase_name": "x"},
    {"kill_chain_name": "a"}, {"phase_name": "b"}, "x", {"kill_chain_name": 1, "phase_name": "b"},
    {"kill_chain_name": "a", "phase_name": "b", "x_q": 1},
]  # fmt: skip
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
GRANULAR_MARKINGS = [
    {"marking_ref": GREEN, "selectors": ["name"]}, {"lang": "en", "selectors": ["description"]},
    {"marking_ref": GREEN, "selectors": ["nope"]}, {"selectors": ["name"]},
    {"marking_ref": GREEN, "lang": "en", "selectors": ["id"]},
]  # fmt: skip
EXTENSION_ID = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"
EXTENSIONS = [
    {EXTENSION_ID: {"extension_type": "property-extension", "rank": 5}},
    {EXTENSION_ID: {"extension_type": "toplevel-property-extension"}}, {"x-foo-ext": {"a": 1}},
    {"archive-ext": {"contains_refs": [f"file--{UUID}"]}}, {}, {EXTENSION_ID: "x"},
    {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6": {"extension_type": "property-extension"}},
]  # fmt: skip


@st.composite
def mutated_objects(draw: st.DrawFn, indicators_only: bool = False) -> dict[str, Any]:
    """A valid example object (or indicator with a generated pattern), then up to four mutations."""
    if indicators_only or draw(st.integers(0, 3)) == 0:
        obj = stixgen.indicator() if draw(st.booleans()) else copy.deepcopy(draw(st.sampled_from(INDICATORS)))
        obj["pattern"] = draw(st.one_of(simple_patterns(), simple_patterns(), any_patterns()))
    else:
        obj = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3, 4]))):
        key = draw(st.sampled_from(KEYS))
        action = draw(st.integers(0, 7))
        if action == 0:
            obj.pop(key, None)
        elif action == 1:
            obj["kill_chain_phases"] = draw(st.lists(st.sampled_from(KILL_CHAIN_PHASES), max_size=2))
        elif action == 2:
            obj["granular_markings"] = draw(st.lists(st.sampled_from(GRANULAR_MARKINGS), max_size=2))
        elif action == 3:
            obj["extensions"] = draw(st.sampled_from(EXTENSIONS))
        elif action == 4:
            obj["external_references"] = draw(st.lists(st.sampled_from(EXTERNAL_REFERENCES), max_size=3))
        elif action == 5:
            obj[key] = [copy.deepcopy(draw(st.sampled_from(BASES)))]  # a nested STIX object
        else:
            obj[key] = draw(VALUES)
    return obj


# --- end to end ----------------------------------------------------------------------------


def test_the_fast_path_is_on_with_the_audited_libraries() -> None:
    """stix2 3.0.2, stix2-validator 3.3.2, stix2-patterns 2.1.2: the audited versions are installed."""
    assert fast_path_enabled()


@SETTINGS
@given(mutated_objects())
def test_the_fast_path_never_accepts_what_the_full_path_rejects(obj: dict[str, Any]) -> None:
    """Mutated SDOs, SROs, SCOs, markings, custom objects and indicators: fast accepts => full accepts."""
    assume(own_checks_pass(obj))
    accepted = fast_accepts(obj)
    event(f"fast path accepts: {accepted}")
    if accepted:
        assert full_path_reason(obj) is None


@settings(SETTINGS, max_examples=scaled(150))
@given(mutated_objects(indicators_only=True))
def test_generated_indicators_get_identical_verdicts_and_reasons(obj: dict[str, Any]) -> None:
    """Novel indicators with generated patterns: validate() and validate(full=True) give the same Submission."""
    fast = validate([obj], TLP.AMBER)
    event(f"accepted: {bool(fast.items)}")
    assert fast == validate([obj], TLP.AMBER, full=True)


def _outcome(name: str, full: bool) -> Submission | tuple[type[HubError], str]:
    try:
        return validate(decode((DATA / name).read_bytes()), TLP.AMBER, full=full)
    except HubError as error:
        return type(error), error.description


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_data_file_gets_the_same_verdicts_fast_and_full(name: str) -> None:
    """Each file of tests/data/stix (invalid ones and ATT&CK included): identical results either way."""
    assert _outcome(name, full=False) == _outcome(name, full=True)


def test_every_valid_example_and_all_of_attack_take_the_fast_path() -> None:
    """The fast path is not vacuous: it vouches for every valid example object and all 1826 of ATT&CK."""
    valid = [obj for name in DATA_FILES if not name.startswith("invalid/") for obj in _objects_of(name)]
    assert len(valid) > 2000
    assert [obj["id"] for obj in valid if not fast_accepts(obj)] == []
    assert fast_accepts(stixgen.indicator())


@pytest.mark.parametrize(
    "changes",
    [
        {"created_by_ref": f"malware--{UUID}"},
        {"object_marking_refs": [f"identity--{UUID}"]},
        {"valid_from": "2026-11-27T10:00:00.1234567Z"},
        {"self": "x"},
        {"kill_chain_phases": [{"kill_chain_name": "a", "phase_name": "b", "Bad": 1}]},
        {"sighting_of_ref": f"ipv4-addr--{UUID}"},
        {"sample_refs": [f"identity--{UUID}"]},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_what_only_stix2_rejects_is_rejected_on_the_fast_path_too(changes: dict[str, Any]) -> None:
    """Rules stix2.parse adds to the validator (reference types, 7-digit fractions, odd names) still hold."""
    base = {"sighting_of_ref": "sighting", "sample_refs": "malware"}.get(next(iter(changes)), "indicator")
    obj = {**copy.deepcopy(next(o for o in BASES if o["type"] == base)), **changes}
    assert validator_checks.validator_checks_pass(obj) and check_schema(obj)  # the validator's parts accept it
    (rejection,) = validate([obj], TLP.AMBER).rejected
    assert validate([obj], TLP.AMBER, full=True).rejected == (rejection,)


def test_the_audited_libraries_switch_the_fast_path_on() -> None:
    assert fast_path_problem(AUDITED_VERSIONS, AUDITED_VERSIONS, True) is None
    assert installed_problem() is None and fast_path_enabled()


def test_other_library_versions_switch_the_fast_path_off_naming_them() -> None:
    installed = {**AUDITED_VERSIONS, "stix2": "3.1.0", "stix2-patterns": None}
    problem = fast_path_problem(installed, AUDITED_VERSIONS, True)
    assert problem is not None
    assert "stix2 3.1.0 (audited 3.0.2)" in problem and "stix2-patterns missing (audited 2.1.2)" in problem
    assert "stix2-validator" not in problem
    assert "other checks" in str(fast_path_problem(AUDITED_VERSIONS, AUDITED_VERSIONS, False))


def test_a_fast_path_that_is_off_is_said_once_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    problem = f"stix2 0.0.{uuid.uuid4().int} (audited 3.0.2)"
    assert not announce_fast_path(problem) and not announce_fast_path(problem)
    said = [r for r in caplog.records if r.name == "hub.stix.fast"]
    assert [r.levelname for r in said] == ["WARNING"] and problem in said[0].getMessage()
    assert announce_fast_path(None)


def test_full_true_never_consults_the_fast_path() -> None:
    """validate(..., full=True) runs the libraries on every object."""
    with mock.patch.object(hub.stix, "fast_accepts", side_effect=AssertionError("fast path used")):
        assert len(validate([stixgen.indicator(), stixgen.indicator()], TLP.AMBER, full=True).items) == 2


def test_a_rejection_found_by_the_full_path_keeps_its_reason() -> None:
    """An object the fast path declines is judged by the full path, reason included."""
    indicator = stixgen.indicator(pattern="[ipv4-addr:value = ]")
    assert not fast_accepts(indicator)
    (rejection,) = validate([indicator], TLP.AMBER).rejected
    assert "Pattern failed to validate" in rejection.reason


def test_concurrent_validation_of_novel_indicators_agrees_with_serial() -> None:
    """Threads validating fresh indicators (pattern cache misses, grammar fallbacks) give the serial result."""
    objects = [stixgen.indicator() for _ in range(40)]
    objects += [stixgen.indicator(pattern=f"([ipv4-addr:value = '10.9.0.{n}'])") for n in range(10)]
    objects += [stixgen.indicator(pattern="[ipv4-addr:value = 1.2.3.4]")]
    run: Callable[[], Submission] = lambda: validate(objects, TLP.AMBER)  # noqa: E731
    serial = run()
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(result == serial for result in pool.map(lambda _: run(), range(4)))
    assert (len(serial.items), len(serial.rejected)) == (50, 1)


def test_the_fast_path_is_much_faster_on_novel_indicators() -> None:
    """A generous guard (the measured ratio is about 50-100x; bench/validation.py has the figures)."""
    fast_batch = [stixgen.indicator() for _ in range(100)]
    full_batch = [stixgen.indicator() for _ in range(100)]
    started = time.perf_counter()
    validate(fast_batch, TLP.AMBER)
    fast = time.perf_counter() - started
    started = time.perf_counter()
    validate(full_batch, TLP.AMBER, full=True)
    full = time.perf_counter() - started
    assert fast * 10 < full


# --- each part against the library code it stands for ---------------------------------------


def _validator_schema_accepts(obj: dict[str, Any]) -> bool:
    for errors, _prefix in _schema_validate(obj, VALIDATOR_OPTIONS):
        for _ in errors:
            return False
    return True


@SETTINGS
@given(mutated_objects())
def test_compiled_schemas_give_the_validators_schema_verdict(obj: dict[str, Any]) -> None:
    """Same schema file, same verdict as jsonschema, both ways (observed-data with objects excepted)."""
    assume(own_checks_pass(obj) and not (obj["type"] == "observed-data" and "objects" in obj))
    try:
        expected = _validator_schema_accepts(obj)
    except Exception:  # noqa: BLE001 - the validator crashes on some inputs; nothing to compare
        assume(False)
    event(f"schema-valid: {expected}")
    assert check_schema(obj) == expected


def _library_checks_pass(obj: dict[str, Any]) -> bool:
    """What validate_instance's custom checks say, patterns aside: no MUST error, no exception at all."""
    checks = [check for check in musts.list_musts(VALIDATOR_OPTIONS) if check.__name__ != "patterns"]
    try:
        if any(True for _ in _iter_errors_custom(obj, checks, VALIDATOR_OPTIONS)):
            return False
        for _ in _iter_errors_custom(obj, shoulds.list_shoulds(VALIDATOR_OPTIONS), VALIDATOR_OPTIONS):
            pass
    except Exception:  # noqa: BLE001 - exactly what makes validate_instance raise
        return False
    return True


@SETTINGS
@given(mutated_objects())
def test_validator_checks_vouch_only_for_what_the_library_checks_accept(obj: dict[str, Any]) -> None:
    """The triggered MUST/SHOULD functions and the fast timestamp checks never pass what the library fails."""
    assume(own_checks_pass(obj))
    passed = validator_checks.validator_checks_pass(obj)
    event(f"validator checks pass: {passed}")
    if passed:
        assert _library_checks_pass(obj)


@SETTINGS
@given(mutated_objects())
def test_the_stix2_mirror_vouches_only_for_what_stix2_parses(obj: dict[str, Any]) -> None:
    """stix2_verdict True => stix2.parse succeeds (its pattern check, done elsewhere, stubbed out)."""
    assume(own_checks_pass(obj))
    verdict = stix2_rules.stix2_verdict(obj)
    event(f"stix2 mirror vouches: {verdict is True}")
    if verdict:
        with mock.patch("stix2.v21.sdo.run_validator", return_value=[]):
            stix2.parse(obj, allow_custom=True, version="2.1")


_TIMESTAMP_FIELDS = [
    (["2016", "2015", "1999", "0001", "9999"], ["0000", "20165", "\u0663016"]),
    (["-"], ["/"]),
    (["01", "02", "09", "12"], ["00", "13", "1"]),
    (["-"], [""]),
    (["01", "28", "29", "30", "31"], ["00", "32"]),
    (["T"], ["t", " "]),
    (["00", "09", "23"], ["24", "\u0661\u0662"]),
    ([":"], ["."]),
    (["00", "59"], ["60"]),
    ([":"], [""]),
    (["00", "59"], ["60", "61"]),
    (["", ".5", ".123", ".123456"], [".1234567", ".", ".1a"]),
    (["Z"], ["z", "", "Z\n", "+00:00"]),
]


@st.composite
def timestamp_like(draw: st.DrawFn) -> str:
    """Timestamps near the STIX form, with at most two fields broken (out of range, odd forms, other digits)."""
    broken = draw(st.sets(st.integers(0, len(_TIMESTAMP_FIELDS) - 1), max_size=2))
    return "".join(
        draw(st.sampled_from(bad if index in broken else good)) for index, (good, bad) in enumerate(_TIMESTAMP_FIELDS)
    )


def _strptime(text: str) -> Any:
    import datetime

    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(text, fmt)


@settings(SETTINGS, max_examples=scaled(600))
@given(timestamp_like())
def test_parse_strict_agrees_with_strptime_and_dateutil_where_it_answers(text: str) -> None:
    """parse_strict gives an instant only when stix2's strptime and the validator's dateutil give it too."""
    parsed = parse_strict(text)
    event(f"parsed: {parsed is not None}")
    if parsed is not None:
        assert _strptime(text) == parsed.replace(tzinfo=None)
        assert dateutil_parser.parse(text) == parsed
        assert musts.datetime_from_str(text) == parsed.replace(tzinfo=None)


@settings(SETTINGS, max_examples=scaled(500))
@given(
    st.sampled_from(["indicator", "campaign", "relationship", "x-custom"]),
    st.dictionaries(
        st.sampled_from(["created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "start_time"]),
        st.one_of(timestamp_like(), st.sampled_from(TIMESTAMPS), st.just(5)),
    ),
)
def test_fast_timestamp_musts_equal_the_librarys(stix_type: str, stamps: dict[str, Any]) -> None:
    """musts.timestamp and musts.timestamp_compare: the fast equivalents agree wherever they answer."""
    obj = {"type": stix_type, "id": f"{stix_type}--{UUID}", **stamps}

    def library(check: Callable[..., Any]) -> bool | None:
        try:
            return not any(True for _ in check(obj))
        except Exception:  # noqa: BLE001
            return None

    fast = validator_checks.timestamps_valid(obj)
    if fast is not None:
        assert fast == library(musts.timestamp)
    fast = validator_checks.timestamp_order_valid(obj)
    if fast is not None:
        assert fast == library(musts.timestamp_compare)


def test_the_audited_vocabulary_table_is_the_one_the_validator_uses() -> None:
    """Each check_vocab SHOULD looks at the enums table this module's trigger table says it does."""
    import inspect
    import re

    for name, uses in validator_checks.VOCAB_SHOULDS.items():
        source = inspect.getsource(getattr(shoulds, name))
        (vocab,) = re.findall(r'check_vocab\(instance, "(\w+)"', source)
        assert uses == vocab + "_USES"


def test_the_checks_skipped_for_non_scos_only_look_at_scos() -> None:
    """Every SHOULD/MUST the fast path does not run on SDOs is one of cyber_observable_check's SCO-only wrappers."""
    names = [*validator_checks.SCO_ONLY_SHOULDS, "observable_timestamp_compare", "observable_object_references"]
    names += ["artifact_mime_type", "character_set", "software_language"]
    for name in names:
        check = validator_checks.SHOULDS.get(name) or validator_checks.MUSTS[name]
        closure = check.__closure__ or ()
        cells = dict(zip(check.__code__.co_freevars, (cell.cell_contents for cell in closure), strict=True))
        assert check.__code__.co_name == "new_function", name
        assert cells["version"] == "2.1" and cells["original_function"].__name__ == name


def test_loading_the_stix_libraries_leaves_the_standard_streams_alone() -> None:
    """stix2validator's colorama.init() swaps sys.stdout and sys.stderr: the hub never keeps those swaps."""
    import subprocess
    import sys

    check = (
        "import sys; out, err = sys.stdout, sys.stderr\n"
        "import hub.stix, hub.stix.fast.libraries as libraries\n"
        "libraries.load(); assert libraries.enums is not None\n"
        "assert (sys.stdout, sys.stderr) == (out, err), (sys.stdout, sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=STARTUP)
    assert result.returncode == 0, result.stderr


def test_no_stix_schema_of_the_validator_checks_the_iri_format_the_hub_leaves_unloaded() -> None:
    """The hub keeps jsonschema from loading its ``iri`` checker (a slow grammar): STIX never asks for it."""
    spec = importlib.util.find_spec("stix2validator")
    assert spec is not None and spec.origin is not None
    schemas = Path(spec.origin).parent / "schemas-2.1"
    formats = {
        str(node.get("format"))
        for path in schemas.rglob("*.json")
        for node in _nodes(json.loads(path.read_text("utf-8")))
        if isinstance(node, dict) and "format" in node
    }
    assert formats and "iri" not in formats and "iri-reference" not in formats
    probe = (
        "import sys, hub.app, jsonschema; "
        "print(sys.modules.get('rfc3987_syntax'), 'iri' in jsonschema.FormatChecker.checkers)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout.split() == ["None", "False"], shown.stdout + shown.stderr


def _nodes(node: object) -> Iterator[object]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _nodes(child)
