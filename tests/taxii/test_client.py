"""Every TAXII endpoint through taxii2-client, a real partner's client, against the running hub."""

from __future__ import annotations

from typing import Any

from taxii2client.v21 import Status, as_pages  # type: ignore[import-untyped]  # no type information

from hub.taxii.catalog import collection_id
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import indicator
from tests.taxii.helpers import (
    api_root,
    api_root_url,
    blocking,
    collection,
    collection_path,
    envelope,
    server,
)
from tests.timing import WAIT


def said(status: Status) -> tuple[Any, ...]:
    """Everything a status resource says, as taxii2-client's public fields show it."""
    counts = (status.total_count, status.success_count, status.failure_count, status.pending_count)
    lists = (status.successes, status.failures, status.pendings)
    return (status.id, status.status, status.request_timestamp, counts, lists, status.custom_properties)


async def test_discovery_lists_one_api_root_that_is_the_default(hub: Hub) -> None:
    found = server(hub, "partner-cert")
    title, roots, default = await blocking(lambda: (found.title, found.api_roots, found.default))
    assert title == hub.config.hub.title
    assert [root.url for root in roots] == [api_root_url(hub)] and default is roots[0]


async def test_the_api_root_says_title_versions_and_max_content_length(hub: Hub) -> None:
    root = api_root(hub, "partner-cert")
    await blocking(root.refresh_information)
    assert root.title == hub.config.hub.title
    assert root.versions == ["application/taxii+json;version=2.1"]
    assert root.max_content_length == hub.config.hub.max_body_bytes


async def test_collections_are_the_channels_the_caller_may_read_or_write(hub: Hub) -> None:
    root = server(hub, "partner-cert", bearer=True)
    collections = await blocking(lambda: root.api_roots[0].collections)
    seen = {c.alias: (c.id, c.can_read, c.can_write, c.title) for c in collections}
    assert seen == {
        "partners": (collection_id("partners"), True, True, "International partners"),
        "public": (collection_id("public"), True, False, "Public information"),
    }
    assert all(c.media_types == ["application/stix+json;version=2.1"] for c in collections)


async def test_a_collection_is_reachable_by_id_and_by_alias(hub: Hub) -> None:
    by_id = collection(hub, "cert-mx", "sector.energy")
    await blocking(by_id.refresh)
    assert by_id.alias == "sector.energy" and by_id.can_read and by_id.can_write
    async with hub.client.get("/taxii2/api/collections/sector.energy/", headers=hub.auth("cert-mx")) as response:
        assert response.status == 200 and (await response.json())["id"] == by_id.id


async def test_add_objects_answers_a_complete_status_that_can_be_polled(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    good, bad = indicator(TLP.GREEN), {**indicator(), "modified": "2020-01-01T00:00:00.000Z"}
    status = await blocking(lambda: partners.add_objects(envelope(good, bad), wait_for_completion=False))
    assert status.status == "complete" and status.total_count == 2
    assert (status.success_count, status.failure_count, status.pending_count) == (1, 1, 0)
    assert status.successes == [{"id": good["id"], "version": good["modified"], "message": "added"}]
    [failure] = status.failures
    assert failure["id"] == bad["id"] and failure["version"] == bad["modified"] and "modified" in failure["message"]
    # taxii2-client polls the status URL without its trailing slash; a poll must see the same resource.
    await blocking(lambda: status.wait_until_final(poll_interval=0.1, timeout=WAIT))
    await blocking(status.refresh)
    assert status.url.endswith(f"/status/{status.id}/") and status.success_count == 1
    again = await blocking(lambda: api_root(hub, "partner-cert").get_status(status.id))
    assert said(again) == said(status)
    polled = await blocking(
        lambda: Status(status.url.rstrip("/"), user="partner-cert", password=hub.tokens["partner-cert"])
    )
    assert polled.id == status.id and polled.request_timestamp == status.request_timestamp


async def test_adding_an_object_again_succeeds_without_a_second_copy(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    obj = indicator(TLP.GREEN)
    await blocking(lambda: partners.add_objects(envelope(obj)))
    again = await blocking(lambda: partners.add_objects(envelope(obj)))
    assert again.success_count == 1 and again.successes[0]["message"] == "already in the collection"
    assert len((await blocking(partners.get_objects))["objects"]) == 1


async def test_get_objects_filters_by_type_id_version_and_spec_version(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    first, other = indicator(TLP.GREEN), indicator(TLP.GREEN)
    second = {**first, "modified": "2026-11-27T11:00:00.000Z", "name": "second"}
    report = {
        "type": "report", "spec_version": "2.1", "id": "report--4e0ff8b3-3fd8-4a4e-9a3c-0cbcd1f3e0a1",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z", "name": "weekly",
        "published": "2026-11-27T10:00:00Z", "object_refs": [first["id"]],
        "object_marking_refs": [TLP.GREEN.marking_id],
    }  # fmt: skip
    await blocking(lambda: partners.add_objects(envelope(first, other, report)))
    await blocking(lambda: partners.add_objects(envelope(second)))

    def ids(**filters: object) -> list[tuple[str, str]]:
        found = partners.get_objects(**filters).get("objects", [])
        return [(o["id"], o["modified"]) for o in found]

    assert await blocking(lambda: ids(type="report")) == [(report["id"], report["modified"])]
    assert await blocking(lambda: ids(type=["report", "malware"])) == [(report["id"], report["modified"])]
    assert await blocking(lambda: ids(id=first["id"])) == [(first["id"], second["modified"])]
    assert await blocking(lambda: ids(id=first["id"], version="first")) == [(first["id"], first["modified"])]
    assert await blocking(lambda: ids(id=first["id"], version="all")) == [
        (first["id"], first["modified"]),
        (first["id"], second["modified"]),
    ]
    assert await blocking(lambda: ids(id=first["id"], version="2026-11-27T10:00:00Z")) == [
        (first["id"], first["modified"])
    ]
    assert await blocking(lambda: ids(version="first")) == [
        (first["id"], first["modified"]),
        (other["id"], other["modified"]),
        (report["id"], report["modified"]),
    ]
    assert await blocking(lambda: ids(spec_version="2.0")) == []
    assert len(await blocking(lambda: ids(spec_version="2.1"))) == 3  # the last version of each object


async def test_added_after_keeps_what_was_added_strictly_later(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    early, late = indicator(TLP.GREEN), indicator(TLP.GREEN)
    await blocking(lambda: partners.add_objects(envelope(early)))
    [record] = (await blocking(partners.get_manifest))["objects"]
    await blocking(lambda: partners.add_objects(envelope(late)))
    after = await blocking(lambda: partners.get_objects(added_after=record["date_added"]))
    assert [o["id"] for o in after["objects"]] == [late["id"]]


async def test_as_pages_walks_objects_and_manifests_in_pages(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    objects = [indicator(TLP.GREEN) for _ in range(7)]
    await blocking(lambda: partners.add_objects(envelope(*objects)))
    pages = await blocking(lambda: list(as_pages(partners.get_objects, per_request=3)))
    assert [len(p["objects"]) for p in pages] == [3, 3, 1]
    assert [p["more"] for p in pages] == [True, True, False]
    assert [o["id"] for p in pages for o in p["objects"]] == [o["id"] for o in objects]
    manifests = await blocking(lambda: list(as_pages(partners.get_manifest, per_request=4)))
    records = [r for p in manifests for r in p["objects"]]
    assert [r["id"] for r in records] == [o["id"] for o in objects]
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in records)
    assert [r["version"] for r in records] == [o["modified"] for o in objects]
    assert records == sorted(records, key=lambda r: r["date_added"])


async def test_an_object_its_versions_and_its_deletion(hub: Hub) -> None:
    partners = collection(hub, "partner-cert", "partners")
    v1 = indicator(TLP.GREEN)
    v2 = {**v1, "modified": "2026-11-27T12:00:00.000Z"}
    v3 = {**v1, "modified": "2026-11-27T13:00:00.000Z"}
    await blocking(lambda: partners.add_objects(envelope(v1, v2, v3)))
    versions = await blocking(lambda: partners.object_versions(v1["id"]))
    assert versions == {"more": False, "versions": [v1["modified"], v2["modified"], v3["modified"]]}
    newest = await blocking(lambda: partners.get_object(v1["id"]))
    assert [o["modified"] for o in newest["objects"]] == [v3["modified"]]
    every = await blocking(lambda: partners.get_object(v1["id"], version="all"))
    assert [o["modified"] for o in every["objects"]] == [v1["modified"], v2["modified"], v3["modified"]]

    await blocking(lambda: partners.delete_object(v1["id"], version=v3["modified"]))
    newest = await blocking(lambda: partners.get_object(v1["id"]))
    assert [o["modified"] for o in newest["objects"]] == [v2["modified"]]  # the latest moved back
    await blocking(lambda: partners.delete_object(v1["id"]))
    assert "objects" not in await blocking(partners.get_objects)
    async with hub.client.get(
        f"{collection_path('partners')}objects/{v1['id']}/", headers=hub.auth("partner-cert")
    ) as r:
        assert r.status == 404
