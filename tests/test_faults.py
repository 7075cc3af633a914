"""Fault injection with real processes: nothing acknowledged is lost, nothing is delivered twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import orjson
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from connectors.stream import StreamClient
from hub.app import create_app
from hub.config import Config
from hub.embedded import EmbeddedRedis, find_redis_server
from hub.errors import NotReplicated
from hub.stix import parse_submission
from hub.store import Store, TokenStore, connect
from hub.tlp import TLP
from hub.tokens import new_token
from tests.stixgen import bundle, indicator
from tests.timing import LONG_WAIT, WAIT

STIX = {"Content-Type": "application/stix+json;version=2.1"}


def when_subscribed(subscribed: asyncio.Event) -> Callable[[dict[str, Any]], None]:
    """A stream client's message handler that sets ``subscribed`` once the hub confirms a subscription."""

    def on_message(message: dict[str, Any]) -> None:
        if message["op"] == "subscribed":
            subscribed.set()

    return on_message


async def make_token(redis_url: str, stakeholder: str) -> str:
    token = new_token()
    client = connect(redis_url)
    await TokenStore(client).add(stakeholder, token)
    await client.aclose()
    return token.text


async def test_redis_killed_and_restarted_under_load_loses_and_repeats_nothing(tmp_path: Path, config: Config) -> None:
    """kill -9 of Redis while a producer pushes and a client watches.

    Producers get 503 while Redis is down, never a 2xx for something not
    stored; the hub reconnects by itself; the watcher receives every
    acknowledged event exactly once, in order.
    """
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    producer_token = await make_token(url, "banxico")
    watcher_token = await make_token(url, "cert-mx")
    hub = TestClient(TestServer(create_app(config, url), host="127.0.0.1"))
    await hub.start_server()
    acknowledged: list[str] = []
    refused: list[str] = []
    received: list[str] = []
    statuses: list[int] = []
    subscribed = asyncio.Event()
    watcher = StreamClient(
        str(hub.make_url("")),
        watcher_token,
        ["sector.finance"],
        on_message=when_subscribed(subscribed),
    )

    async def watch() -> None:
        async for event in watcher.events():
            received.append(event["object"]["id"])

    async def produce(rounds: int) -> None:
        for _ in range(rounds):
            objects = [indicator(TLP.GREEN) for _ in range(3)]
            try:
                async with hub.post(
                    "/api/v1/channels/sector.finance/objects",
                    data=orjson.dumps(bundle(*objects)),
                    headers={**STIX, "Authorization": f"Bearer {producer_token}"},
                ) as response:
                    statuses.append(response.status)
                    body: dict[str, Any] = await response.json()
                    if response.status == 201:
                        acknowledged.extend(a["id"] for a in body["accepted"])
                    else:
                        assert response.status == 503, body
                        refused.extend(o["id"] for o in objects)
            except aiohttp.ClientError:  # pragma: no cover - the hub itself stays up
                raise
            await asyncio.sleep(0.01)

    watching = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(subscribed.wait(), 20)  # live from now: every event produced next is its to see
        await produce(15)
        assert server.process is not None
        server.process.kill()  # SIGKILL: no shutdown, no final fsync
        server.process.wait()
        server.process = None
        await produce(10)
        assert 503 in statuses[15:]
        async with hub.get("/api/v1/health") as response:
            assert response.status == 503
        restarted = EmbeddedRedis(tmp_path / "redis", port=port)
        restarted.start()
        try:
            async with asyncio.timeout(LONG_WAIT):
                while True:
                    async with hub.get("/api/v1/health") as response:
                        if response.status == 200:
                            break
                    await asyncio.sleep(0.1)
            await produce(15)
            async with asyncio.timeout(LONG_WAIT):
                while not set(acknowledged) <= set(received):
                    await asyncio.sleep(0.05)
            # The history survived the kill too (AOF): everything acknowledged is in the channel.
            async with hub.get(
                "/api/v1/channels/sector.finance/events?limit=1000",
                headers={"Authorization": f"Bearer {watcher_token}"},
            ) as response:
                stored = [e["object"]["id"] for e in (await response.json())["events"]]
            assert set(acknowledged) <= set(stored)
        finally:
            watching.cancel()
            await hub.close()
            restarted.stop()
    finally:
        if not watching.done():
            watching.cancel()
    assert acknowledged, "nothing was acknowledged"
    assert len(received) == len(set(received)), "an event was delivered twice"
    assert set(acknowledged) <= set(received), "an acknowledged event was lost"
    assert set(received) <= set(acknowledged) | set(refused)
    order = [i for i in received if i in set(acknowledged)]
    assert order == acknowledged, "events arrived out of order"


def _serve(redis_url: str, namespace: str, port: int) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "CRISIS_HUB_NAMESPACE": namespace}
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--redis-url", redis_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


async def healthy(session: aiohttp.ClientSession, url: str, timeout: float = LONG_WAIT) -> None:
    """Wait until the hub at ``url`` answers its health check with 200."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                async with session.get(url + "/api/v1/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def test_a_killed_hub_process_costs_its_clients_nothing(redis_url: str, namespace: str) -> None:
    """kill -9 of the hub a watcher is connected to: it reconnects to the other process and resumes."""
    from tests.cli.test_cli import free_port

    ports = [free_port(), free_port()]
    hubs = [_serve(redis_url, namespace, port) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    client = connect(redis_url)
    producer_token, watcher_token = new_token(), new_token()
    await TokenStore(client, namespace).add("pemex", producer_token)
    await TokenStore(client, namespace).add("cfe", watcher_token)
    await client.aclose()
    acknowledged: list[str] = []
    received: list[str] = []
    subscribed = asyncio.Event()
    watcher = StreamClient(urls, watcher_token.text, ["sector.energy"], on_message=when_subscribed(subscribed))

    async def watch() -> None:
        async for event in watcher.events():
            received.append(event["object"]["id"])

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {producer_token.text}", **STIX}) as session:
        for url in urls:
            await healthy(session, url)

        async def produce(rounds: int, via: int) -> None:
            for _ in range(rounds):
                objects = [indicator() for _ in range(4)]
                async with session.post(
                    urls[via] + "/api/v1/channels/sector.energy/objects", data=orjson.dumps(bundle(*objects))
                ) as response:
                    assert response.status == 201
                    acknowledged.extend(a["id"] for a in (await response.json())["accepted"])
                await asyncio.sleep(0.01)

        watching = asyncio.create_task(watch())
        try:
            await asyncio.wait_for(subscribed.wait(), 20)  # on the first hub, before any event
            hubs[0].kill()  # SIGKILL the watcher's hub: no goodbye
            hubs[0].wait()
            await produce(10, via=1)  # the watcher has never received an event: it resumes from its position
            hubs[0] = _serve(redis_url, namespace, ports[0])
            await healthy(session, urls[0])
            async with asyncio.timeout(LONG_WAIT):
                while not set(acknowledged) <= set(received):
                    await asyncio.sleep(0.05)
            hubs[1].kill()  # now the hub the watcher moved to
            hubs[1].wait()
            await produce(10, via=0)
            async with asyncio.timeout(LONG_WAIT):
                while not set(acknowledged) <= set(received):
                    await asyncio.sleep(0.05)
        finally:
            watching.cancel()
            for process in hubs:
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=LONG_WAIT)
    assert watcher.connections >= 3
    assert received == acknowledged


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], redis.Redis]]:
    """A primary (the embedded Redis) and one replica of it: its URL, the replica's process, a client of the replica."""
    from tests.cli.test_cli import free_port

    primary = EmbeddedRedis(tmp_path / "primary")
    url = primary.start()
    port = free_port()
    folder = tmp_path / "replica"
    folder.mkdir()
    replica = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
        + ["--replicaof", "127.0.0.1", url.rsplit(":", 1)[1].split("/")[0], "--repl-diskless-sync-delay", "0"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        for _ in range(200):
            try:
                if client.info("replication").get("master_link_status") == "up":
                    break
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("the replica never synced with the primary")
        yield url, replica, client
    finally:
        client.close()
        if replica.poll() is None:
            os.kill(replica.pid, signal.SIGCONT)
            replica.terminate()
            replica.wait(WAIT)
        primary.stop()


async def test_an_append_is_acknowledged_only_once_the_replica_has_it_and_so_is_a_retry(
    replicated: tuple[str, subprocess.Popen[bytes], redis.Redis], namespace: str
) -> None:
    """``redis_wait_replicas``: no replica confirmation, no acknowledgement — for new objects and duplicates alike.

    A retry after the 503 finds the objects on the primary; it must not report
    them as stored duplicates before the replica has them either, even from a
    connection that never wrote them.
    """
    url, replica, on_replica = replicated
    client = connect(url)
    store = Store(client, namespace, wait_replicas=1, wait_ms=200)
    log = store.log_key("sector.finance")

    def items(count: int) -> Any:
        return parse_submission(orjson.dumps(bundle(*(indicator(TLP.GREEN) for _ in range(count)))), TLP.GREEN).items

    try:
        first = await store.append("sector.finance", "banxico", items(2))
        assert [a.duplicate for a in first] == [False, False]
        assert on_replica.xlen(log) == 2  # confirmed means on the replica already
        too_many = Store(client, namespace, wait_replicas=2, wait_ms=50)  # more replicas than there are
        with pytest.raises(NotReplicated):
            await too_many.append("sector.finance", "banxico", items(1))
        os.kill(replica.pid, signal.SIGSTOP)  # connected, but acknowledging nothing
        second = items(3)
        with pytest.raises(NotReplicated, match="not yet replicated; retry"):
            await store.append("sector.finance", "banxico", second)
        # The retry, on a connection that never wrote (another hub process, say), finds them stored on the
        # primary, and still answers "not replicated".
        other = connect(url)
        try:
            with pytest.raises(NotReplicated, match="not yet replicated; retry"):
                await Store(other, namespace, wait_replicas=1, wait_ms=200).append("sector.finance", "banxico", second)
        finally:
            await other.aclose()
        os.kill(replica.pid, signal.SIGCONT)
        retried = await store.append("sector.finance", "banxico", second)
        assert [a.duplicate for a in retried] == [True] * 3
        on_primary = [e.id for e in await store.read("sector.finance", "0-0", 100)]
        assert on_primary[-3:] == [a.event_id for a in retried]
        replicated_entries = cast(list[tuple[bytes, dict[bytes, bytes]]], on_replica.xrange(log))
        assert [eid.decode() for eid, _ in replicated_entries] == on_primary
    finally:
        if replica.poll() is None:
            os.kill(replica.pid, signal.SIGCONT)
        await client.aclose()
