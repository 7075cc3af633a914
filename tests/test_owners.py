"""A store written before ownership was recorded: its objects keep their first source as owner after an upgrade."""

from __future__ import annotations

from hub.crisis import objects
from hub.store import Store, connect
from hub.tlp import TLP
from tests.conftest import HubFactory
from tests.crisis.test_routes import call
from tests.stixgen import indicator
from tests.test_trust import post, store_directly


async def test_objects_stored_before_ownership_keep_their_first_source_as_owner(
    hub_factory: HubFactory, redis_url: str, namespace: str
) -> None:
    pemex_ioc = indicator(TLP.AMBER, name="pemex's")
    crisis = objects.new_crisis(
        {"name": "Old crisis", "severity": 2, "category": "other", "subcategory": "undetermined", "status": "detected"},
        "cidge",
        None,
    )
    sitrep = objects.new_sitrep(crisis["id"], {"name": "Old sitrep"}, None)
    await store_directly(redis_url, namespace, "sector.energy", "pemex", pemex_ioc)
    await store_directly(redis_url, namespace, "committee", "cidge", crisis, sitrep)
    # A later copy in another channel by someone else does not make it theirs: the oldest event wins.
    await store_directly(redis_url, namespace, "sector.finance", "cert-mx", pemex_ioc)
    hub = await hub_factory()
    newer = {**pemex_ioc, "modified": "2026-11-30T00:00:00.000Z", "name": "forged"}
    for who, channel in (("cfe", "sector.energy"), ("cert-mx", "sector.finance")):
        status, answer = await post(hub, who, channel, newer)
        assert status == 400 and "another stakeholder" in answer["rejected"][0]["reason"]
    assert (await post(hub, "pemex", "sector.energy", newer))[0] == 201
    # The crisis and its sitrep are the hub's: revised through the API, never posted directly.
    forged = {**crisis, "modified": "2026-11-30T00:00:00.000Z", "name": "forged"}
    status, answer = await post(hub, "cidge", "committee", forged)
    assert status == 400
    status, revised = await call(hub, "sedena", "PATCH", f"/api/v1/crises/{crisis['id']}", {"severity": 3})
    assert status == 200 and revised["severity"]["level"] == 3
    status, _ = await call(hub, "sspc", "POST", f"/api/v1/crises/{crisis['id']}/sitreps",
                           {"sitrep_id": sitrep["id"], "description": "next"})  # fmt: skip
    assert status == 201
    # A second start does not scan again.
    client = connect(redis_url)
    try:
        assert await Store(client, namespace).owners_recorded()
    finally:
        await client.aclose()
