"""A store written by a hub before the channel index, upgraded at start-up against a real Redis.

The old store is written by the append script those hubs ran (:mod:`tests.store.legacy`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from hub.errors import StoreUnavailable
from hub.store import Store, connect, scripts
from hub.store.layout import FORMAT
from hub.store.upgrade import at_start, upgrade
from tests.conftest import HubFactory
from tests.proxy import TcpProxy
from tests.stixgen import indicator
from tests.store.legacy import legacy_append
from tests.taxii.helpers import collection_path, taxii_headers, versions_of
from tests.timing import WAIT

INCIDENT: dict[str, Any] = {
    "type": "incident", "spec_version": "2.1", "id": "incident--5d2b6a57-3f0e-4c43-9b6c-1b2f0f0a9c11",
    "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z", "name": "Grid outage",
}  # fmt: skip


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


async def legacy_channel(store: Store) -> dict[str, Any]:
    """A channel of the old layout: one object with three versions, one with one, an incident."""
    three, one = indicator(), indicator()
    items = versions_of(three, "2026-11-27T10:00:00.000Z", "2026-11-27T12:00:00.000Z", "2026-11-27T11:00:00.000Z")
    ids = await legacy_append(store.redis, store.ns, "committee", items)
    ids += await legacy_append(store.redis, store.ns, "committee", versions_of(one, "2026-11-27T10:00:00.000Z"))
    ids += await legacy_append(store.redis, store.ns, "committee", versions_of(INCIDENT, INCIDENT["modified"]))
    return {"three": three, "one": one, "ids": ids}


async def test_an_old_channel_reads_and_dedups_the_same_after_the_upgrade(store: Store) -> None:
    old = await legacy_channel(store)
    three, one, ids = old["three"]["id"], old["one"]["id"], old["ids"]
    assert await store.redis.exists(store.keys.legacy_versions("committee", three))

    assert await upgrade(store, ["committee"]) == 3

    stamps = ["2026-11-27T10:00:00.000Z", "2026-11-27T12:00:00.000Z", "2026-11-27T11:00:00.000Z"]
    assert await store.versions_in("committee", [three, one]) == {
        three: dict(zip(stamps, ids[:3], strict=True)),
        one: {stamps[0]: ids[3]},
    }
    assert await store.latest("committee", [three, one]) == {three: ids[1], one: ids[3]}
    assert await store.ids_of_type("committee", "incident") == {INCIDENT["id"]}
    events = await store.read("committee", "0-0", 10)  # entries of the old format, read as they are
    assert [(e.id, e.stix_id, e.version, e.type) for e in events][:2] == [
        (ids[0], three, "2026-11-27T10:00:00.000Z", "indicator"),
        (ids[1], three, "2026-11-27T12:00:00.000Z", "indicator"),
    ]
    assert orjson.loads(events[3].raw) == {**old["one"], "modified": "2026-11-27T10:00:00.000Z"}
    # What is left of the old layout is gone; the mark is set
    legacy = [store.keys.legacy_latest("committee"), store.keys.of_type("committee", "indicator")]
    legacy += [store.keys.legacy_versions("committee", sid) for sid in (three, one, INCIDENT["id"])]
    assert await store.redis.exists(*legacy) == 0
    assert await store.redis.get(store.keys.format("committee")) == FORMAT

    # A version stored before the upgrade is still a duplicate; a new one lands beside the others
    again = await store.append("committee", "cidge", versions_of(old["one"], "2026-11-27T10:00:00.000Z"))
    assert [(a.duplicate, a.event_id) for a in again] == [(True, ids[3])]
    [newer] = await store.append("committee", "cidge", versions_of(old["one"], "2026-11-28T10:00:00.000Z"))
    assert not newer.duplicate and await store.latest("committee", [one]) == {one: newer.event_id}
    [shown] = await store.latest_events("committee", [one])
    assert orjson.loads(shown.raw)["modified"] == "2026-11-28T10:00:00.000Z"


async def test_an_interrupted_upgrade_is_finished_by_the_next_one(store: Store) -> None:
    old = await legacy_channel(store)
    three = old["three"]["id"]
    # A first run moved one object and died: its hash is gone, the mark is not set
    key = store.keys.legacy_versions("committee", three)
    moved = store.redis.register_script(scripts.UPGRADE_VERSIONS)
    assert await moved(keys=[store.keys.objects("committee"), key], args=[three]) == 1
    assert await store.redis.get(store.keys.format("committee")) is None

    assert await upgrade(store, ["committee"]) == 2
    assert len((await store.versions_in("committee", [three]))[three]) == 3
    assert await upgrade(store, ["committee"]) == 0  # done once: the mark says so
    assert await store.redis.hlen(store.keys.objects("committee")) == 3


async def test_an_old_channel_refuses_appends_until_it_is_upgraded(store: Store) -> None:
    old = await legacy_channel(store)
    again = versions_of(old["one"], "2026-11-27T10:00:00.000Z")
    with pytest.raises(StoreUnavailable, match="being brought to the current store layout"):
        await store.append("committee", "cidge", again)
    await upgrade(store, ["committee"])
    [appended] = await store.append("committee", "cidge", again)
    assert appended.duplicate and appended.event_id == old["ids"][3]


async def test_an_older_hub_writing_after_the_upgrade_is_moved_too(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    old = await legacy_channel(store)
    await upgrade(store, ["committee"])
    late = indicator()
    [late_id] = await legacy_append(store.redis, store.ns, "committee", versions_of(late, "2026-11-28T10:00:00.000Z"))
    assert await upgrade(store, ["committee"]) == 1
    assert "written by an older hub after it was upgraded" in caplog.text
    assert await store.latest("committee", [late["id"], old["one"]["id"]]) == {
        late["id"]: late_id,
        old["one"]["id"]: old["ids"][3],
    }


async def test_a_redis_that_does_not_answer_at_start_is_upgraded_once_it_does(redis_url: str, namespace: str) -> None:
    url = urlsplit(redis_url)
    assert url.hostname is not None and url.port is not None
    proxy = TcpProxy(url.hostname, url.port)
    await proxy.start()
    client = connect(f"redis://127.0.0.1:{proxy.port}")
    store = Store(client, namespace)
    try:
        old = await legacy_channel(store)
        await proxy.cut()
        task = await at_start(store, ["committee"], retry_seconds=0.05)
        assert task is not None and not task.done()
        await proxy.restore()
        async with asyncio.timeout(WAIT):
            await task
        assert await store.latest("committee", [old["one"]["id"]]) == {old["one"]["id"]: old["ids"][3]}
        assert await store.redis.get(store.keys.format("committee")) == FORMAT
    finally:
        await client.aclose()
        await proxy.cut()


async def test_a_new_channel_is_marked_current(store: Store) -> None:
    assert await upgrade(store, ["fresh"]) == 0
    assert await store.redis.get(store.keys.format("fresh")) == FORMAT


async def test_the_hub_upgrades_an_old_store_before_it_serves(
    redis_url: str, namespace: str, hub_factory: HubFactory
) -> None:
    client = connect(redis_url)
    try:
        old = await legacy_channel(Store(client, namespace))
    finally:
        await client.aclose()
    hub = await hub_factory()
    three = old["three"]["id"]
    path = collection_path("committee") + f"objects/?match[id]={three}"
    async with hub.client.get(path, headers=taxii_headers(hub, "cidge")) as response:
        assert response.status == 200, await response.text()
        envelope = await response.json()
    assert [o["modified"] for o in envelope["objects"]] == ["2026-11-27T12:00:00.000Z"]  # the newest: the default
