"""A Redis at its memory limit: writes are refused with 507 and a reason, nothing is half written, reads go on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from hub.embedded import EmbeddedRedis
from hub.taxii.media import TAXII_MEDIA_TYPE
from tests.conftest import Hub, HubFactory
from tests.stixgen import bundle, indicator
from tests.taxii.helpers import collection_path, envelope, taxii_headers

STIX = {"Content-Type": "application/stix+json;version=2.1"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own: the tests set its memory limit."""
    with EmbeddedRedis(tmp_path_factory.mktemp("full-redis")) as server:
        yield server.url


@pytest.fixture
def limit(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.config_set("maxmemory-policy", "noeviction")
    yield client
    client.config_set("maxmemory", 0)
    client.close()


def fill(client: redis.Redis) -> None:
    """Set the limit below what Redis holds already: every write from here on is refused."""
    client.config_set("maxmemory", 1)


async def post(hub: Hub, *objects: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    async with hub.client.post(
        "/api/v1/channels/sector.finance/objects",
        data=orjson.dumps(bundle(*objects)),
        headers={**STIX, **hub.auth("banxico")},
    ) as response:
        return response.status, await response.json(), response.headers.get("Retry-After", "")


async def status_of(hub: Hub, stix_id: str) -> int:
    async with hub.client.get(f"/api/v1/objects/{stix_id}", headers=hub.auth("banxico")) as response:
        return response.status


async def test_a_full_store_refuses_writes_with_507_and_still_serves_reads(
    hub_factory: HubFactory, limit: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await hub_factory()
    stored = indicator()
    assert (await post(hub, stored))[0] in (200, 201)
    fill(limit)
    refused = [indicator() for _ in range(3)]
    with caplog.at_level(logging.WARNING):
        status, body, retry_after = await post(hub, *refused)
    assert status == 507, body
    assert body["title"] == "Insufficient storage" and "store is full" in body["description"]
    assert int(retry_after) > 0
    assert not [r for r in caplog.records if r.exc_info], "a refusal is a line in the log, not a traceback"
    assert await status_of(hub, stored["id"]) == 200  # reads go on
    limit.config_set("maxmemory", 0)
    for obj in refused:  # nothing of the refused bundle was written
        assert await status_of(hub, obj["id"]) == 404
    status, body, _ = await post(hub, *refused)  # and once there is room, the same bundle goes in whole
    assert status in (200, 201) and len(body["accepted"]) == 3
    async with hub.client.get("/api/v1/health") as response:  # the audit writer waited, it did not die
        assert response.status == 200 and (await response.json())["status"] == "ok"


async def test_a_full_store_refuses_a_taxii_add_in_taxii_terms(hub_factory: HubFactory, limit: redis.Redis) -> None:
    hub = await hub_factory()
    fill(limit)
    async with hub.client.post(
        collection_path("sector.finance") + "objects/",
        data=orjson.dumps(envelope(indicator())),
        headers=taxii_headers(hub, "banxico", **{"Content-Type": TAXII_MEDIA_TYPE}),
    ) as response:
        assert response.status == 507
        assert response.headers["Content-Type"] == TAXII_MEDIA_TYPE
        body = await response.json()
    assert body["http_status"] == "507" and "store is full" in body["description"]
