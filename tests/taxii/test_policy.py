"""TAXII reads go through the one visibility policy, and TAXII and the HTTP API share one store."""

from __future__ import annotations

from typing import Any

import orjson

from hub.store import Store, connect
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import indicator
from tests.taxii.helpers import TAXII, blocking, collection, collection_path, envelope, taxii_headers
from tests.timing import WAIT

LEVELS = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]


async def read(hub: Hub, who: str, path: str, **params: str) -> tuple[int, dict[str, Any]]:
    async with hub.client.get(collection_path("partners") + path, params=params, headers=taxii_headers(hub, who)) as r:
        return r.status, orjson.loads(await r.read())


async def test_partner_cert_sees_green_and_clear_only_on_every_read_endpoint(hub: Hub) -> None:
    objects = {level: indicator(level) for level in LEVELS}
    partners = collection(hub, "partner-cert", "partners")
    status = await blocking(lambda: partners.add_objects(envelope(*objects.values())))
    assert status.success_count == len(LEVELS)  # a writer may post above its own reading ceiling
    visible = [objects[TLP.CLEAR]["id"], objects[TLP.GREEN]["id"]]

    _, page = await read(hub, "partner-cert", "objects/", **{"match[version]": "all"})
    assert [o["id"] for o in page["objects"]] == visible
    _, manifest = await read(hub, "partner-cert", "manifest/")
    assert [r["id"] for r in manifest["objects"]] == visible
    for level, obj in objects.items():
        got, _ = await read(hub, "partner-cert", f"objects/{obj['id']}/")
        versions, _ = await read(hub, "partner-cert", f"objects/{obj['id']}/versions/")
        assert (got, versions) == ((200, 200) if level <= TLP.GREEN else (404, 404)), level
    _, committee_view = await read(hub, "sspc", "objects/")
    assert [o["id"] for o in committee_view["objects"]] == [o["id"] for o in objects.values()]


async def test_a_version_above_the_ceiling_leaves_the_older_one_as_the_readers_last(hub: Hub) -> None:
    green = indicator(TLP.GREEN)
    amber = {**green, "modified": "2026-11-27T12:00:00.000Z", "object_marking_refs": [TLP.AMBER.marking_id]}
    partners = collection(hub, "partner-cert", "partners")
    await blocking(lambda: partners.add_objects(envelope(green, amber)))
    for path in ("objects/", f"objects/{green['id']}/"):
        _, page = await read(hub, "partner-cert", path)
        assert [o["modified"] for o in page["objects"]] == [green["modified"]], path
        _, page = await read(hub, "cidge", path)
        assert [o["modified"] for o in page["objects"]] == [amber["modified"]], path
    _, versions = await read(hub, "partner-cert", f"objects/{green['id']}/versions/")
    assert versions["versions"] == [green["modified"]]
    _, manifest = await read(hub, "partner-cert", "manifest/", **{"match[version]": "first,last"})
    assert [r["version"] for r in manifest["objects"]] == [green["modified"]]
    # Deleting "all versions" deletes only what the deleter may see: the AMBER version stays.
    async with hub.client.delete(
        collection_path("partners") + f"objects/{green['id']}/", headers=taxii_headers(hub, "partner-cert")
    ) as response:
        assert response.status == 200
    _, page = await read(hub, "cidge", "objects/", **{"match[version]": "all"})
    assert [o["modified"] for o in page["objects"]] == [amber["modified"]]


async def test_an_object_posted_over_taxii_is_in_the_api_history_and_announced_live(hub: Hub) -> None:
    client = connect(hub.redis_url)
    subscription = await Store(client, hub.namespace).subscribe(["partners"])  # listening once it returns
    obj = indicator(TLP.GREEN)
    try:
        async with hub.client.post(
            collection_path("partners") + "objects/",
            data=orjson.dumps(envelope(obj)),
            headers=taxii_headers(hub, "partner-cert", **{"Content-Type": TAXII}),
        ) as response:
            assert response.status == 202
        note = await subscription.get(timeout=WAIT)
    finally:
        await subscription.aclose()
        await client.aclose()
    async with hub.client.get("/api/v1/channels/partners/events", headers=hub.auth("cidge")) as response:
        [event] = (await response.json())["events"]
    assert event["object"] == obj and event["source"] == "partner-cert" and event["tlp"] == "green"
    assert note is not None and note.event_id == event["id"]


async def test_an_object_posted_over_the_api_is_in_the_taxii_collection(hub: Hub) -> None:
    obj = indicator(TLP.AMBER)
    async with hub.client.post(
        "/api/v1/channels/sector.finance/objects",
        data=orjson.dumps(obj),
        headers={"Content-Type": "application/stix+json", **hub.auth("banxico")},
    ) as response:
        assert response.status == 201
    finance = collection(hub, "cert-mx", "sector.finance")
    page = await blocking(finance.get_objects)
    assert page["objects"] == [obj]
    energy = collection(hub, "cert-mx", "sector.energy")
    assert "objects" not in await blocking(energy.get_objects)
