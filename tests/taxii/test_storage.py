"""TAXII's Redis queries against a real Redis: atomic deletes keep the store's indexes right; statuses expire."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from hub.events import Event
from hub.store import Appended, Store, connect
from hub.taxii.pagination import ORIGIN
from hub.taxii.storage import STATUS_TTL_SECONDS, TaxiiStorage
from tests.stixgen import indicator
from tests.taxii.helpers import versions_of


@pytest.fixture
async def storage(redis_url: str, namespace: str) -> AsyncIterator[TaxiiStorage]:
    client = connect(redis_url)
    yield TaxiiStorage(Store(client, namespace))
    await client.aclose()


async def events(storage: TaxiiStorage, appended: list[Appended]) -> list[Event]:
    return await storage.events("committee", [a.event_id for a in appended])


async def test_deleting_the_newest_version_makes_the_next_newest_the_latest(storage: TaxiiStorage) -> None:
    obj = indicator()
    v1, v2, v3 = versions_of(obj, "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00.5000Z", "2026-11-27T11:00:00.000Z")
    e2, e3, e1 = await events(storage, await storage.store.append("committee", "cidge", [v2, v3, v1]))
    assert await storage.latest("committee", [obj["id"]]) == {obj["id"]: e3.id}  # v1 arrived late

    assert await storage.delete_versions("committee", [e3]) == 1
    assert await storage.latest("committee", [obj["id"]]) == {obj["id"]: e2.id}
    assert [e.id for e in await storage.scan("committee", ORIGIN, 10)] == [e2.id, e1.id]
    assert await storage.version_maps("committee", [obj["id"]]) == {obj["id"]: {v1.version: e1.id, v2.version: e2.id}}


async def test_deleting_every_version_forgets_the_object_and_its_index_entries(storage: TaxiiStorage) -> None:
    target = indicator()
    note = {
        "type": "note", "spec_version": "2.1", "id": "note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
        "content": "seen at the refinery", "object_refs": [target["id"]],
    }  # fmt: skip
    items = versions_of(note, "2026-11-27T10:00:00.000Z", "2026-11-27T12:00:00.000Z")
    stored = await events(storage, await storage.store.append("committee", "cidge", items))
    assert await storage.store.referring("committee", target["id"]) == {note["id"]}

    assert await storage.delete_versions("committee", stored[:1]) == 1
    assert await storage.store.ids_of_type("committee", "note") == {note["id"]}  # a version is left

    assert await storage.delete_versions("committee", stored[1:]) == 1
    assert await storage.latest("committee", [note["id"]]) == {}
    assert await storage.version_maps("committee", [note["id"]]) == {note["id"]: {}}
    assert await storage.store.read("committee", "0-0", 10) == []
    assert await storage.store.ids_of_type("committee", "note") == set()
    assert await storage.store.referring("committee", target["id"]) == set()


async def test_a_delete_of_a_version_stored_anew_since_it_was_read_changes_nothing(storage: TaxiiStorage) -> None:
    [item] = versions_of(indicator(), "2026-11-27T10:00:00.000Z")
    [stored] = await events(storage, await storage.store.append("committee", "cidge", [item]))
    assert await storage.delete_versions("committee", [dataclasses.replace(stored, id="1-0")]) == 0
    assert await storage.latest("committee", [item.id]) == {item.id: stored.id}
    assert await storage.store.ids_of_type("committee", "indicator") == {item.id}


async def test_equal_versions_keep_the_first_stored_as_latest_after_a_delete(storage: TaxiiStorage) -> None:
    obj = indicator()
    items = versions_of(obj, "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00.000000Z", "2026-11-27T11:00:00.000Z")
    first, _, newer = await events(storage, await storage.store.append("committee", "cidge", items))
    await storage.delete_versions("committee", [newer])
    assert await storage.latest("committee", [obj["id"]]) == {obj["id"]: first.id}


async def test_a_status_is_kept_for_days_with_its_owner(storage: TaxiiStorage) -> None:
    status_id = "5e1f4a1a-0000-4000-8000-000000000000"
    await storage.save_status(status_id, "cidge", {"id": status_id, "status": "complete"})
    assert await storage.load_status(status_id) == ("cidge", {"id": status_id, "status": "complete"})
    ttl = await storage.store.redis.ttl(f"{storage.store.ns}:taxii:status:{status_id}")
    assert STATUS_TTL_SECONDS - 60 < ttl <= STATUS_TTL_SECONDS
    assert await storage.load_status("00000000-0000-4000-8000-000000000000") is None
