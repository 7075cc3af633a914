"""Content negotiation, collections as channels, status resources and envelopes. Pure: no loop, no Redis."""

from __future__ import annotations

import uuid

import orjson
import pytest

from hub.config import load_config
from hub.errors import BadRequest, InvalidJson, NotAcceptable, NotFound, UnsupportedMediaType
from hub.ingest import IngestResult
from hub.stix import Rejection, validate
from hub.store import Appended
from hub.taxii.catalog import Catalog, collection_id
from hub.taxii.media import check_accept, check_content_type, is_taxii_path
from hub.taxii.resources import decode_envelope, paged
from hub.taxii.status import status_resource
from hub.tlp import TLP
from tests.stixgen import indicator


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",
        "application/*",
        "application/taxii+json",
        "application/taxii+json;version=2.1",
        "application/taxii+json; version=2.1",
        'APPLICATION/TAXII+JSON;VERSION="2.1"',
        "application/json;q=0.9, application/taxii+json;version=2.1",
        "text/html, */*;q=0.1",
    ],
)
def test_accept_headers_that_allow_taxii_2_1(accept: str | None) -> None:
    check_accept(accept)


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.0",
        "application/vnd.oasis.taxii+json; version=2.0",
        "application/taxii+json;version=2.1;q=0",
        "*/*;q=0",
        "*/*;q=abc",
    ],
)
def test_accept_headers_we_cannot_satisfy_are_406(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        check_accept(accept)


@pytest.mark.parametrize("content_type", ["application/taxii+json;version=2.1", "application/taxii+json"])
def test_envelopes_are_taxii_json(content_type: str) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "application/stix+json;version=2.1", "application/taxii+json;version=2.0"],
)
def test_other_request_bodies_are_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        check_content_type(content_type)


def test_collection_ids_are_stable_uuid5_of_the_channel_name() -> None:
    assert collection_id("partners") == collection_id("partners") != collection_id("public")
    assert uuid.UUID(collection_id("partners")).version == 5


def test_a_collection_is_found_by_id_or_alias_only_by_who_may_read_or_write_it() -> None:
    config = load_config(None)
    catalog = Catalog(config.channels.values())
    partner = config.principals["partner-cert"]
    assert catalog.find("partners", partner) is catalog.find(collection_id("partners"), partner)
    assert [c.channel.name for c in catalog.visible(partner)] == ["partners", "public"]
    resource = catalog.find("public", partner).resource(partner)
    assert resource["can_read"] and not resource["can_write"] and resource["alias"] == "public"
    for hidden in ("committee", collection_id("committee"), "nope"):
        with pytest.raises(NotFound):
            catalog.find(hidden, partner)


def test_a_status_counts_and_lists_every_object() -> None:
    good, dup = validate([indicator(), indicator()], TLP.GREEN).items
    objects = [good.obj, dup.obj, {"type": "indicator", "id": "indicator--x", "modified": "2026-01-01T00:00:00Z"}, 3]
    result = IngestResult(
        accepted=[Appended(good, "1764236259007-0", False, TLP.GREEN)],
        duplicates=[Appended(dup, "1764236259000-3", True, TLP.GREEN)],
        rejected=[Rejection(2, "indicator--x", "bad pattern"), Rejection(3, None, "not a STIX object")],
    )
    status = status_resource("5e1f4a1a-0000-4000-8000-000000000000", 1764236259007, objects, result)
    assert status["status"] == "complete" and status["request_timestamp"] == "2025-11-27T09:37:39.007Z"
    counts = {key: status[key] for key in ("total_count", "success_count", "failure_count", "pending_count")}
    assert counts == {"total_count": 4, "success_count": 2, "failure_count": 2, "pending_count": 0}
    assert [s["message"] for s in status["successes"]] == ["added", "already in the collection"]
    assert status["failures"] == [
        {"id": "indicator--x", "version": "2026-01-01T00:00:00Z", "message": "object 2: bad pattern"},
        {"id": "", "version": "", "message": "object 3: not a STIX object"},
    ]
    assert "pendings" not in status


@pytest.mark.parametrize(
    "body, error",
    [(b"{nope", InvalidJson), (b"[]", BadRequest), (b"{}", BadRequest), (b'{"objects": []}', BadRequest)],
)
def test_bad_envelopes_are_refused(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_envelope(body)


def test_a_page_leaves_out_next_without_more_and_empty_lists() -> None:
    assert paged(False, None, "objects", []) == {"more": False}
    assert paged(True, "abc", "versions", ["v"]) == {"more": True, "next": "abc", "versions": ["v"]}
    assert orjson.loads(orjson.dumps(paged(False, "ignored", "objects", [1]))) == {"more": False, "objects": [1]}


@pytest.mark.parametrize(
    ("path", "taxii"),
    [("/taxii2", True), ("/taxii2/", True), ("/taxii2/api/collections/", True), ("/taxii2x", False),
     ("/api/v1/taxii2", False), ("/", False)],
)  # fmt: skip
def test_the_taxii_server_declares_its_paths(path: str, taxii: bool) -> None:
    assert is_taxii_path(path) is taxii
