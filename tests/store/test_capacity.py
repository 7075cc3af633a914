"""The store reads Redis's memory and eviction policy, and counts the appends Redis refused, by reason."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from hub.embedded import EmbeddedRedis
from hub.errors import StoreFull, StoreUnavailable
from hub.store import Store, connect
from hub.store.capacity import Capacity
from tests.rediscluster import LocalCluster, unusable_reason
from tests.stixgen import indicator
from tests.store.test_events import items

MB = 1024**2


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own: the tests set its memory limit and policy."""
    with EmbeddedRedis(tmp_path_factory.mktemp("capacity-redis")) as server:
        yield server.url


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.close()


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


async def test_memory_is_what_redis_uses_and_its_limit(store: Store, admin: redis.Redis) -> None:
    admin.config_set("maxmemory", 512 * MB)
    memory = await store.capacity.memory()
    assert memory is not None
    assert memory.limit == 512 * MB
    assert 0 < memory.used < memory.limit and not memory.at_limit
    admin.config_set("maxmemory", 1)
    full = await store.capacity.memory()
    assert full is not None and full.limit == 1 and full.at_limit


async def test_the_eviction_policy_is_read_from_redis(store: Store, admin: redis.Redis) -> None:
    assert await store.capacity.eviction_policy() == "noeviction"
    admin.config_set("maxmemory-policy", "allkeys-lru")
    assert await store.capacity.eviction_policy() == "allkeys-lru"


async def test_where_config_and_info_are_forbidden_the_store_says_it_cannot_tell(
    redis_url: str, admin: redis.Redis
) -> None:
    """A managed Redis forbids CONFIG (and may forbid INFO): an answer of its own, not an error."""
    admin.acl_setuser("tenant", enabled=True, passwords=["+secret"], keys=["*"], commands=["+@all", "-config", "-info"])
    try:
        client = connect(redis_url.replace("redis://", "redis://tenant:secret@"))
        try:
            capacity = Capacity(client)
            assert await capacity.eviction_policy() is None
            assert await capacity.memory() is None
        finally:
            await client.aclose()
    finally:
        admin.acl_deluser("tenant")


async def test_appends_refused_for_memory_are_counted_and_the_last_one_remembered(
    store: Store, admin: redis.Redis
) -> None:
    assert store.capacity.refusals["out_of_memory"] == 0 and not store.capacity.refused_last_write
    admin.config_set("maxmemory", 1)
    for _ in range(2):
        with pytest.raises(StoreFull):
            await store.append("committee", "cidge", items(indicator()))
    assert store.capacity.refusals["out_of_memory"] == 2 and store.capacity.refused_last_write
    admin.config_set("maxmemory", 0)
    await store.append("committee", "cidge", items(indicator()))
    assert store.capacity.refusals["out_of_memory"] == 2 and not store.capacity.refused_last_write
    assert store.capacity.refusals["read_only"] == 0


async def test_an_append_on_a_read_only_replica_is_refused_as_unavailable_and_counted(
    store: Store, admin: redis.Redis
) -> None:
    """Redis 6 relays a script's refusal as "Error running script …: -READONLY": still a refusal, not a bug."""
    admin.replicaof("127.0.0.1", 1)  # a primary that never answers: the replica stays read-only
    try:
        with pytest.raises(StoreUnavailable, match="refuses writes"):
            await store.append("committee", "cidge", items(indicator()))
    finally:
        admin.replicaof("NO", "ONE")
    assert store.capacity.refusals["read_only"] == 1 and not store.capacity.refused_last_write


@pytest.mark.skipif(unusable_reason() is not None, reason=unusable_reason() or "")
async def test_on_a_cluster_the_fullest_primary_speaks_and_an_evicting_one_is_found(tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "cluster") as cluster:
        client = connect(cluster.url, cluster=True)
        try:
            capacity = Capacity(client)  # before any other command: the client has not met its nodes yet
            assert await capacity.eviction_policy() == "noeviction"
            memory = await capacity.memory()
            assert memory is not None and memory.limit == 0 and memory.used > 0
            one = redis.Redis(port=cluster.alive()[1])
            try:
                one.config_set("maxmemory", 1)
                one.config_set("maxmemory-policy", "allkeys-lru")
                full = await capacity.memory()
                assert full is not None and full.limit == 1 and full.at_limit
                assert await capacity.eviction_policy() == "allkeys-lru"
            finally:
                one.config_set("maxmemory", 0)
                one.close()
        finally:
            await client.aclose()
