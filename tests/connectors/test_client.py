"""The client library posts again after Retry-After while the hub holds its producers back."""

from __future__ import annotations

import asyncio

import pytest

from connectors.client import HubClient, HubClientError
from hub import keys
from hub.gate import TICK
from tests.conftest import Hub, HubFactory
from tests.stixgen import indicator
from tests.timing import WAIT


async def other_process_behind(hub: Hub, for_ms: int) -> None:
    """Another hub process says, through Redis, that its live streams are far behind, for ``for_ms``."""
    await hub.client.app[keys.STORE].load.share("another-process", 9.0, for_ms)
    gate = hub.client.app[keys.GATE]
    async with asyncio.timeout(WAIT):  # this process hears of it at its next exchange
        while gate.pressure < 1:
            await asyncio.sleep(TICK)


async def test_a_post_held_back_is_sent_again_after_retry_after_and_stored_once(hub_factory: HubFactory) -> None:
    hub = await hub_factory(ingest_hold_seconds=0)
    await other_process_behind(hub, for_ms=600)
    waits: list[tuple[float, str]] = []
    objects = [indicator() for _ in range(3)]
    async with HubClient(
        str(hub.client.make_url("")), hub.tokens["cidge"], on_wait=lambda s, why: waits.append((s, why))
    ) as client:
        summary = await client.push_objects("committee", objects)
    assert [a["id"] for a in summary.accepted] == [o["id"] for o in objects]
    assert waits and waits[0][0] == 1.0 and "behind" in waits[0][1]


async def test_a_taxii_post_held_back_is_sent_again_too(hub_factory: HubFactory) -> None:
    hub = await hub_factory(ingest_hold_seconds=0)
    await other_process_behind(hub, for_ms=600)
    waits: list[tuple[float, str]] = []
    async with HubClient(
        str(hub.client.make_url("")), hub.tokens["cidge"], on_wait=lambda s, why: waits.append((s, why))
    ) as client:
        status = await client.taxii_add("committee", [indicator()])
    assert status["status"] == "complete" and status["success_count"] == 1
    assert len(waits) >= 1


async def test_past_its_patience_the_client_reports_the_hub_s_answer(hub_factory: HubFactory) -> None:
    hub = await hub_factory(ingest_hold_seconds=0)
    await other_process_behind(hub, for_ms=30_000)
    async with HubClient(str(hub.client.make_url("")), hub.tokens["cidge"], patience=0.5) as client:
        with pytest.raises(HubClientError) as refused:
            await client.push_objects("committee", [indicator()])
    assert refused.value.status == 503 and refused.value.title == "Service unavailable"
    async with hub.client.get("/api/v1/channels/committee/events", headers=hub.auth("cidge")) as response:
        assert (await response.json())["events"] == []  # nothing of the refused post was stored


async def test_a_refused_taxii_post_is_a_taxii_error_with_retry_after(hub_factory: HubFactory) -> None:
    hub = await hub_factory(ingest_hold_seconds=0)
    await other_process_behind(hub, for_ms=30_000)
    taxii = "application/taxii+json;version=2.1"
    async with hub.client.post(
        "/taxii2/api/collections/committee/objects/",
        json={"objects": [indicator()]},
        headers={"Accept": taxii, "Content-Type": taxii, **hub.auth("cidge")},
    ) as response:
        assert response.status == 503 and response.headers["Retry-After"] == "1"
        assert response.headers["Content-Type"] == taxii
        assert (await response.json())["http_status"] == "503"
