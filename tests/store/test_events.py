"""The Redis store against a real Redis server: atomic, idempotent appends and reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import orjson
import pytest

from hub.stix import StixItem, parse_submission
from hub.store import Store, connect
from hub.tlp import TLP
from tests.stixgen import bundle, indicator
from tests.timing import QUIET, WAIT


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


def items(*objects: dict[str, Any], default: TLP = TLP.AMBER) -> tuple[StixItem, ...]:
    submission = parse_submission(orjson.dumps(bundle(*objects)), default)
    assert not submission.rejected
    return submission.items


async def test_concurrent_reposts_of_one_version_store_it_once(store: Store) -> None:
    batch = items(indicator(), indicator())
    results = await asyncio.gather(*(store.append("committee", "cidge", batch) for _ in range(20)))
    created = [r for result in results for r in result if not r.duplicate]
    assert len(created) == 2
    ids = {r.event_id for result in results for r in result}
    assert ids == {r.event_id for r in created}
    assert len(await store.read("committee", "0-0", 100)) == 2


async def test_a_bundle_is_appended_in_order_with_consecutive_ids(store: Store) -> None:
    batch = items(*(indicator() for _ in range(50)))
    appended = await store.append("sector.energy", "pemex", batch)
    events = await store.read("sector.energy", "0-0", 1000)
    assert [e.event_id for e in appended] == [e.id for e in events]
    assert [e.stix_id for e in events] == [i.id for i in batch]
    assert all(e.source == "pemex" and e.tlp is TLP.AMBER for e in events)


async def test_the_same_object_in_two_channels_is_two_events(store: Store) -> None:
    batch = items(indicator())
    a = await store.append("committee", "cidge", batch)
    b = await store.append("public", "cidge", batch)
    assert not a[0].duplicate and not b[0].duplicate
    versions = await store.versions(["committee", "public", "partners"], batch[0].id)
    assert set(versions) == {"committee", "public"}


async def test_append_publishes_the_last_new_id_once_per_bundle(store: Store) -> None:
    pubsub = store.redis.pubsub()
    await pubsub.subscribe(store.live_channel("committee"))
    await pubsub.get_message(timeout=WAIT)  # the subscribe confirmation
    appended = await store.append("committee", "cidge", items(indicator(), indicator(), indicator()))
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=WAIT)
    assert message is not None and message["data"].decode() == appended[-1].event_id
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=QUIET) is None
    await store.append("committee", "cidge", items(*[e.item.obj for e in appended]))  # all duplicates
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=QUIET) is None
    await pubsub.aclose()


async def test_read_is_exclusive_of_the_cursor(store: Store) -> None:
    appended = await store.append("committee", "cidge", items(indicator(), indicator(), indicator()))
    after_first = await store.read("committee", appended[0].event_id, 10)
    assert [e.id for e in after_first] == [a.event_id for a in appended[1:]]


async def test_an_inclusive_read_starts_at_the_cursor(store: Store) -> None:
    appended = await store.append("committee", "cidge", items(indicator(), indicator()))
    from_first = await store.read("committee", appended[0].event_id, 10, inclusive=True)
    assert [e.id for e in from_first] == [a.event_id for a in appended]


async def test_a_subscription_hears_of_appends_to_its_channels_only(store: Store) -> None:
    subscription = await store.subscribe(["committee"], whole_namespace=True)
    try:
        await store.append("public", "cidge", items(indicator()))
        [appended] = await store.append("committee", "cidge", items(indicator()))
        note = await subscription.get(timeout=WAIT)
        assert note is not None and (note.live, note.event_id) == (store.live_channel("committee"), appended.event_id)
        assert await subscription.get(timeout=QUIET) is None
    finally:
        await subscription.aclose()


async def test_versions_in_one_channel_name_every_object_asked_for(store: Store) -> None:
    [stored] = await store.append("committee", "cidge", items(indicator()))
    found = await store.versions_in("committee", [stored.item.id, "indicator--absent"])
    assert found == {stored.item.id: {stored.item.version: stored.event_id}, "indicator--absent": {}}


async def test_latest_tracks_the_newest_version_whatever_the_arrival_order(store: Store) -> None:
    v2 = indicator(modified="2026-11-27T12:00:00.500Z")
    v1 = {**v2, "modified": "2026-11-27T12:00:00.100Z"}
    v3 = {**v2, "modified": "2026-11-27T12:00:01.000Z"}
    [e2] = await store.append("committee", "cidge", items(v2))
    [e1] = await store.append("committee", "cidge", items(v1))  # an older version arriving late
    assert await store.latest("committee", [v2["id"], "indicator--absent"]) == {v2["id"]: e2.event_id}
    [e3] = await store.append("committee", "cidge", items(v3))
    assert await store.latest("committee", [v2["id"]]) == {v2["id"]: e3.event_id}
    assert e1.event_id != e2.event_id


async def test_objects_are_indexed_by_what_they_refer_to(store: Store) -> None:
    target = indicator()
    note: dict[str, Any] = {
        "type": "note", "spec_version": "2.1", "id": "note--0c7b5b88-8ff7-4a4d-aa9c-feb398cd0061",
        "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
        "content": "seen at the refinery", "object_refs": [target["id"]],
        "created_by_ref": "identity--311b2d2d-f010-4473-83ec-1edf84858f4c",
    }  # fmt: skip
    await store.append("sector.energy", "pemex", items(target, note))
    assert await store.versions_in("sector.energy", [note["id"]]) == {note["id"]: {note["modified"]: ANY}}
    assert await store.referring("sector.energy", target["id"]) == {note["id"]}
    assert await store.referring("sector.energy", note["created_by_ref"]) == set()
    [latest] = await store.latest_events("sector.energy", [note["id"]])
    assert latest.stix_id == note["id"]


def test_refs_of_skips_authorship_and_markings() -> None:
    from hub.refs import refs_of

    obj = {
        "created_by_ref": "identity--1", "object_marking_refs": ["marking-definition--1"],
        "source_ref": "a--1", "target_ref": "b--1", "object_refs": ["c--1", "a--1"], "where_sighted_refs": ["d--1"],
        "name_ref": 3,
    }  # fmt: skip
    assert refs_of(obj) == ["a--1", "b--1", "c--1", "d--1"]


async def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(
    redis_url: str, namespace: str
) -> None:
    """Regression: redis-py's default pool raised when all its connections were busy; the hub answered 503."""
    client = connect(redis_url, max_connections=4)
    store = Store(client, namespace)
    await store.append("committee", "cidge", items(indicator()))
    pages = await asyncio.gather(*(store.read("committee", "0-0", 10) for _ in range(200)))
    assert all(len(page) == 1 for page in pages)
    await client.aclose()
