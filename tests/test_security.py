"""Hostile and careless clients: throttling, revocation, connection and subscription floods, CORS."""

from __future__ import annotations

import asyncio

import orjson

from hub import keys
from hub.store import TokenStore, connect
from hub.throttle import FailureThrottle
from hub.tokens import split_token
from tests.conftest import Hub, HubFactory
from tests.stixgen import indicator
from tests.stream.clients import Ws, open_ws, post
from tests.timing import LONG_WAIT, WAIT


def test_the_throttle_opens_again_when_failures_leave_the_window() -> None:
    throttle = FailureThrottle(limit=3, window=10.0)
    for t in (0.0, 1.0, 2.0):
        assert throttle.retry_after("a", t) is None
        throttle.failed("a", t)
    assert throttle.retry_after("a", 2.5) == 7.5
    assert throttle.retry_after("b", 2.5) is None  # per source
    assert throttle.retry_after("a", 10.5) is None


def test_the_throttle_forgets_the_oldest_sources_past_its_bound() -> None:
    throttle = FailureThrottle(limit=1, window=60.0, max_sources=2)
    for source in ("a", "b", "c"):
        throttle.failed(source, 0.0)
    assert throttle.retry_after("a", 1.0) is None and throttle.retry_after("c", 1.0) is not None


async def test_repeated_bad_tokens_get_429_even_for_a_good_token_then(hub_factory: HubFactory) -> None:
    hub = await hub_factory(auth_failures_per_minute=5)
    bad = {"Authorization": "Bearer chub_000000000000_" + "b" * 43}
    for _ in range(5):
        async with hub.client.get("/api/v1/me", headers=bad) as response:
            assert response.status == 401
    async with hub.client.get("/api/v1/me", headers=hub.auth("cidge")) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
        assert (await response.json())["http_status"] == "429"
    async with hub.client.get("/api/v1/health") as response:  # no credentials, nothing to throttle
        assert response.status == 200


async def test_bad_auth_messages_on_the_stream_count_too(hub_factory: HubFactory) -> None:
    hub = await hub_factory(auth_failures_per_minute=2)
    for _ in range(2):
        ws = await open_ws(hub, None)
        await ws.send(op="auth", token="chub_000000000000_" + "c" * 43)
        assert (await ws.until("error"))["code"] == "unauthorized"
    ws = await open_ws(hub, None)
    await ws.send(op="auth", token=hub.tokens["cidge"])
    error = await ws.until("error")
    assert error["code"] == "unauthorized" and "too many" in error["message"]


async def test_revoking_a_token_closes_its_open_streams_within_seconds(hub_factory: HubFactory) -> None:
    hub = await hub_factory(stream_token_recheck=0.2)
    token = await hub.token("sspc")
    raw = await hub.client.ws_connect("/api/v1/stream", headers={"Authorization": f"Bearer {token}"})
    ws = Ws(raw)
    await ws.until("welcome")
    await ws.subscribe("committee")
    parts = split_token(token)
    assert parts is not None
    client = connect(hub.redis_url)
    await TokenStore(client, hub.namespace).revoke(parts[0])
    await client.aclose()
    error = await ws.until("error", timeout=WAIT)
    assert error["code"] == "unauthorized" and "revoked" in error["message"]
    assert (await ws.until("_closed"))["code"] == 1008


async def test_streams_per_stakeholder_are_bounded(hub_factory: HubFactory) -> None:
    hub = await hub_factory(stream_connections_per_stakeholder=2)
    first, second = await open_ws(hub, "pemex"), await open_ws(hub, "pemex")
    third = Ws(await hub.client.ws_connect("/api/v1/stream", headers=hub.auth("pemex")))
    error = await third.until("error")
    assert error["code"] == "too-many-connections"
    assert (await third.until("_closed"))["code"] == 1008
    await first.ws.close()
    async with asyncio.timeout(WAIT):
        while sum(1 for c in hub.client.app[keys.DISPATCHER].connections if c.principal.id == "pemex") > 1:
            await asyncio.sleep(0.02)
    await open_ws(hub, "pemex")  # room again
    await open_ws(hub, "cfe")  # another stakeholder was never limited
    del second


async def test_a_subscription_flood_costs_one_replay_and_delivers_each_event_once(hub: Hub) -> None:
    await post(hub, "pemex", "sector.energy", *[indicator() for _ in range(50)])
    ws = await open_ws(hub, "cfe")
    subscribe = orjson.dumps({"op": "subscribe", "channels": ["sector.energy"], "since": {"sector.energy": "0"}})
    for _ in range(200):
        await ws.ws.send_str(subscribe.decode())
    marker = indicator()
    await post(hub, "pemex", "sector.energy", marker)
    events = await ws.events_until(marker["id"], timeout=LONG_WAIT)
    after_last_subscribe = events[-51:]  # the last replay (50) then the marker, live, once
    ids = [e["object"]["id"] for e in after_last_subscribe]
    assert len(ids) == len(set(ids)) and ids[-1] == marker["id"]
    await ws.send(op="ping")
    await ws.until("pong")


async def test_cors_is_closed_by_default(hub: Hub) -> None:
    origin = {"Origin": "https://evil.example"}
    async with hub.client.get("/api/v1/health", headers=origin) as response:
        assert "Access-Control-Allow-Origin" not in response.headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    async with hub.client.options("/api/v1/channels/committee/objects", headers=preflight) as response:
        assert response.status >= 400 and "Access-Control-Allow-Origin" not in response.headers
