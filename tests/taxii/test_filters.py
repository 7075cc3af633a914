"""Parsing and applying TAXII filters. Pure: no loop, no Redis."""

from __future__ import annotations

import pytest

from hub.errors import BadRequest
from hub.taxii.filters import (
    ALL,
    DELETE_FILTERS,
    LAST,
    OBJECT_FILTERS,
    OBJECTS_FILTERS,
    VERSIONS_FILTERS,
    Query,
    VersionMatch,
    parse_query,
    reported_version,
    timestamp_millis,
)


def test_no_filter_means_every_object_at_its_last_version() -> None:
    query = parse_query([], OBJECTS_FILTERS)
    assert query == Query() and query.versions == LAST
    assert query.matches("indicator--1", "indicator")


def test_match_values_are_ored_and_fields_anded() -> None:
    query = parse_query([("match[type]", "indicator,malware"), ("match[id]", "malware--1,note--2")], OBJECTS_FILTERS)
    assert query.matches("malware--1", "malware")
    assert not query.matches("indicator--9", "indicator")  # type matches, id does not
    assert not query.matches("note--2", "note")  # id matches, type does not


def test_spec_version_matches_only_stix_2_1() -> None:
    assert parse_query([("match[spec_version]", "2.0,2.1")], OBJECTS_FILTERS).matches("x--1", "x")
    assert not parse_query([("match[spec_version]", "2.0")], OBJECTS_FILTERS).matches("x--1", "x")


def test_match_version_reads_keywords_and_timestamps_of_any_precision() -> None:
    query = parse_query([("match[version]", "first,2026-11-27T10:00:00Z")], OBJECTS_FILTERS)
    assert query.versions.first and not query.versions.last and not query.versions.all
    assert query.versions.matches_stamp("2026-11-27T10:00:00.000Z")
    assert not query.versions.matches_stamp("2026-11-27T10:00:00.001Z")


def test_each_endpoint_has_its_own_default_version() -> None:
    assert parse_query([], VERSIONS_FILTERS, ALL).versions == ALL
    assert parse_query([], DELETE_FILTERS, ALL).versions == ALL
    assert parse_query([("match[version]", "last")], DELETE_FILTERS, ALL).versions == VersionMatch(last=True)


def test_added_after_is_kept_in_whole_milliseconds_rounded_down() -> None:
    assert parse_query([("added_after", "1970-01-01T00:00:01.2349Z")], OBJECTS_FILTERS).added_after_ms == 1234
    assert timestamp_millis("2025-11-27T09:37:39Z", "x") == 1764236259000


def test_parameters_that_are_not_filters_are_left_alone() -> None:
    assert parse_query([("limit", "5"), ("next", "abc"), ("foo", "bar")], OBJECTS_FILTERS) == Query()


@pytest.mark.parametrize(
    "params, allowed, fragment",
    [
        ([("match[type]", "a"), ("match[type]", "b")], OBJECTS_FILTERS, "once"),
        ([("limit", "1"), ("limit", "2")], OBJECTS_FILTERS, "once"),
        ([("match[type]", "")], OBJECTS_FILTERS, "empty"),
        ([("match[id]", "a,,b")], OBJECTS_FILTERS, "empty"),
        ([("match[colour]", "red")], OBJECTS_FILTERS, "not a supported filter on this server"),
        ([("match[type]", "indicator")], OBJECT_FILTERS, "not a supported filter on this endpoint"),
        ([("match[version]", "last")], VERSIONS_FILTERS, "on this endpoint"),
        ([("match[version]", "newest")], OBJECTS_FILTERS, "match[version]"),
        ([("added_after", "yesterday")], OBJECTS_FILTERS, "added_after"),
        ([("added_after", "2026-02-30T00:00:00Z")], OBJECTS_FILTERS, "not a valid date"),
        ([("added_after", "2026-11-27T10:00:00+01:00")], OBJECTS_FILTERS, "added_after"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(
    params: list[tuple[str, str]], allowed: frozenset[str], fragment: str
) -> None:
    with pytest.raises(BadRequest, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_query(params, allowed)


def test_added_after_is_not_a_filter_of_delete() -> None:
    assert parse_query([("added_after", "not even a date")], DELETE_FILTERS, ALL).added_after_ms is None


def test_an_unversioned_object_reports_its_date_added() -> None:
    assert reported_version("", "2026-11-27T10:00:00.000Z") == "2026-11-27T10:00:00.000Z"
    assert reported_version("2026-01-01T00:00:00Z", "x") == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["\uff12026-11-27T10:00:00Z", "2026-11-27T10:00:00Z\n", "2026-11-27T10:00:00.\u0663Z"])
def test_a_timestamp_is_ascii_digits_to_its_end(text: str) -> None:
    with pytest.raises(BadRequest):
        timestamp_millis(text, "added_after")
