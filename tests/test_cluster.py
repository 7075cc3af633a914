"""The hub on a real Redis Cluster: three primaries, two hub processes, channels on different shards.

Every fixture of tests/conftest.py runs here on the cluster (``redis_url`` and
``redis_cluster`` are overridden), so the hubs are the same as everywhere
else, started with ``cluster=True``. The failover test starts a cluster of
its own, with replicas, and SIGKILLs a primary.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from connectors.stream import StreamClient
from hub import keys
from hub.app import create_app
from hub.config import Config
from hub.events import id_key
from hub.store import Store, TokenStore, connect, entries
from hub.store.connectors import ConnectorState
from hub.store.upgrade import upgrade
from hub.tlp import TLP
from hub.tokens import new_token
from tests.conftest import Hub, HubFactory
from tests.rediscluster import LocalCluster, unusable_reason
from tests.stixgen import bundle, indicator
from tests.store.legacy import legacy_append
from tests.stream.clients import STIX, Ws, open_ws, post
from tests.taxii.helpers import collection_path, taxii_headers, versions_of
from tests.timing import LONG_WAIT, STARTUP, WAIT

REASON = unusable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# On three primaries that split the slots evenly, these channels' hash tags land on three different ones
# (asserted by the first test).
SPREAD = ("committee", "sector.energy", "sector.finance")
WRITER = {"committee": "cidge", "sector.energy": "pemex", "sector.finance": "banxico"}


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def redis_url(local_cluster: LocalCluster) -> str:
    return local_cluster.url


@pytest.fixture(scope="module")
def redis_cluster() -> bool:
    return True


def notifications_only(hub: Hub) -> None:
    """Make the hub's stream readers wake on live notifications alone: no more polling as a safety net.

    An event then reaches a client only if the sharded pub/sub notification of its append arrived.
    """
    dispatcher = hub.client.app[keys.DISPATCHER]
    dispatcher.poll_every(3600.0)


async def ready(hub: Hub) -> None:
    dispatcher = hub.client.app[keys.DISPATCHER]
    async with asyncio.timeout(WAIT):
        await dispatcher.listening.wait()


def node(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port)


def stored_objects(port: int, log_key: str) -> dict[str, str]:
    """The channel log at ``log_key`` as the node at ``port`` holds it: event id → STIX id."""
    shard = node(port)
    try:
        found = shard.xrange(log_key) or []
    finally:
        shard.close()
    stored = {}
    for event_id, fields in found:
        assert isinstance(event_id, bytes) and fields is not None
        stored[event_id.decode()] = entries.event(event_id.decode(), "", cast(dict[bytes, bytes], fields)).stix_id
    return stored


async def subscribe(ws: Ws, *channels: str) -> None:
    """Subscribe to ``channels``; their confirmations come in any order (each channel's own shard answers)."""
    await ws.send(op="subscribe", channels=list(channels), since={})
    pending = set(channels)
    async with asyncio.timeout(WAIT):
        while pending:
            msg = await ws.until("subscribed")
            pending.discard(msg["channel"])


async def receive(ws: Ws, count: int, timeout: float = WAIT) -> dict[str, list[str]]:
    """The next ``count`` events, as STIX ids per channel in arrival order."""
    got: dict[str, list[str]] = {}
    async with asyncio.timeout(timeout):
        for _ in range(count):
            event = (await ws.until("event"))["event"]
            got.setdefault(event["channel"], []).append(event["object"]["id"])
    return got


async def test_channels_land_on_different_shards_and_ingest_is_stored_on_each(
    hub: Hub, local_cluster: LocalCluster
) -> None:
    store = Store(connect(hub.redis_url, cluster=True), hub.namespace)
    owners = {channel: local_cluster.primary_of(store.log_key(channel)) for channel in SPREAD}
    assert len(set(owners.values())) == 3, owners
    posted = {channel: [indicator(TLP.GREEN) for _ in range(3)] for channel in SPREAD}
    for channel, objects in posted.items():
        answer = await post(hub, WRITER[channel], channel, *objects)
        assert [a["id"] for a in answer["accepted"]] == [o["id"] for o in objects]
        again = await post(hub, WRITER[channel], channel, *objects)  # the script's idempotency, on the shard
        assert [d["id"] for d in again["duplicates"]] == [o["id"] for o in objects]
    for channel, port in owners.items():
        shard = node(port)
        try:  # the channel's stream and its indexes live on its own primary
            assert shard.xlen(store.log_key(channel)) == 3
            assert shard.hlen(store.index_key(channel)) == 3
        finally:
            shard.close()
        async with hub.client.get(f"/api/v1/channels/{channel}/events", headers=hub.auth("cidge")) as response:
            assert response.status == 200
            events = (await response.json())["events"]
        assert [e["object"]["id"] for e in events] == [o["id"] for o in posted[channel]]
    await store.redis.aclose()


async def test_live_delivery_over_sharded_pubsub_reaches_clients_of_two_hub_processes(
    hub_factory: HubFactory, local_cluster: LocalCluster
) -> None:
    a, b = await hub_factory(), await hub_factory()
    watchers = {"a": await open_ws(a, "cidge"), "b": await open_ws(b, "cert-mx")}
    for ws in watchers.values():
        await subscribe(ws, *SPREAD)
    for hub in (a, b):
        await ready(hub)
        notifications_only(hub)
    # Each hub process holds a shard subscription on the primary of each channel.
    store = Store(connect(a.redis_url, cluster=True), a.namespace)
    for channel in SPREAD:
        live = store.live_channel(channel)
        shard = node(local_cluster.primary_of(live))
        try:
            assert shard.pubsub_shardnumsub(live) == [(live.encode(), 2)]
        finally:
            shard.close()
    await store.redis.aclose()
    posted: dict[str, list[str]] = {}
    for k, channel in enumerate(SPREAD):
        objects = [indicator(TLP.GREEN) for _ in range(2)]
        await post(a if k % 2 else b, WRITER[channel], channel, *objects)
        posted[channel] = [o["id"] for o in objects]
    for ws in watchers.values():
        got = await receive(ws, sum(len(ids) for ids in posted.values()))
        assert got == posted


async def test_a_client_resumes_across_shards_and_hub_processes_without_gap_or_duplicate(
    hub_factory: HubFactory,
) -> None:
    a, b = await hub_factory(), await hub_factory()
    first = await open_ws(a, "cert-mx")
    await subscribe(first, *SPREAD)
    before = {channel: [indicator(TLP.GREEN) for _ in range(3)] for channel in SPREAD}
    for channel, objects in before.items():
        await post(a, WRITER[channel], channel, *objects)
    seen: dict[str, str] = {}
    async with asyncio.timeout(WAIT):
        for _ in range(sum(len(o) for o in before.values())):
            event = (await first.until("event"))["event"]
            seen[event["channel"]] = event["id"]  # what a client keeps: the last event id per channel
    await first.ws.close()
    missed = {channel: [indicator(TLP.GREEN) for _ in range(4)] for channel in SPREAD}
    for k, channel in enumerate(SPREAD):
        for obj in missed[channel]:  # one append at a time, through both hubs
            await post(a if k % 2 else b, WRITER[channel], channel, obj)
    again = await open_ws(b, "cert-mx")
    await again.send(op="subscribe", channels=list(SPREAD), since=seen)
    replayed: dict[str, list[str]] = {}
    subscribed: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(WAIT):
        while len(subscribed) < len(SPREAD):
            msg = await again.recv()
            if msg["op"] == "event":
                replayed.setdefault(msg["event"]["channel"], []).append(msg["event"]["object"]["id"])
            elif msg["op"] == "subscribed":
                subscribed[msg["channel"]] = msg
    assert replayed == {channel: [o["id"] for o in objects] for channel, objects in missed.items()}
    assert {c: (s["resumed_from"], s["replayed"]) for c, s in subscribed.items()} == {c: (seen[c], 4) for c in SPREAD}
    live = {channel: indicator(TLP.GREEN) for channel in SPREAD}
    for channel, obj in live.items():
        await post(a, WRITER[channel], channel, obj)
    assert await receive(again, len(SPREAD)) == {channel: [obj["id"]] for channel, obj in live.items()}


async def test_live_delivery_resumes_after_the_shard_subscriptions_are_cut(
    hub: Hub, local_cluster: LocalCluster
) -> None:
    """The dispatcher looks the slots' owners up again and resubscribes; nothing is lost meanwhile."""
    ws = await open_ws(hub, "cidge")
    await subscribe(ws, *SPREAD)
    dispatcher = hub.client.app[keys.DISPATCHER]
    await ready(hub)
    for port in local_cluster.ports:
        shard = node(port)
        try:
            shard.client_kill_filter(_type="pubsub")
        finally:
            shard.close()
    during = {channel: indicator(TLP.GREEN) for channel in SPREAD}
    for channel, obj in during.items():
        await post(hub, WRITER[channel], channel, obj)
    async with asyncio.timeout(WAIT):
        while not dispatcher.listening.is_set():
            await asyncio.sleep(0.01)
    notifications_only(hub)
    after = {channel: indicator(TLP.GREEN) for channel in SPREAD}
    for channel, obj in after.items():
        await post(hub, WRITER[channel], channel, obj)
    got = await receive(ws, 2 * len(SPREAD))
    assert got == {channel: [during[channel]["id"], after[channel]["id"]] for channel in SPREAD}


async def test_taxii_reads_and_deletes_on_the_cluster(hub: Hub) -> None:
    objects = [indicator(TLP.GREEN) for _ in range(5)]
    await post(hub, "cert-mx", "sector.energy", *objects)
    path = collection_path("sector.energy") + "objects/"
    async with hub.client.get(path, headers=taxii_headers(hub, "cert-mx"), params={"limit": "3"}) as response:
        assert response.status == 200
        page = orjson.loads(await response.read())
    assert [o["id"] for o in page["objects"]] == [o["id"] for o in objects[:3]] and page["more"]
    async with hub.client.get(
        path, headers=taxii_headers(hub, "cert-mx"), params={"next": page["next"], "limit": "3"}
    ) as response:
        rest = orjson.loads(await response.read())
    assert [o["id"] for o in rest["objects"]] == [o["id"] for o in objects[3:]]
    # Deleting is one script over the stream and the channel's indexes: one shard, atomically.
    async with hub.client.delete(path + f"{objects[0]['id']}/", headers=taxii_headers(hub, "cert-mx")) as response:
        assert response.status == 200
    async with hub.client.get(path + f"{objects[0]['id']}/", headers=taxii_headers(hub, "cert-mx")) as response:
        assert response.status == 404


async def test_an_old_channel_is_upgraded_on_its_shard(hub: Hub) -> None:
    """The upgrade finds an older hub's per-object hashes on the channel's primary and moves them in one slot."""
    client = connect(hub.redis_url, cluster=True)
    try:
        store = Store(client, hub.namespace)
        obj = indicator(TLP.GREEN)
        items = versions_of(obj, "2026-11-27T10:00:00.000Z", "2026-11-27T11:00:00.000Z")
        ids = await legacy_append(client, hub.namespace, "sector.water", items)
        await client.delete(store.keys.format("sector.water"))  # as it was before this hub started
        assert await upgrade(store, ["sector.water"]) == 1
        assert await store.versions_in("sector.water", [obj["id"]]) == {
            obj["id"]: {"2026-11-27T10:00:00.000Z": ids[0], "2026-11-27T11:00:00.000Z": ids[1]}
        }
        assert await store.latest("sector.water", [obj["id"]]) == {obj["id"]: ids[1]}
        assert not await client.exists(store.keys.legacy_versions("sector.water", obj["id"]))
    finally:
        await client.aclose()


async def test_the_audit_trail_and_connector_state_keep_their_scripts_on_one_shard(hub: Hub) -> None:
    for _ in range(2):  # two batches: the second is chained onto the head the first recorded
        await post(hub, "pemex", "sector.energy", indicator())
        async with hub.client.get("/api/v1/admin/audit/verify", headers=hub.auth("cidge")) as response:
            verdict = await response.json()
    assert verdict["ok"] and verdict["entries"] >= 2, verdict
    client = connect(hub.redis_url, cluster=True)
    try:
        state = ConnectorState(client, hub.namespace, "feed", owner="me")
        assert await state.acquire(30)
        await state.save_checkpoint({"after": "1-0"})
        assert await state.load_checkpoint() == {"after": "1-0"}
        await state.release()
    finally:
        await client.aclose()


async def test_the_command_line_works_on_the_cluster(hub: Hub) -> None:
    """``--redis-cluster``: a token created by the CLI on the cluster is one the hub accepts."""
    cli = [sys.executable, "-m", "hub", "token", "create", "sspc", "--redis-url", hub.redis_url, "--redis-cluster"]
    created = await asyncio.to_thread(
        subprocess.run, [*cli, "--namespace", hub.namespace], capture_output=True, text=True, timeout=STARTUP
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    async with hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert (await response.json())["stakeholder"] == "sspc"


def wait_calls(ports: list[int]) -> dict[int, int]:
    """How many WAIT commands each node has run."""
    calls = {}
    for port in ports:
        shard = node(port)
        try:
            calls[port] = int(shard.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))
        finally:
            shard.close()
    return calls


async def test_an_append_that_too_few_replicas_confirm_is_a_503_never_an_acknowledgement(
    hub_factory: HubFactory, local_cluster: LocalCluster
) -> None:
    """``redis_wait_replicas`` above the replicas there are (none here): 503, and WAIT ran on the channel's primary.

    The objects are on the primary (the script ran), unacknowledged; a retry reports them as duplicates.
    """
    durable = await hub_factory(redis_wait_replicas=1, redis_wait_timeout_ms=50)
    plain = await hub_factory()
    client = connect(durable.redis_url, cluster=True)
    owner = local_cluster.primary_of(Store(client, durable.namespace).log_key("sector.energy"))
    await client.aclose()
    before = wait_calls(local_cluster.ports)
    objects = [indicator(TLP.GREEN) for _ in range(3)]
    async with durable.client.post(
        "/api/v1/channels/sector.energy/objects",
        data=orjson.dumps(bundle(*objects)),
        headers={**STIX, **durable.auth("pemex")},
    ) as response:
        assert response.status == 503
        answer = await response.json()
    assert "accepted" not in answer and "not yet replicated; retry" in answer["description"], answer
    after = wait_calls(local_cluster.ports)
    assert {port: after[port] - before[port] for port in after} == {
        port: 1 if port == owner else 0 for port in after
    }, f"WAIT must run on the primary of the channel ({owner}), after the script, on its connection"
    retried = await post(plain, "pemex", "sector.energy", *objects)
    assert retried["accepted"] == [] and [d["id"] for d in retried["duplicates"]] == [o["id"] for o in objects]


@pytest.fixture
def replicated_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """Three primaries with two replicas each, failing over about two seconds after a primary dies."""
    with LocalCluster(tmp_path / "cluster", replicas=2, node_timeout_ms=1000) as cluster:
        yield cluster


async def test_a_primary_killed_under_load_fails_over_and_nothing_acknowledged_is_lost_or_repeated(
    replicated_cluster: LocalCluster, config: Config
) -> None:
    """kill -9 of a channel's primary (``redis_wait_replicas = 1``) while a producer pushes and a client watches.

    The primary's replicas are paused first, so that nothing it stores from
    then on can be confirmed: those appends must get 503, never a 2xx (how
    a failover happens to look to a producer otherwise, a 503 or a request
    held until the new primary answers, depends on timing and is not the
    guarantee). Then the primary is killed and its replicas resumed: one is
    promoted and ingest resumes by itself; the producer sends again what
    was refused. The watcher receives every acknowledged event exactly once,
    in order; every acknowledged event is in the stream on the new primary,
    and every object is stored there once.
    """
    cluster, channel, namespace = replicated_cluster, "sector.finance", "failover"
    client = connect(cluster.url, cluster=True)
    producer_token, watcher_token = new_token(), new_token()
    await TokenStore(client, namespace).add("banxico", producer_token)
    await TokenStore(client, namespace).add("cert-mx", watcher_token)
    log_key = Store(client, namespace).log_key(channel)
    await client.aclose()
    settings = replace(config.hub, redis_wait_replicas=1, redis_wait_timeout_ms=500)
    app = create_app(replace(config, hub=settings), cluster.url, namespace=namespace, cluster=True)
    hub = TestClient(TestServer(app, host="127.0.0.1"))
    await hub.start_server()
    pushed: list[str] = []  # every STIX id sent
    acknowledged: dict[str, str] = {}  # event id → STIX id, in the order producers were told
    refused: list[list[dict[str, Any]]] = []
    received: list[tuple[str, str]] = []
    statuses: list[tuple[float, float, int]] = []  # sent, answered, status
    subscribed = asyncio.Event()

    def on_message(message: dict[str, Any]) -> None:
        if message["op"] == "subscribed":
            subscribed.set()

    watcher = StreamClient(str(hub.make_url("")), watcher_token.text, [channel], on_message=on_message)

    async def watch() -> None:
        async for event in watcher.events():
            received.append((event["id"], event["object"]["id"]))

    async def push(objects: list[dict[str, Any]]) -> int:
        sent = time.monotonic()
        async with hub.post(
            f"/api/v1/channels/{channel}/objects",
            data=orjson.dumps(bundle(*objects)),
            headers={**STIX, "Authorization": f"Bearer {producer_token.text}"},
        ) as response:
            body: dict[str, Any] = await response.json()
            statuses.append((sent, time.monotonic(), response.status))
            assert response.status in (200, 201, 503), body
            if response.status == 503:
                refused.append(objects)
            for answer in (*body.get("accepted", ()), *body.get("duplicates", ())):
                acknowledged[answer["event_id"]] = answer["id"]
            return response.status

    async def produce(rounds: int | None = None) -> None:
        """``rounds`` batches of new objects, one at a time; None: until ``stop`` is set."""
        done = 0
        while (done < rounds) if rounds is not None else not stop.is_set():
            objects = [indicator(TLP.GREEN) for _ in range(3)]
            pushed.extend(o["id"] for o in objects)
            await push(objects)
            await asyncio.sleep(0.01)
            done += 1

    async def until(condition: Callable[[], bool], producing: asyncio.Task[None]) -> None:
        """Wait for ``condition``; a producer that failed fails the test now, not at the timeout."""
        while not condition():
            if producing.done():
                producing.result()
                raise AssertionError("the producer stopped")
            await asyncio.sleep(0.01)

    stop = asyncio.Event()
    watching = asyncio.create_task(watch())
    producing: asyncio.Task[None] | None = None
    failed, replicas = 0, []
    try:
        await asyncio.wait_for(subscribed.wait(), WAIT)
        await produce(10)
        failed = cluster.primary_of(log_key)
        replicas = cluster.replicas_of(failed)
        assert len(replicas) == 2, (failed, replicas)
        # Both replicas hold every acknowledged event: whichever is promoted, none can be lost to the failover.
        await asyncio.to_thread(cluster.wait_replicated, failed)
        for port in replicas:
            cluster.pause(port)
        paused = time.monotonic()
        producing = asyncio.create_task(produce())
        async with asyncio.timeout(LONG_WAIT):  # an append sent now has reached the primary and been answered
            await until(lambda: any(sent > paused for sent, _, _ in statuses), producing)
        before_kill = cluster.replication(failed)  # which replicas the primary had: says who confirmed, if one did
        cluster.kill(failed)
        killed = time.monotonic()
        for port in replicas:
            cluster.resume(port)
        unconfirmable = [status for sent, answered, status in statuses if sent > paused and answered < killed]
        assert unconfirmable, "no append reached the primary while its replicas were paused"
        assert set(unconfirmable) == {503}, f"acknowledged with every replica paused: {unconfirmable}, {before_kill}"
        async with asyncio.timeout(STARTUP):  # until ingest is back by itself, then a little more
            await until(lambda: sum(1 for sent, _, s in statuses if sent > killed and s == 201) >= 10, producing)
        stop.set()
        await producing
        resumed = next(answered for sent, answered, s in statuses if sent > killed and s == 201)
        print(f"\nfailover: first 2xx {resumed - killed:.2f} s after the kill")  # shown with -s
        promoted = await asyncio.to_thread(cluster.wait_for_new_primary, log_key, failed)
        assert promoted in replicas and cluster.replicas_of(promoted), (failed, replicas, promoted)
        retry = list(refused)
        async with asyncio.timeout(STARTUP):
            while retry:  # what a producer does with a 503: the same objects again, until acknowledged
                objects = retry.pop(0)
                if await push(objects) == 503:
                    retry.append(objects)
        async with asyncio.timeout(LONG_WAIT):
            while not set(acknowledged) <= {event_id for event_id, _ in received}:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        for port in replicas:
            if port in cluster.alive():
                cluster.resume(port)
        if producing is not None:
            await asyncio.wait({producing})
        watching.cancel()
        await hub.close()
    delivered = [event_id for event_id, _ in received]
    assert len(delivered) == len(set(delivered)), "an event was delivered twice"
    assert delivered == sorted(delivered, key=id_key), "events arrived out of order"
    assert set(acknowledged) <= set(delivered), "an acknowledged event was lost"
    unacknowledged = {stix_id for event_id, stix_id in received if event_id not in acknowledged}
    assert unacknowledged <= {o["id"] for objects in refused for o in objects}
    assert set(acknowledged.values()) == set(pushed), "an object was never acknowledged"
    stored = stored_objects(promoted, log_key)
    assert {eid: stored.get(eid) for eid in acknowledged} == acknowledged, "acknowledged but not on the new primary"
    assert sorted(stored.values()) == sorted(pushed), "an object stored twice, or not at all"
