"""Fixtures of the connector tests: a second hub's store (the side a connector works for) and connector specs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from hub.config import Config, ConnectorConfig
from hub.events import Event
from hub.federation.endpoints import StoreSink, StoreSource
from hub.federation.partner import PartnerConnection
from hub.federation.pull import TaxiiPull
from hub.federation.push import TaxiiPush
from hub.store import Store, connect
from hub.store.connectors import ConnectorState, ConnectorStatus

PASSWORD_ENV = "TEST_PARTNER_PASSWORD"


@dataclass
class Local:
    """The hub a connector works for, as its store: pulled objects land here, pushed events come from here."""

    store: Store
    config: Config
    namespace: str

    async def events(self, channel: str) -> list[Event]:
        return await self.store.read(channel, "0-0", 100_000)

    async def stix_ids(self, channel: str) -> list[str]:
        return [e.stix_id for e in await self.events(channel)]

    async def state(self, name: str, ttl: float = 30.0) -> ConnectorState:
        """A connector state holding its lease (checkpoints are written by the lease holder only)."""
        state = ConnectorState(self.store.redis, self.namespace, name)
        assert await state.acquire(ttl)
        return state

    async def pull(self, spec: ConnectorConfig, env: dict[str, str]) -> TaxiiPull:
        """A pull connector into this store, as its runner inside a hub would build it."""
        channel = self.config.channels[spec.channel]
        principal = self.config.principals[spec.stakeholder or ""]
        sink = StoreSink(self.store, self.config.principals, principal, channel, spec.assume_tlp or channel.default_tlp)
        status = ConnectorStatus(spec.name, spec.kind, spec.channel, spec.url)
        return TaxiiPull(PartnerConnection(spec, env), sink, await self.state(spec.name), status)

    async def push(self, spec: ConnectorConfig, env: dict[str, str]) -> TaxiiPush:
        status = ConnectorStatus(spec.name, spec.kind, spec.channel, spec.url)
        reader = self.config.principals[spec.stakeholder] if spec.stakeholder is not None else None
        source = StoreSource(self.store, spec.channel, reader)
        return TaxiiPush(PartnerConnection(spec, env), source, await self.state(spec.name), status)


@pytest.fixture
async def local(redis_url: str, config: Config) -> AsyncIterator[Local]:
    namespace = f"test-local-{uuid.uuid4().hex[:12]}"
    client = connect(redis_url)
    yield Local(Store(client, namespace), config, namespace)
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def spec(name: str, kind: str, url: str, channel: str, **settings: Any) -> ConnectorConfig:
    """A connector's config, as parsed from ``[[connectors]]``."""
    return ConnectorConfig(name=name, kind=kind, url=url, channel=channel, **settings)
