"""The live stream over real WebSockets, real Redis, one or two hub instances."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from hub import keys
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.stixgen import indicator
from tests.stream.clients import STIX, RawWs, open_ws, post
from tests.timing import LONG_WAIT, STARTUP, WAIT


async def test_live_delivery_follows_role_and_tlp_for_every_level(hub: Hub) -> None:
    watchers = {who: await open_ws(hub, who) for who in ("cidge", "cert-mx", "banxico")}
    for ws in watchers.values():
        await ws.subscribe("sector.finance")
    marked = {tlp: indicator(tlp) for tlp in TLP}
    marker = indicator(TLP.CLEAR)
    await post(hub, "cert-mx", "sector.finance", *marked.values(), marker)
    ceilings = {"cidge": TLP.RED, "cert-mx": TLP.RED, "banxico": TLP.AMBER_STRICT}
    for who, ws in watchers.items():
        got = [e["object"]["id"] for e in await ws.events_until(marker["id"])]
        expected = [o["id"] for tlp, o in marked.items() if tlp <= ceilings[who]] + [marker["id"]]
        assert got == expected, who


async def test_subscribing_to_an_unreadable_or_unknown_channel_is_an_error_naming_it(hub: Hub) -> None:
    ws = await open_ws(hub, "banxico")
    await ws.send(op="subscribe", channels=["sector.energy", "nowhere", "sector.finance"])
    forbidden = await ws.until("error", channel="sector.energy")
    assert forbidden["code"] == "forbidden"
    unknown = await ws.until("error", channel="nowhere")
    assert unknown["code"] == "unknown-channel"
    await ws.until("subscribed", channel="sector.finance")


async def test_observer_on_public_never_sees_amber(hub: Hub) -> None:
    ws = await open_ws(hub, "observer")
    await ws.subscribe("public")
    clear = indicator(TLP.CLEAR)
    await post(hub, "cidge", "public", clear)
    [event] = await ws.events_until(clear["id"])
    assert event["tlp"] == "clear"
    # public accepts nothing above CLEAR, so AMBER cannot even be posted there
    async with hub.client.post(
        "/api/v1/channels/public/objects",
        data=orjson.dumps(indicator(TLP.AMBER)),
        headers={**STIX, **hub.auth("cidge")},
    ) as response:
        assert response.status == 400


async def test_resume_with_since_replays_then_goes_live_without_gap_or_duplicate(hub: Hub) -> None:
    first = [indicator() for _ in range(5)]
    answer = await post(hub, "pemex", "sector.energy", *first)
    since = answer["accepted"][1]["event_id"]
    ws = await open_ws(hub, "cfe")
    await ws.send(op="subscribe", channels=["sector.energy"], since={"sector.energy": since})
    replayed = [(await ws.until("event"))["event"]["object"]["id"] for _ in range(3)]
    assert replayed == [o["id"] for o in first[2:]]
    subscribed = await ws.until("subscribed", channel="sector.energy")
    assert subscribed["resumed_from"] == since and subscribed["replayed"] == 3
    live = indicator()
    await post(hub, "pemex", "sector.energy", live)
    assert [e["object"]["id"] for e in await ws.events_until(live["id"])] == [live["id"]]


async def test_events_posted_during_a_replay_arrive_exactly_once(hub: Hub) -> None:
    """The replay/live seam: a producer keeps pushing while a big replay runs."""
    await post(hub, "pemex", "sector.energy", *[indicator() for _ in range(400)])
    ws = await open_ws(hub, "cfe")
    await ws.send(op="subscribe", channels=["sector.energy"], since={"sector.energy": "0"})

    async def produce() -> list[str]:
        ids = []
        for _ in range(10):
            batch = [indicator() for _ in range(5)]
            await post(hub, "pemex", "sector.energy", *batch)
            ids += [o["id"] for o in batch]
        return ids

    producer = asyncio.create_task(produce())
    posted_live = await producer
    marker = indicator()
    await post(hub, "pemex", "sector.energy", marker)
    got = [e["object"]["id"] for e in await ws.events_until(marker["id"], timeout=LONG_WAIT)]
    assert len(got) == len(set(got)) == 400 + len(posted_live) + 1
    assert got[400:-1] == posted_live


async def test_a_dropped_client_resumes_while_the_producer_keeps_pushing(hub: Hub) -> None:
    """Forced disconnects mid-stream: the client class counts every event exactly once, in order."""
    from connectors.stream import StreamClient

    client = StreamClient(str(hub.client.make_url("")), hub.tokens["cert-mx"], ["sector.finance"])
    posted: list[str] = []
    received: list[str] = []
    done = asyncio.Event()

    async def consume() -> None:
        async for event in client.events():
            received.append(event["object"]["id"])
            if len(received) == 60:
                done.set()
                return

    async def produce() -> None:
        for i in range(12):
            batch = [indicator(TLP.GREEN) for _ in range(5)]
            await post(hub, "banxico", "sector.finance", *batch)
            posted.extend(o["id"] for o in batch)
            if i in (3, 7):  # cut the client's connection from the server side, once it has one again
                dispatcher = hub.client.app[keys.DISPATCHER]
                async with asyncio.timeout(WAIT):
                    while not dispatcher.connections:
                        await asyncio.sleep(0.01)
                for conn in list(dispatcher.connections):
                    await conn.ws.close(code=1011)
            await asyncio.sleep(0.05)

    consumer = asyncio.create_task(consume())
    while not hub.client.app[keys.DISPATCHER].connections:
        await asyncio.sleep(0.01)
    await produce()
    await asyncio.wait_for(done.wait(), WAIT)
    await consumer
    assert received == posted
    assert client.connections >= 3


async def test_two_hub_processes_on_one_redis_deliver_to_each_others_clients(hub_factory: HubFactory) -> None:
    a, b = await hub_factory(), await hub_factory()
    on_a, on_b = await open_ws(a, "sspc"), await open_ws(b, "cnpc")
    await on_a.subscribe("committee")
    await on_b.subscribe("committee")
    from_a, from_b = indicator(), indicator()
    await post(a, "cidge", "committee", from_a)
    await post(b, "sedena", "committee", from_b)
    for ws in (on_a, on_b):
        got = [e["object"]["id"] for e in await ws.events_until(from_b["id"])]
        assert got == [from_a["id"], from_b["id"]]


async def test_a_stalled_client_is_cut_off_and_does_not_delay_a_healthy_one(hub_factory: HubFactory) -> None:
    hub = await hub_factory(stream_queue=20)
    stalled = await RawWs.open(hub, "cidge")
    await stalled.send(op="subscribe", channels=["committee"], since={})
    await stalled.until("subscribed")
    healthy = await open_ws(hub, "sspc")
    await healthy.subscribe("committee")
    # From here the stalled client reads nothing, so the socket's buffers fill up.
    big = "x" * 100_000  # 20 MB in all: more than the loopback socket buffers hold
    objects = [indicator(description=big) for _ in range(200)]
    reading = asyncio.create_task(healthy.events_until(objects[-1]["id"], timeout=STARTUP))
    for start in range(0, 200, 20):
        await post(hub, "cidge", "committee", *objects[start : start + 20])
    got = await reading
    assert [e["object"]["id"] for e in got] == [o["id"] for o in objects]
    dispatcher = hub.client.app[keys.DISPATCHER]
    [conn] = [c for c in dispatcher.connections if c.principal.id == "cidge"]
    async with asyncio.timeout(WAIT):
        while not conn.overflowed:
            await asyncio.sleep(0.05)
    # It reads again: past what was written before it fell behind, it is told where to resume and closed.
    error = await stalled.until("error", timeout=LONG_WAIT)
    assert error["code"] == "slow-consumer" and "committee" in error["resume"]
    assert (await stalled.until("_closed"))["code"] == 1013
    stalled.close()
    async with asyncio.timeout(WAIT):
        while conn in dispatcher.connections:
            await asyncio.sleep(0.05)


async def test_resuming_from_before_retained_history_is_told_of_the_gap(hub: Hub) -> None:
    answer = await post(hub, "pemex", "sector.energy", *[indicator() for _ in range(10)])
    ids = [a["event_id"] for a in answer["accepted"]]
    removed = await hub.client.app[keys.STORE].trim("sector.energy", max_events=4)
    assert removed == 6
    ws = await open_ws(hub, "cfe")
    await ws.send(op="subscribe", channels=["sector.energy"], since={"sector.energy": ids[2]})
    gap = await ws.until("gap")
    assert gap == {"op": "gap", "channel": "sector.energy", "requested": ids[2], "oldest": ids[6]}
    subscribed = await ws.until("subscribed")
    assert subscribed["replayed"] == 4
    # resuming from within the retained history is no gap
    ws2 = await open_ws(hub, "cfe")
    await ws2.send(op="subscribe", channels=["sector.energy"], since={"sector.energy": ids[5]})
    first = await ws2.recv()
    assert first["op"] == "event" and first["event"]["id"] == ids[6]


async def test_browser_style_auth_message(hub: Hub) -> None:
    ws = await open_ws(hub, None)
    await ws.send(op="auth", token=hub.tokens["sedena"])
    assert (await ws.until("welcome"))["stakeholder"] == "sedena"
    await ws.send(op="ping")
    await ws.until("pong")


async def test_no_auth_within_the_deadline_is_refused_and_closed(hub_factory: HubFactory) -> None:
    hub = await hub_factory(stream_auth_timeout=0.3)
    ws = await open_ws(hub, None)
    error = await ws.until("error")
    assert error["code"] == "unauthorized"
    closed = await ws.until("_closed")
    assert closed["code"] == 1008


async def test_a_bad_token_in_the_auth_message_is_refused(hub: Hub) -> None:
    ws = await open_ws(hub, None)
    await ws.send(op="auth", token="chub_000000000000_" + "a" * 43)
    assert (await ws.until("error"))["code"] == "unauthorized"
    assert (await ws.until("_closed"))["code"] == 1008


async def test_a_bad_header_token_is_an_http_401_before_the_upgrade(hub: Hub) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await hub.client.ws_connect("/api/v1/stream", headers={"Authorization": "Bearer nope"})
    assert caught.value.status == 401


async def test_taxii_only_partner_may_not_stream(hub: Hub) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await hub.client.ws_connect("/api/v1/stream", headers=hub.auth("partner-cert"))
    assert caught.value.status == 403


async def test_bad_messages_get_errors_and_the_connection_stays_usable(hub: Hub) -> None:
    ws = await open_ws(hub, "cidge")
    await ws.ws.send_str("{nope")
    assert (await ws.until("error"))["code"] == "bad-message"
    await ws.ws.send_bytes(b"\x00")
    assert (await ws.until("error"))["code"] == "bad-message"
    await ws.subscribe("committee")


async def test_unsubscribe_stops_delivery(hub: Hub) -> None:
    ws = await open_ws(hub, "cidge")
    await ws.subscribe("committee", "public")
    await ws.send(op="unsubscribe", channels=["committee"])
    await ws.until("unsubscribed", channel="committee")
    hidden, shown = indicator(), indicator(TLP.CLEAR)
    await post(hub, "cidge", "committee", hidden)
    await post(hub, "cidge", "public", shown)
    assert [e["object"]["id"] for e in await ws.events_until(shown["id"])] == [shown["id"]]


async def test_heartbeats_arrive(hub_factory: HubFactory) -> None:
    hub = await hub_factory(stream_heartbeat=0.1)
    ws = await open_ws(hub, "cidge")
    await ws.until("heartbeat", timeout=WAIT)


async def test_admins_see_connections_with_their_progress(hub: Hub) -> None:
    ws = await open_ws(hub, "banxico")
    await ws.subscribe("sector.finance")
    obj = indicator()
    answer = await post(hub, "banxico", "sector.finance", obj)
    await ws.events_until(obj["id"])
    async with hub.client.get("/api/v1/admin/connections", headers=hub.auth("cidge")) as response:
        assert response.status == 200
        listing = await response.json()
    [conn] = [c for c in listing["connections"] if c["stakeholder"] == "banxico"]
    channel = conn["channels"]["sector.finance"]
    assert channel["live"] and channel["last_delivered"] == answer["accepted"][0]["event_id"]
    assert conn["queue_depth"] == 0 and channel["lag_ms"] == 0
    async with hub.client.get("/api/v1/admin/connections", headers=hub.auth("sspc")) as response:
        assert response.status == 403


async def test_shutdown_tells_clients_to_go_away(hub_factory: HubFactory) -> None:
    hub = await hub_factory()
    ws = await open_ws(hub, "cidge")
    await ws.subscribe("committee")
    closing = asyncio.create_task(hub.client.server.close())  # the server side only: the client stays open
    assert (await ws.until("bye"))["reason"]
    assert (await ws.until("_closed"))["code"] == 1001
    await closing
