"""Two stored copies of one version (``…:00.000Z`` and ``…:00.000000Z``): the events API, TAXII and the store's
"latest" index all name the same one, the first stored (:mod:`hub.versions`)."""

from __future__ import annotations

from typing import Any

import orjson

from hub.store import Store, connect
from tests.conftest import Hub
from tests.stixgen import indicator
from tests.taxii.helpers import collection_path, taxii_headers

CHANNEL = "sector.finance"
WHO = "banxico"
CREATED = "2026-11-27T08:00:00.000Z"
STIX = {"Content-Type": "application/stix+json;version=2.1"}


async def post(hub: Hub, obj: dict[str, Any]) -> None:
    async with hub.client.post(
        f"/api/v1/channels/{CHANNEL}/objects", data=orjson.dumps(obj), headers={**STIX, **hub.auth(WHO)}
    ) as response:
        assert response.status == 201, await response.text()


async def api_newest(hub: Hub, stix_id: str) -> dict[str, Any]:
    """The event ``GET /api/v1/objects/{id}`` answers."""
    async with hub.client.get(f"/api/v1/objects/{stix_id}", headers=hub.auth(WHO)) as response:
        assert response.status == 200
        [event] = (await response.json())["events"]
        return dict(event)


async def taxii_versions(hub: Hub, stix_id: str, match: str) -> list[str]:
    """The names of the versions TAXII's Get An Object answers for ``match[version]``."""
    path = f"{collection_path(CHANNEL)}objects/{stix_id}/"
    async with hub.client.get(path, params={"match[version]": match}, headers=taxii_headers(hub, WHO)) as response:
        assert response.status == 200
        return [obj["name"] for obj in (await response.json())["objects"]]


async def latest_index(hub: Hub, stix_id: str) -> str:
    """The event id the store's "latest" index (kept by its Lua scripts) holds for ``stix_id``."""
    client = connect(hub.redis_url, cluster=hub.cluster)
    try:
        return (await Store(client, hub.namespace).latest(CHANNEL, [stix_id]))[stix_id]
    finally:
        await client.aclose()


async def test_a_later_copy_of_the_newest_version_replaces_it_over_no_interface(hub: Hub) -> None:
    first = indicator(created=CREATED, modified="2026-11-27T10:00:00.000Z", name="first")
    await post(hub, first)
    await post(hub, {**first, "modified": "2026-11-27T10:00:00.000000Z", "name": "again"})
    newest = await api_newest(hub, first["id"])
    assert newest["object"]["name"] == "first"
    assert await taxii_versions(hub, first["id"], "last") == ["first"]
    assert await latest_index(hub, first["id"]) == newest["id"]


async def test_the_first_stored_copy_is_both_first_and_last_over_both_interfaces(hub: Hub) -> None:
    first = indicator(created=CREATED, modified="2026-11-27T10:00:00.000Z", name="first")
    await post(hub, first)
    await post(hub, {**first, "modified": "2026-11-27T10:00:00.000000Z", "name": "again"})
    async with hub.client.get(
        f"/api/v1/objects/{first['id']}", params={"versions": "all"}, headers=hub.auth(WHO)
    ) as response:
        every = [e["object"]["name"] for e in (await response.json())["events"]]
    assert every == ["first", "again"]  # the history lists copies of one version as they were stored
    assert await taxii_versions(hub, first["id"], "first") == ["first"]
    assert await taxii_versions(hub, first["id"], "last") == ["first"]
    assert await taxii_versions(hub, first["id"], "first,last") == ["first"]


async def test_after_a_delete_the_store_elects_the_newest_as_every_reader_ranks_it(hub: Hub) -> None:
    first = indicator(created=CREATED, modified="2026-11-27T10:00:00.000Z", name="first")
    await post(hub, {**first, "modified": "2026-11-27T09:00:00.000Z", "name": "older"})
    await post(hub, first)
    await post(hub, {**first, "modified": "2026-11-27T10:00:00.000000Z", "name": "again"})
    await post(hub, {**first, "modified": "2026-11-27T11:00:00.000Z", "name": "newer"})
    assert (await api_newest(hub, first["id"]))["object"]["name"] == "newer"
    path = f"{collection_path(CHANNEL)}objects/{first['id']}/"
    params = {"match[version]": "2026-11-27T11:00:00.000Z"}
    async with hub.client.delete(path, params=params, headers=taxii_headers(hub, WHO)) as response:
        assert response.status == 200
    newest = await api_newest(hub, first["id"])
    assert newest["object"]["name"] == "first"
    assert await taxii_versions(hub, first["id"], "last") == ["first"]
    assert await latest_index(hub, first["id"]) == newest["id"]
