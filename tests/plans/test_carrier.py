"""hub.plans.carrier: a playbook in a STIX course-of-action, and back out byte for byte."""

from __future__ import annotations

import base64
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crisis.objects import stable_id
from hub.plans.carrier import EXTENSION_ID, NotAPlaybook, carries_cacao, coa_id, extension_definition, unwrap, wrap
from hub.stix import validate
from hub.tlp import TLP

CACAO_DATA = Path(__file__).parent.parent / "data" / "cacao"


def shipped() -> bytes:
    return importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()


def playbook_bytes(extra: bytes) -> bytes:
    """A playbook's header with arbitrary bytes after it (whitespace, a trailing note): still wrapped as given."""
    head = {
        "type": "playbook",
        "id": "playbook--0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        "name": "p",
        "created": "2026-11-27T09:00:00.000Z",
        "modified": "2026-11-28T09:00:00.000Z",
    }
    return json.dumps(head).encode() + extra


def test_the_course_of_action_takes_its_id_times_name_and_tlp_from_the_playbook() -> None:
    data = shipped()
    playbook = json.loads(data)
    coa = wrap(data, TLP.AMBER)
    assert coa["id"] == stable_id("course-of-action", playbook["id"]) == coa_id(playbook["id"])
    assert (coa["created"], coa["modified"]) == (playbook["created"], playbook["modified"])
    assert coa["name"] == playbook["name"] and coa["description"] == playbook["description"]
    assert coa["object_marking_refs"] == [TLP.AMBER.marking_id]
    extension = coa["extensions"][EXTENSION_ID]
    assert extension == {
        "extension_type": "property-extension",
        "playbook_id": playbook["id"],
        "created": playbook["created"],
        "modified": playbook["modified"],
        "playbook_standard": "cacao",
        "playbook_abstraction": "executable",
        "playbook_bin": base64.b64encode(data).decode(),
    }
    assert carries_cacao(coa) and "object_marking_refs" not in wrap(data)


def test_the_wrapped_plan_is_valid_stix() -> None:
    submission = validate([wrap(shipped(), TLP.AMBER), extension_definition()], TLP.GREEN, full=True)
    assert submission.rejected == () and [i.tlp for i in submission.items] == [TLP.AMBER, TLP.GREEN]


@given(st.binary())
def test_unwrap_gives_back_the_exact_bytes_wrapped(extra: bytes) -> None:
    data = playbook_bytes(extra)
    try:
        coa = wrap(data)
    except NotAPlaybook:
        return  # bytes after the JSON that make it no longer JSON: nothing to wrap
    assert unwrap(coa) == data
    assert unwrap(json.loads(json.dumps(coa))) == data


def test_formatting_is_kept_through_the_round_trip() -> None:
    data = b'{"type":"playbook",   "id":"playbook--0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",\r\n"name":"p\\u00e9",'
    data += b'"created":"2026-11-27T09:00:00.000Z","modified":"2026-11-27T09:00:00.000Z"}\n\n'
    assert unwrap(wrap(data)) == data


def test_the_published_example_carries_its_content_in_playbook_base64() -> None:
    document = json.loads((CACAO_DATA / "course-of-action--e06259ad-a154-4e23-bc0a-e229ccb3456f.json").read_text())
    assert unwrap(document["objects"][0]) == b"Security Playbook"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Security Playbook", "not JSON, so not a CACAO playbook"),
        (b'{"type": "indicator"}', "not a CACAO playbook"),
        (b'{"type": "playbook", "id": "playbook--x", "name": "p", "created": "2026-11-27T09:00:00Z"}', "'modified'"),
    ],
)
def test_only_a_playbook_is_wrapped(data: bytes, reason: str) -> None:
    with pytest.raises(NotAPlaybook, match=reason):
        wrap(data)


@pytest.mark.parametrize(
    ("extension", "reason"),
    [
        ({"playbook_bin": "not base64!"}, "playbook_bin: not valid base64"),
        ({"playbook_bin": 3}, "playbook_bin: must be base64 text"),
        ({}, "carries no playbook"),
    ],
)
def test_unwrap_says_what_is_missing(extension: dict[str, Any], reason: str) -> None:
    coa = {"type": "course-of-action", "id": "course-of-action--x", "extensions": {EXTENSION_ID: extension}}
    with pytest.raises(NotAPlaybook, match=reason):
        unwrap(coa)
    with pytest.raises(NotAPlaybook, match="is not a course-of-action carrying a playbook"):
        unwrap({"type": "course-of-action", "id": "course-of-action--x"})


def test_the_shipped_extension_definition_is_the_published_one() -> None:
    definition = extension_definition()
    assert definition["id"] == EXTENSION_ID and definition["extension_types"] == ["property-extension"]
