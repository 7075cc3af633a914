"""How full Redis is, and whether it would evict: read from the server, cheaply, for the monitor and the start-up check.

:meth:`Capacity.memory` reads ``INFO memory`` (one round trip; one per
primary on a Redis Cluster, where the fullest primary speaks for the store: a
full shard refuses the writes of its channels). :meth:`Capacity.refused`
counts the writes of this process's ingest path that Redis refused, by reason.
:meth:`Capacity.eviction_policy` reads ``maxmemory-policy``; a managed Redis
may rename or forbid ``CONFIG``, and that is an answer too (None). What the
readings mean is :mod:`hub.capacity`'s to say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions
from redis.asyncio.cluster import RedisCluster

from hub.capacity import REFUSALS, Memory
from hub.errors import StoreUnavailable
from hub.store.client import Client, guard, refusal


class Capacity:
    """The memory of one store's Redis (see :attr:`hub.store.Store.capacity`)."""

    def __init__(self, client: Client) -> None:
        self.redis = client
        self.refused_last_write = False
        """Whether this process's last write was refused for memory (see :meth:`writing`)."""
        self.refusals: Counter[str] = Counter(dict.fromkeys(REFUSALS.values(), 0))
        """This process's writes Redis refused, by reason (:data:`hub.capacity.REFUSALS`)."""

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """:func:`guard` around a write of the ingest path (an owner's claim, an append), noting its outcome.

        A refusal is counted by reason; the last write refused for memory makes the store read as full
        until a write goes in.
        """
        try:
            async with guard():
                yield
        except StoreUnavailable as exc:
            reason = refusal(exc)
            if reason is not None:
                self.refusals[reason] += 1
            self.refused_last_write = reason == "out_of_memory"
            raise
        self.refused_last_write = False

    async def memory(self) -> Memory | None:
        """Used bytes and the limit; None where the server forbids ``INFO``."""
        try:
            async with guard():
                if isinstance(self.redis, RedisCluster):
                    await self.redis.initialize()  # the client learns its nodes at its first command: maybe not yet
                    readings = [await self._node_memory(node) for node in self.redis.get_primaries()]
                    return _fullest(readings)
                return _reading(await self.redis.info("memory"))
        except redis.exceptions.ResponseError:
            return None  # INFO renamed or not allowed to this user (NOPERM is a ResponseError too)

    async def _node_memory(self, node: Any) -> Memory:
        return _reading(await self.redis.info("memory", target_nodes=node))

    async def eviction_policy(self) -> str | None:
        """Redis's ``maxmemory-policy`` (on a cluster, the first primary's that is not ``noeviction``).

        None where ``CONFIG`` is renamed or forbidden, as managed services do.
        """
        try:
            async with guard():
                if isinstance(self.redis, RedisCluster):
                    await self.redis.initialize()
                    policies = [
                        _policy(await self.redis.config_get("maxmemory-policy", target_nodes=node))
                        for node in self.redis.get_primaries()
                    ]
                    return next((p for p in policies if p != "noeviction"), policies[0] if policies else None)
                return _policy(await self.redis.config_get("maxmemory-policy"))
        except redis.exceptions.ResponseError:
            return None


def _reading(memory: Mapping[str, Any]) -> Memory:
    return Memory(int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0)))


def _policy(reply: Mapping[Any, Any]) -> str | None:
    for key, value in reply.items():
        text = key.decode() if isinstance(key, bytes) else str(key)
        if text == "maxmemory-policy":
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def _fullest(readings: list[Memory]) -> Memory | None:
    """The reading of the primary nearest its limit."""
    return max(readings, key=lambda m: (m.share or 0.0, m.used)) if readings else None
