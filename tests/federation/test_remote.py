"""Connectors outside the hub: the same pull and push, through the hub's HTTP API with a token."""

from __future__ import annotations

import orjson

from connectors.client import HubClient
from hub.federation.endpoints import HubSink, HubSource
from hub.federation.partner import PartnerConnection
from hub.federation.pull import TaxiiPull
from hub.federation.push import TaxiiPush
from hub.store import connect
from hub.store.connectors import ConnectorState, ConnectorStatus
from hub.tlp import TLP
from tests.conftest import Hub
from tests.federation.conftest import PASSWORD_ENV, spec
from tests.federation.test_taxii_push import TOKEN_ENV, partner_objects
from tests.stixgen import bundle, indicator
from tests.taxii.helpers import blocking, collection, collection_url, envelope


async def state(hub: Hub, name: str) -> ConnectorState:
    """The connector's state in the hub's Redis, with its lease held (as `connector run` has it)."""
    found = ConnectorState(connect(hub.redis_url), hub.namespace, name)
    assert await found.acquire(30)
    return found


async def test_a_push_outside_the_hub_reads_the_channel_as_its_token_and_sends_only_what_may_leave(hub: Hub) -> None:
    green, red, amber = indicator(TLP.GREEN), indicator(TLP.RED), indicator(TLP.AMBER)
    headers = {**hub.auth("sspc"), "Content-Type": "application/stix+json;version=2.1"}
    async with hub.client.post(
        "/api/v1/channels/committee/objects", data=orjson.dumps(bundle(green, red, amber)), headers=headers
    ) as response:
        assert response.status == 201
    connector = spec("to-partner", "taxii-push", collection_url(hub, "partners"), "committee", token_env=TOKEN_ENV)
    async with HubClient(str(hub.client.make_url("")), hub.tokens["cidge"]) as client:
        status = ConnectorStatus(connector.name, connector.kind, connector.channel, connector.url)
        partner = PartnerConnection(connector, {TOKEN_ENV: hub.tokens["partner-cert"]})
        push = TaxiiPush(partner, HubSource(client, "committee"), await state(hub, "to-partner"), status)
        assert await push.forward() == 1
        assert await push.forward() == 0
        await push.state.redis.aclose()
    assert [o["id"] for o in await partner_objects(hub)] == [green["id"]]
    assert (status.moved, status.withheld) == (1, 2)


async def test_a_pull_outside_the_hub_marks_unmarked_objects_with_assume_tlp(hub: Hub) -> None:
    unmarked = indicator()
    await blocking(lambda: collection(hub, "partner-cert", "partners").add_objects(envelope(unmarked)))
    connector = spec(
        "feed", "taxii-pull", collection_url(hub, "partners"), "sector.energy",
        username="partner-cert", password_env=PASSWORD_ENV, stakeholder="cert-mx", assume_tlp=TLP.GREEN,
    )  # fmt: skip
    async with HubClient(str(hub.client.make_url("")), hub.tokens["cert-mx"]) as client:
        sink = HubSink(client, hub.config.channels["sector.energy"], TLP.GREEN)  # the channel's default is AMBER
        status = ConnectorStatus(connector.name, connector.kind, connector.channel, connector.url)
        partner = PartnerConnection(connector, {PASSWORD_ENV: hub.tokens["partner-cert"]})
        pull = TaxiiPull(partner, sink, await state(hub, "feed"), status)
        report = await pull.poll()
        await pull.state.redis.aclose()
        events = (await client.events("sector.energy"))["events"]
    assert report.accepted == 1 and [e["tlp"] for e in events] == ["green"]
    assert events[0]["object"]["object_marking_refs"] == [TLP.GREEN.marking_id]
