"""Live notifications: how an append announces itself, and how hub processes hear of it.

How this works. Each channel has a pub/sub channel, ``<ns>:{ch:<channel>}:live``
(see :mod:`hub.store`), on which the append script announces the id of the
last event it added. The notification is only a wake-up hint: listeners
always read the stream itself, so a lost notification costs latency, never
events.

* On one Redis server (the embedded one is Redis 6.2) the script PUBLISHes,
  and listeners SUBSCRIBE to one channel or PSUBSCRIBE to the namespace's
  pattern.
* On a Redis Cluster a PUBLISH would be broadcast to every node. The script
  SPUBLISHes instead (Redis 7 sharded pub/sub): the live channel carries the
  channel's hash tag, so it hashes to the slot of the channel's keys and the
  notification stays on the shard that holds the channel. Sharded pub/sub
  has no patterns: a listener SSUBSCRIBEs each channel by name, on the
  primary that owns its slot, over one plain connection per primary — the
  smallest thing that redis-py's asyncio cluster client does not provide.
  One SSUBSCRIBE per channel, as one command may only name channels of one
  slot.

A subscription fails as a whole (:class:`hub.errors.StoreUnavailable`)
when any of its connections breaks or a slot moves away (the node then
unsubscribes the channels itself). Its owner opens a new one, which looks up
the slots' owners afresh, and reads every channel once to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hub.store.client import Client, guard, is_cluster

CLOSE_TIMEOUT = 2.0  # closing a pub/sub can block on its connection: bounded


def sharded(client: Client) -> bool:
    """True when ``client`` talks to a Redis Cluster: notifications use sharded pub/sub."""
    return is_cluster(client)


def publish_command(client: Client) -> str:
    """The command the append script announces new events with."""
    return "SPUBLISH" if sharded(client) else "PUBLISH"


@dataclass(frozen=True, slots=True)
class Note:
    """One notification: ``event_id`` was appended to the channel whose live channel is ``live``."""

    live: str
    event_id: str


class Subscription:
    """Notifications on some live channels. Use :meth:`get` or ``async for``, then :meth:`aclose`."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    async def get(self, timeout: float | None = None) -> Note | None:
        """The next notification, or None once ``timeout`` seconds pass without one (None: wait as long as it takes).

        Raises :class:`hub.errors.StoreUnavailable` once the subscription is lost: open a new one.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            async with guard():
                note = await self._next(left)
            if note is not None and note.live in self.names:
                return note
            if deadline is not None and loop.time() >= deadline:
                return None

    async def __aiter__(self) -> AsyncIterator[Note]:
        while True:
            note = await self.get()
            if note is not None:
                yield note

    async def _next(self, timeout: float | None) -> Note | None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close every connection of the subscription; never raises."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._close()

    async def _close(self) -> None:
        raise NotImplementedError


async def subscribe(client: Client, names: Sequence[str], pattern: str | None = None) -> Subscription:
    """Listen to the live channels ``names``.

    On one server, ``pattern`` (matching all of them) is PSUBSCRIBEd instead
    when given; on a cluster, sharded pub/sub has no patterns and each name
    is SSUBSCRIBEd.
    """
    subscription: Subscription | None = None
    try:
        async with guard():  # which also keeps a listener being stopped from listening on forever
            subscription = await _open(client, names, pattern)
    except asyncio.CancelledError:
        if subscription is not None:
            await subscription.aclose()
        raise
    return subscription


async def _open(client: Client, names: Sequence[str], pattern: str | None) -> Subscription:
    if isinstance(client, RedisCluster):
        return await _Sharded.open(client, names)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        if pattern is not None:
            await pubsub.psubscribe(pattern)
        else:
            await pubsub.subscribe(*names)
    except BaseException:
        await _close_pubsub(pubsub)
        raise
    return _Plain(names, pubsub)


async def _close_pubsub(pubsub: PubSub) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            # Typed here: some redis-py versions leave aclose unannotated, others do not.
            await cast(Callable[[], Awaitable[None]], pubsub.aclose)()


class _Plain(Subscription):
    """PUBLISH/(P)SUBSCRIBE on one server: one pub/sub connection."""

    def __init__(self, names: Sequence[str], pubsub: PubSub) -> None:
        super().__init__(names)
        self._pubsub = pubsub

    async def _next(self, timeout: float | None) -> Note | None:
        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        return _note(message) if message is not None else None

    async def _close(self) -> None:
        await _close_pubsub(self._pubsub)


class _Sharded(Subscription):
    """SPUBLISH/SSUBSCRIBE on a cluster: one connection per primary owning some of the channels' slots."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(names)
        self._notes: asyncio.Queue[Note | Exception] = asyncio.Queue()
        self._pubsubs: list[PubSub] = []
        self._pools: list[aioredis.ConnectionPool] = []
        self._readers: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, client: RedisCluster, names: Sequence[str]) -> _Sharded:
        subscription = cls(names)
        try:
            await client.initialize()
            # The slot map as it is now: a new subscription follows slot moves and failovers.
            await client.nodes_manager.initialize()
            owners: dict[str, tuple[ClusterNode, list[str]]] = {}
            for name in names:
                node = client.get_node_from_key(name)
                if node is None:  # only for a replica lookup; a primary owns every covered slot
                    raise redis.exceptions.ConnectionError(f"no primary holds {name}")
                owners.setdefault(node.name, (node, []))[1].append(name)
            for node, on_node in owners.values():
                await subscription._listen_on(node, on_node)
        except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException) as exc:
            await subscription.aclose()
            if isinstance(exc, redis.exceptions.ConnectionError):
                raise
            raise redis.exceptions.ConnectionError(f"cannot subscribe to live notifications: {exc}") from exc
        except BaseException:
            await subscription.aclose()
            raise
        return subscription

    async def _listen_on(self, node: ClusterNode, names: list[str]) -> None:
        # A plain connection to the node, configured as the cluster client's own, without retries: a
        # reconnect would resubscribe every channel in one SSUBSCRIBE, which spans slots. Failing is right.
        settings: dict[str, Any] = {**node.connection_kwargs, "host": node.host, "port": node.port}
        settings.update(retry=Retry(NoBackoff(), 0), retry_on_error=[])
        pool = aioredis.ConnectionPool(connection_class=node.connection_class, **settings)
        self._pools.append(pool)
        pubsub = aioredis.Redis(connection_pool=pool).pubsub()
        self._pubsubs.append(pubsub)
        for name in names:
            await pubsub.ssubscribe(name)
        self._readers.append(asyncio.create_task(self._read(pubsub, frozenset(names)), name=f"live-{node.name}"))

    async def _read(self, pubsub: PubSub, names: frozenset[str]) -> None:
        """Queue this node's notifications; queue the error that ends them (the subscription is then lost)."""
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=None)
                if message is None:
                    continue
                kind = _text(message["type"])
                if kind == "sunsubscribe" and _text(message["channel"]) in names:
                    raise redis.exceptions.ConnectionError("a channel's slot moved to another node")
                note = _note(message)
                if note is not None:
                    self._notes.put_nowait(note)
        except asyncio.CancelledError:
            raise
        except redis.exceptions.ConnectionError as exc:
            self._notes.put_nowait(exc)
        except (redis.exceptions.RedisError, OSError) as exc:  # MOVED, CLUSTERDOWN, a reset socket…
            self._notes.put_nowait(redis.exceptions.ConnectionError(f"live notifications lost: {exc}"))

    async def _next(self, timeout: float | None) -> Note | None:
        try:
            async with asyncio.timeout(timeout):
                item = await self._notes.get()
        except TimeoutError:
            return None
        if isinstance(item, Exception):
            self._notes.put_nowait(item)  # every later call fails the same way
            raise item
        return item

    async def _close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for pubsub in self._pubsubs:
            await _close_pubsub(pubsub)
        for pool in self._pools:
            await pool.disconnect()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _note(message: dict[str, Any]) -> Note | None:
    """A published message as a :class:`Note` (confirmations of (un)subscribing are None)."""
    if _text(message["type"]) not in ("message", "pmessage", "smessage"):
        return None
    return Note(_text(message["channel"]), _text(message["data"]))
