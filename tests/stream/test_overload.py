"""Under overload the hub slows its producers, not its watchers: real sockets, real Redis, one or two hubs."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from hub import keys
from tests.conftest import Hub, HubFactory
from tests.stixgen import bundle, indicator
from tests.stream.clients import STIX, RawWs
from tests.timing import LONG_WAIT, WAIT

# A queue of 20 messages; producers are refused (not held) from 2 queued at the median stream.
OVERLOADABLE = {"stream_queue": 20, "ingest_hold_seconds": 0, "ingest_hold_fill": 0.1}
BIG = "x" * 200_000  # 12 MB in all below: more than the loopback socket buffers hold for a slow reader


class SlowReader:
    """A stream client on a slow link: a small receive window, one message every ``pause`` seconds.

    It reads all along, only slower than the producer posts; it records what it received and any error.
    """

    def __init__(self, ws: RawWs, pause: float) -> None:
        self.ws, self.pause = ws, pause
        self.received: list[str] = []
        self.errors: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, hub: Hub, who: str, pause: float = 0.1) -> SlowReader:
        ws = await RawWs.open(hub, who, window=16 * 1024)
        await ws.send(op="subscribe", channels=["committee"], since={})
        await ws.until("subscribed")
        return cls(ws, pause)

    async def read(self, count: int) -> None:
        while len(self.received) < count:
            message = await self.ws.recv()
            if message["op"] in ("error", "_closed"):
                self.errors.append(message)
                return
            if message["op"] == "event":
                self.received.append(message["event"]["object"]["id"])
            await asyncio.sleep(self.pause)


async def post_until_accepted(hub: Hub, objects: list[dict[str, Any]]) -> list[tuple[str | None, dict[str, Any]]]:
    """POST ``objects`` as one bundle until it is taken; every refusal's ``Retry-After`` and body.

    First a pause: ten times faster than the slow reader reads, yet slow enough for the hub to measure
    its streams between two posts (a burst faster than that is what a queue's slack is for).
    """
    await asyncio.sleep(0.05)
    refusals: list[tuple[str | None, dict[str, Any]]] = []
    body = orjson.dumps(bundle(*objects))
    async with asyncio.timeout(LONG_WAIT):
        while True:
            async with hub.client.post(
                "/api/v1/channels/committee/objects", data=body, headers={**STIX, **hub.auth("cidge")}
            ) as response:
                if response.status != 503:
                    assert response.status == 201, await response.text()
                    return refusals
                refusals.append((response.headers.get("Retry-After"), await response.json()))
            await asyncio.sleep(0.05)  # sooner than Retry-After says: the test need not wait a whole second


async def produce(producer: Hub, reader: SlowReader) -> list[tuple[str | None, dict[str, Any]]]:
    """Post 60 big objects in bundles of 5 while ``reader`` reads; check it got each once, in order; the refusals."""
    objects = [indicator(description=BIG) for _ in range(60)]
    reading = asyncio.create_task(reader.read(len(objects)))
    refusals = []
    for start in range(0, len(objects), 5):
        refusals += await post_until_accepted(producer, objects[start : start + 5])
    async with asyncio.timeout(LONG_WAIT):
        await reading
    # The reader, slower than the producer all along, was never cut off and got every object, in order.
    assert reader.errors == []
    assert reader.received == [o["id"] for o in objects]
    return refusals


def cut_off(hub: Hub) -> float | None:
    """Streams the hub cut off as slow consumers (its metric)."""
    value: float | None = hub.client.app[keys.METRICS].registry.get_sample_value("chub_stream_slow_consumers_total")
    return value


async def test_an_overloaded_hub_refuses_producers_rather_than_cutting_a_reading_stream(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(**OVERLOADABLE)
    refusals = await produce(hub, await SlowReader.open(hub, "sspc"))
    assert cut_off(hub) == 0
    # The producer was refused instead, with a time to come back and a reason.
    assert refusals, "the producer was never held back"
    assert {retry for retry, _ in refusals} == {"1"}
    assert refusals[0][1]["title"] == "Service unavailable" and "behind" in refusals[0][1]["description"]
    await hub.client.app[keys.AUDIT].flush()
    records = [orjson.loads(body) for _, body, _, _ in await hub.client.app[keys.AUDIT].entries()]
    refused = [r for r in records if r["action"] == "write.refused"]
    assert len(refused) == len(refusals)
    assert refused[0] | {"t": 0} == {
        "t": 0, "action": "write.refused", "actor": "cidge", "via": "api", "channel": "committee",
        "reason": "overloaded",
    }  # fmt: skip


async def test_a_stalled_stream_alone_is_cut_while_a_reading_one_holds_the_producers(hub_factory: HubFactory) -> None:
    hub = await hub_factory(**OVERLOADABLE)
    stalled = await RawWs.open(hub, "cnpc", window=16 * 1024)
    await stalled.send(op="subscribe", channels=["committee"], since={})
    await stalled.until("subscribed")
    await produce(hub, await SlowReader.open(hub, "sspc", pause=0.02))
    # The stream that stopped reading is cut off once it has taken nothing for STALL_SECONDS, though
    # nothing more is sent to it...
    [conn] = [c for c in hub.client.app[keys.DISPATCHER].connections if c.principal.id == "cnpc"]
    async with asyncio.timeout(LONG_WAIT):
        while not conn.overflowed:
            await asyncio.sleep(0.05)
    # ...and told it fell behind when it reads again.
    error = await stalled.until("error", timeout=LONG_WAIT)
    assert error["code"] == "slow-consumer"
    assert cut_off(hub) == 1
    stalled.close()


async def test_a_lone_stalled_stream_holds_the_producers_back_only_until_it_is_cut(hub_factory: HubFactory) -> None:
    hub = await hub_factory(**OVERLOADABLE)
    stalled = await RawWs.open(hub, "cnpc", window=16 * 1024)
    await stalled.send(op="subscribe", channels=["committee"], since={})
    await stalled.until("subscribed")
    # Its only watcher stops reading: the hub holds its producer while that may be a busy moment, then cuts
    # the stream that has taken nothing for STALL_SECONDS, and takes everything.
    for _bundle in range(12):
        await post_until_accepted(hub, [indicator(description=BIG) for _ in range(5)])
    assert cut_off(hub) == 1
    stalled.close()


async def test_a_producer_of_one_process_waits_for_the_streams_of_another(hub_factory: HubFactory) -> None:
    a = await hub_factory(**OVERLOADABLE)
    b = await hub_factory(**OVERLOADABLE)
    refusals = await produce(a, await SlowReader.open(b, "sspc"))
    assert refusals, "the producer on the other process was never held back"
    assert cut_off(b) == 0


async def test_the_pressure_and_held_producers_are_in_the_metrics(hub: Hub) -> None:
    async with asyncio.timeout(WAIT):
        async with hub.client.get("/metrics", headers=hub.auth("cidge")) as response:
            text = await response.text()
    lines = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line.startswith(("chub_ingest", "chub_producers"))
    )
    assert float(lines["chub_ingest_pressure"]) == 0.0
    assert float(lines["chub_ingest_held"]) == 0.0
    assert float(lines["chub_producers_refused_total"]) == 0.0
