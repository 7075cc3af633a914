"""What administrators watch of the store's memory: health says "full", metrics give the figures, the log warns.

On a Redis of this module's own, whose memory limit and eviction policy the tests set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub import keys
from hub.app import create_app
from hub.config import Config
from hub.embedded import EmbeddedRedis
from hub.errors import ConfigError
from hub.monitoring import CapacityMonitor
from tests.conftest import Hub, HubFactory
from tests.stixgen import bundle, indicator

STIX = {"Content-Type": "application/stix+json;version=2.1"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own: the tests set its memory limit and policy."""
    with EmbeddedRedis(tmp_path_factory.mktemp("monitoring-redis")) as server:
        yield server.url


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.config_set("maxmemory", 0)
    yield client
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.close()


async def health(hub: Hub) -> tuple[int, dict[str, Any]]:
    async with hub.client.get("/api/v1/health") as response:
        return response.status, await response.json()


async def post(hub: Hub) -> int:
    async with hub.client.post(
        "/api/v1/channels/sector.finance/objects",
        data=orjson.dumps(bundle(indicator())),
        headers={**STIX, **hub.auth("banxico")},
    ) as response:
        return response.status


async def metrics(hub: Hub) -> dict[str, float]:
    async with hub.client.get("/metrics", headers=hub.auth("cidge")) as response:
        assert response.status == 200
        text = await response.text()
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("chub_store_"))
    }


def used(admin: redis.Redis) -> int:
    return int(admin.info("memory")["used_memory"])


def monitor(hub: Hub) -> CapacityMonitor:
    app: web.Application = hub.client.app
    return app[keys.CAPACITY]


async def test_health_says_full_with_used_and_limit_and_stays_200(hub_factory: HubFactory, admin: redis.Redis) -> None:
    hub = await hub_factory()
    status, body = await health(hub)
    assert (status, body["status"], body["redis"]) == (200, "ok", "ok")
    assert body["memory"]["limit"] is None and body["memory"]["used"] > 0
    admin.config_set("maxmemory", 1)
    status, body = await health(hub)
    assert status == 200, "reads go on: a load balancer must not take the hub out"
    assert (body["status"], body["redis"]) == ("full", "full")
    assert body["memory"]["limit"] == 1 and body["memory"]["used"] > 1
    admin.config_set("maxmemory", 0)
    status, body = await health(hub)
    assert (status, body["status"]) == (200, "ok")


async def test_health_says_full_after_an_append_refused_for_memory_until_one_goes_in(
    hub_factory: HubFactory, admin: redis.Redis
) -> None:
    """Between a refusal and the next append, memory may read below the limit: the refusal still says "full"."""
    hub = await hub_factory()
    admin.config_set("maxmemory", 1)
    assert await post(hub) == 507
    admin.config_set("maxmemory", used(admin) + 64 * 1024**2)  # room again, but nothing has been written since
    status, body = await health(hub)
    assert (status, body["status"]) == (200, "full") and body["memory"]["used"] < body["memory"]["limit"]
    assert await post(hub) in (200, 201)
    assert (await health(hub))[1]["status"] == "ok"


async def test_metrics_give_used_and_limit_bytes_and_refusals_by_reason(
    hub_factory: HubFactory, admin: redis.Redis
) -> None:
    hub = await hub_factory()
    admin.config_set("maxmemory", 256 * 1024**2)
    await monitor(hub).check()
    figures = await metrics(hub)
    assert figures["chub_store_memory_limit_bytes"] == 256 * 1024**2
    assert 0 < figures["chub_store_memory_used_bytes"] < figures["chub_store_memory_limit_bytes"]
    assert figures['chub_store_writes_refused_total{reason="out_of_memory"}'] == 0
    assert figures['chub_store_writes_refused_total{reason="read_only"}'] == 0
    admin.config_set("maxmemory", 1)
    assert await post(hub) == 507
    assert await post(hub) == 507
    figures = await metrics(hub)
    assert figures['chub_store_writes_refused_total{reason="out_of_memory"}'] == 2


async def test_usage_over_80_and_95_percent_is_one_warning_each_and_again_after_it_fell(
    hub_factory: HubFactory, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await hub_factory()
    watch = monitor(hub)

    async def at(share: float) -> list[str]:
        """Set the limit so that Redis is at ``share`` of it, check twice: the warnings logged."""
        admin.config_set("maxmemory", int(used(admin) / share))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hub.monitoring"):
            await watch.check()
            await watch.check()
        return [r.getMessage() for r in caplog.records]

    assert await at(0.5) == []
    (first,) = await at(0.87)
    assert "over 80%" in first and "maxmemory" in first
    assert await at(0.88) == []
    (second,) = await at(0.97)
    assert "over 95%" in second
    assert await at(0.5) == []
    (again,) = await at(0.87)
    assert "over 80%" in again


async def test_a_hub_refuses_to_start_on_an_evicting_redis(
    config: Config, redis_url: str, namespace: str, admin: redis.Redis
) -> None:
    admin.config_set("maxmemory-policy", "allkeys-lru")
    client = TestClient(TestServer(create_app(config, redis_url, namespace=namespace), host="127.0.0.1"))
    with pytest.raises(ConfigError, match="maxmemory-policy is allkeys-lru, which silently deletes stored objects"):
        await client.start_server()
    await client.close()


async def test_where_config_is_forbidden_the_hub_warns_once_and_starts(
    config: Config, redis_url: str, namespace: str, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    admin.acl_setuser(
        "tenant", enabled=True, passwords=["+secret"], keys=["*"], channels=["*"], commands=["+@all", "-config"]
    )
    url = redis_url.replace("redis://", "redis://tenant:secret@")
    try:
        with caplog.at_level(logging.WARNING):
            async with TestClient(TestServer(create_app(config, url, namespace=namespace), host="127.0.0.1")) as client:
                async with client.get("/api/v1/health") as response:
                    assert response.status == 200
    finally:
        admin.acl_deluser("tenant")
    warnings = [r.getMessage() for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    assert len(warnings) == 1 and "CONFIG is not allowed" in warnings[0] and "noeviction" in warnings[0]


async def test_an_evicting_policy_found_after_start_is_an_error_line_not_a_crash(
    hub_factory: HubFactory, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis was unreachable at start, so the check comes later: the hub runs already, and says it loudly."""
    hub = await hub_factory()
    admin.config_set("maxmemory-policy", "volatile-lru")
    with caplog.at_level(logging.WARNING, logger="hub.monitoring"):
        await monitor(hub).check_policy()
    (line,) = [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    assert line.levelno == logging.ERROR and "volatile-lru" in line.getMessage() and not line.exc_info
    assert (await health(hub))[0] == 200
