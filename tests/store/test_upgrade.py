"""A store written by a hub before the channel index, upgraded at start-up against a real Redis.

The old store is written by the append script those hubs ran, verbatim, so
that the test data is what an operator's Redis holds, not what we think it
holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest

from hub.refs import refs_of
from hub.stix import StixItem
from hub.store import Client, Store, connect, scripts
from hub.store.upgrade import FORMAT, upgrade
from hub.versions import order_key
from tests.conftest import HubFactory
from tests.stixgen import indicator
from tests.taxii.helpers import collection_path, taxii_headers, versions_of

LEGACY_APPEND = """
local live, source, prefix, publish, sync = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local person, person_name = ARGV[6], ARGV[7]
local meta = cjson.decode(ARGV[8])
local out = {}
local last = false
for i, m in ipairs(meta) do
  local tlp, typ, sid, version, order, refs = m[1], m[2], m[3], m[4], m[5], m[6]
  local versions = prefix .. 'v:' .. sid
  local existing = redis.call('HGET', versions, version)
  if existing then
    -- The stored TLP of the duplicate, so that its id is shown only to those who may read it.
    local stored, level = redis.call('XRANGE', KEYS[1], existing, existing), '4'
    if stored[1] then
      local f = stored[1][2]
      for j = 1, #f, 2 do if f[j] == 'tlp' then level = f[j + 1] break end end
    end
    out[i] = {0, existing, level}
  else
    local id
    if person == '' then
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'tlp', tlp,
        'typ', typ, 'sid', sid, 'ver', version, 'obj', ARGV[8 + i])
    else
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'per', person, 'pnm', person_name, 'tlp', tlp,
        'typ', typ, 'sid', sid, 'ver', version, 'obj', ARGV[8 + i])
    end
    redis.call('HSET', versions, version, id)
    local current = redis.call('HGET', KEYS[2], sid)
    if (not current) or string.sub(current, 1, string.find(current, ' ') - 1) < order then
      redis.call('HSET', KEYS[2], sid, order .. ' ' .. id)
    end
    redis.call('SADD', prefix .. 't:' .. typ, sid)
    for _, ref in ipairs(refs) do
      redis.call('SADD', prefix .. 'r:' .. ref, sid)
    end
    out[i] = {1, id, tlp}
    last = id
  end
end
if last then
  redis.call(publish, live, last)
elseif sync == '1' then
  redis.call('INCR', prefix .. 'sync')
end
return out
"""


async def legacy_append(client: Client, namespace: str, channel: str, items: Sequence[StixItem]) -> list[str]:
    """Append as a hub before the channel index did; the new event ids."""
    prefix = f"{namespace}:{{ch:{channel}}}:"
    meta = [[str(int(i.tlp)), i.type, i.id, i.version, order_key(i.version), refs_of(i.obj)] for i in items]
    args: list[Any] = [prefix + "live", "cidge", prefix, "PUBLISH", "0", "", "", orjson.dumps(meta)]
    replies = await client.eval(LEGACY_APPEND, 2, prefix + "log", prefix + "latest", *args, *(i.raw for i in items))
    return [event_id.decode() for _, event_id, _ in replies]


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


async def test_a_new_channel_is_marked_without_a_scan(store: Store) -> None:
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
