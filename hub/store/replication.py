"""Writes that wait for replicas: a command, then Redis ``WAIT``, on one connection to the key's primary.

How this works. Redis replicates asynchronously: a primary answers a write
before its replicas have it, so a primary that fails right after answering
may take the write with it when a replica is promoted. ``WAIT numreplicas
timeout`` blocks until that many replicas have acknowledged the *calling
connection's* last write, and says how many did. Hence the two rules here:

* The write and its ``WAIT`` travel together on one connection: a pipeline
  on one server. On a Redis Cluster, redis-py would send a keyless ``WAIT``
  to every primary, each on a connection of its own; so both commands are
  sent as one batch to the primary that owns the key's slot, on one of its
  connections.
* The write must write. ``WAIT`` is documented to cover the connection's
  own previous writes; a script that finds every object already stored
  (written earlier on another connection, maybe never replicated) would
  leave nothing to wait for, so it writes a counter then (``sync`` in
  :mod:`hub.store`). Redis 6.2 and 7.0 happen to move a connection's offset
  on reads too; the write keeps the guarantee from resting on that.

A cluster whose slot map is stale (a primary failed over, a slot moved) is
reread once and the pair sent again: the writes this is used for are
idempotent. Still failing, the caller gets the error, mapped to a 503 by
:func:`hub.store.guard`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import PipelineCommand, RedisCluster

from hub.errors import StoreUnavailable

Command = Sequence[Any]

_REDIRECTED = (redis.exceptions.AskError, redis.exceptions.TryAgainError, redis.exceptions.ClusterDownError)
"""The key's slot is not (or not only) on the node asked: MOVED (an AskError), ASK, TRYAGAIN, CLUSTERDOWN."""

_BROKEN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, OSError)


async def write_then_wait(
    client: aioredis.Redis | RedisCluster, key: str, write: Command, replicas: int, timeout_ms: int
) -> tuple[Any, int]:
    """Run ``write`` (which writes ``key``), then ``WAIT replicas timeout_ms`` on the same connection.

    Returns the write's reply and how many replicas acknowledged it (it may
    be fewer than ``replicas``: deciding what that means is the caller's).
    """
    wait = ("WAIT", replicas, timeout_ms)
    if isinstance(client, RedisCluster):
        return await _on_primary(client, key, write, wait)
    async with client.pipeline(transaction=False) as pipe:  # one connection for the whole pipeline
        pipe.execute_command(*write)
        pipe.execute_command(*wait)
        reply, acked = await pipe.execute()
    return reply, int(acked)


async def _on_primary(client: RedisCluster, key: str, write: Command, wait: Command) -> tuple[Any, int]:
    for attempt in (1, 2):
        await client.initialize()
        node = client.get_node_from_key(key)  # SlotNotCoveredError when no node holds the slot
        if node is None:  # only for a replica lookup
            raise StoreUnavailable("the event store (Redis Cluster) has no primary for this channel; retry shortly")
        sent = [PipelineCommand(0, *write), PipelineCommand(1, *wait)]
        try:
            await node.execute_pipeline(sent)  # one connection, both commands, every reply read
        except _BROKEN:
            await _reread_slots(client)
            if attempt == 2:
                raise
            continue
        reply, acked = sent[0].result, sent[1].result
        if isinstance(reply, _REDIRECTED):
            await _reread_slots(client)
            if attempt == 2:
                raise StoreUnavailable("the event store (Redis Cluster) is failing over; retry shortly") from reply
            continue
        if isinstance(reply, Exception):
            raise reply
        if isinstance(acked, Exception):
            raise acked
        return reply, int(acked)
    raise AssertionError("unreachable")  # pragma: no cover


async def _reread_slots(client: RedisCluster) -> None:
    """Ask the cluster again which primary holds which slots (concurrent callers share one reading)."""
    try:
        await client.nodes_manager.initialize()
    except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError):
        pass  # nothing answers yet: the next attempt, or the next request, reports the outage
