"""Deleting object versions (TAXII's DELETE) against a real Redis: the store's indexes stay right; statuses expire."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.events import Event
from hub.store import Appended, Store, connect
from hub.store.status import STATUS_TTL_SECONDS
from tests.stixgen import indicator
from tests.taxii.helpers import versions_of


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


async def events(store: Store, appended: list[Appended]) -> list[Event]:
    return await store.events_by_id("committee", [a.event_id for a in appended])


async def test_deleting_the_newest_version_makes_the_next_newest_the_latest(store: Store) -> None:
    obj = indicator()
    v1, v2, v3 = versions_of(obj, "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00.5000Z", "2026-11-27T11:00:00.000Z")
    e2, e3, e1 = await events(store, await store.append("committee", "cidge", [v2, v3, v1]))
    assert await store.latest("committee", [obj["id"]]) == {obj["id"]: e3.id}  # v1 arrived late

    assert await store.delete_versions("committee", [e3]) == 1
    assert await store.latest("committee", [obj["id"]]) == {obj["id"]: e2.id}
    assert [e.id for e in await store.read("committee", "0-0", 10, inclusive=True)] == [e2.id, e1.id]
    assert await store.versions_in("committee", [obj["id"]]) == {obj["id"]: {v1.version: e1.id, v2.version: e2.id}}


async def test_deleting_every_version_forgets_the_object_and_its_index_entries(store: Store) -> None:
    target = indicator()
    note: dict[str, Any] = {
        "type": "note", "spec_version": "2.1", "id": "note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
        "content": "seen at the refinery", "object_refs": [target["id"]],
    }  # fmt: skip
    items = versions_of(note, "2026-11-27T10:00:00.000Z", "2026-11-27T12:00:00.000Z")
    stored = await events(store, await store.append("committee", "cidge", items))
    assert await store.referring("committee", target["id"]) == {note["id"]}

    assert await store.delete_versions("committee", stored[:1]) == 1
    assert await store.versions_in("committee", [note["id"]]) == {note["id"]: {items[1].version: stored[1].id}}
    assert await store.referring("committee", target["id"]) == {note["id"]}  # a version is left

    assert await store.delete_versions("committee", stored[1:]) == 1
    assert await store.latest("committee", [note["id"]]) == {}
    assert await store.versions_in("committee", [note["id"]]) == {note["id"]: {}}
    assert await store.read("committee", "0-0", 10) == []
    assert await store.referring("committee", target["id"]) == set()
    assert not await store.redis.hexists(store.keys.objects("committee"), note["id"])


async def test_deleting_every_version_of_an_incident_takes_it_out_of_the_type_index(store: Store) -> None:
    incident: dict[str, Any] = {
        "type": "incident", "spec_version": "2.1", "id": "incident--5d2b6a57-3f0e-4c43-9b6c-1b2f0f0a9c11",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z", "name": "Grid outage",
    }  # fmt: skip
    items = versions_of(incident, "2026-11-27T10:00:00.000Z", "2026-11-27T12:00:00.000Z")
    stored = await events(store, await store.append("committee", "cidge", items))
    assert await store.ids_of_type("committee", "incident") == {incident["id"]}
    assert await store.delete_versions("committee", stored[:1]) == 1
    assert await store.ids_of_type("committee", "incident") == {incident["id"]}  # a version is left
    assert await store.delete_versions("committee", stored[1:]) == 1
    assert await store.ids_of_type("committee", "incident") == set()


async def test_only_the_types_the_hub_looks_up_are_indexed_by_type(store: Store) -> None:
    [item] = versions_of(indicator(), "2026-11-27T10:00:00.000Z")
    await store.append("committee", "cidge", [item])
    assert not await store.redis.exists(store.keys.of_type("committee", "indicator"))
    with pytest.raises(ValueError, match="no index of 'indicator'"):
        await store.ids_of_type("committee", "indicator")


async def test_a_delete_of_a_version_stored_anew_since_it_was_read_changes_nothing(store: Store) -> None:
    [item] = versions_of(indicator(), "2026-11-27T10:00:00.000Z")
    [stored] = await events(store, await store.append("committee", "cidge", [item]))
    assert await store.delete_versions("committee", [dataclasses.replace(stored, id="1-0")]) == 0
    assert await store.latest("committee", [item.id]) == {item.id: stored.id}
    assert await store.versions_in("committee", [item.id]) == {item.id: {item.version: stored.id}}


async def test_equal_versions_keep_the_first_stored_as_latest_after_a_delete(store: Store) -> None:
    obj = indicator()
    items = versions_of(obj, "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00.000000Z", "2026-11-27T11:00:00.000Z")
    first, _, newer = await events(store, await store.append("committee", "cidge", items))
    await store.delete_versions("committee", [newer])
    assert await store.latest("committee", [obj["id"]]) == {obj["id"]: first.id}


async def test_a_status_is_kept_for_days_with_its_owner(store: Store) -> None:
    status_id = "5e1f4a1a-0000-4000-8000-000000000000"
    await store.statuses.save(status_id, "cidge", {"id": status_id, "status": "complete"})
    assert await store.statuses.load(status_id) == ("cidge", {"id": status_id, "status": "complete"})
    ttl = await store.redis.ttl(store.keys.taxii_status(status_id))
    assert STATUS_TTL_SECONDS - 60 < ttl <= STATUS_TTL_SECONDS
    assert await store.statuses.load("00000000-0000-4000-8000-000000000000") is None
