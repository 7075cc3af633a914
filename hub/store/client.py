"""The connection to Redis, and the one guard every Redis call of the store goes through.

:func:`connect` makes the client (of one server or of a Redis Cluster; the
store uses either the same way). :func:`guard` surrounds every call: a server
that cannot be reached, is loading, or refuses writes becomes
:class:`hub.errors.StoreUnavailable` (a 503), and a cancellation that redis-py
lost on the way is raised again (see :mod:`hub.tasks`). Code outside the store
never sees a redis-py exception for those; the few who must name the rest
(the command line, saying "Redis failed") use :data:`StoreError` and
:data:`CredentialsRefused`, never the library itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, SlotNotCoveredError

from hub.capacity import REFUSALS
from hub.errors import StoreFull, StoreUnavailable
from hub.tasks import honouring_cancel

Client: TypeAlias = aioredis.Redis | RedisCluster
"""A client of one Redis server or of a Redis Cluster: the hub uses either the same way."""

StoreError = redis.exceptions.RedisError
"""Any other failure of the Redis server or of its protocol: a bug or a misconfiguration, not an outage."""

CredentialsRefused = redis.exceptions.AuthenticationError
"""Redis refused the password or user name of the URL."""

UNREACHABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ClusterDownError,  # a shard without a primary, until a replica takes over
    ConnectionError,
    OSError,
)
"""The exceptions that mean the server cannot be reached (yet): :func:`guard` turns them into StoreUnavailable."""

_REFUSING_WRITES = ("READONLY", "MISCONF", "OOM", "LOADING", "MASTERDOWN", "NOREPLICAS")
"""The codes of Redis's refusals to write that reach us as a plain ResponseError, the code in front."""

FULL = "the store is full: Redis has reached its memory limit (maxmemory); reads go on, writes are refused"

CLUSTER_CONNECTIONS_PER_NODE = 1024  # Redis accepts 10,000 clients by default


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the store cannot be reached or cannot take writes now: retry later."""
    if isinstance(exc, StoreUnavailable) or isinstance(exc, UNREACHABLE):
        return True
    if isinstance(exc, RedisClusterException):
        return _cluster_unreachable(exc)
    if isinstance(exc, redis.exceptions.OutOfMemoryError | redis.exceptions.ReadOnlyError):
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and _code(exc) in _REFUSING_WRITES


def refusal(exc: BaseException) -> str | None:
    """The reason Redis refused the write behind ``exc``, as :func:`guard` raised it (see :data:`REFUSALS`).

    None when ``exc`` is no refusal: the server unreachable, or anything else.
    """
    cause = exc.__cause__
    if isinstance(cause, redis.exceptions.OutOfMemoryError):
        return REFUSALS["OOM"]
    if isinstance(cause, redis.exceptions.ReadOnlyError):
        return REFUSALS["READONLY"]
    if isinstance(cause, redis.exceptions.BusyLoadingError):
        return REFUSALS["LOADING"]
    if isinstance(cause, redis.exceptions.ResponseError):
        return REFUSALS.get(_code(cause))
    return None


def _cluster_unreachable(exc: RedisClusterException) -> bool:
    """The cluster client's own errors that mean no node answers or a slot has none (not a misuse)."""
    return (
        isinstance(exc, SlotNotCoveredError)
        or isinstance(exc.__cause__, UNREACHABLE)
        or str(exc).startswith("All slots are not covered")
    )


def _code(exc: redis.exceptions.ResponseError) -> str:
    """The code of Redis's error (``OOM``, ``READONLY``, …), also where a script relays it.

    Redis before 7 wraps an error of a script's ``redis.call`` as ``Error running script …: -CODE …``;
    Redis checks the memory limit and a replica's read-only state at a script's first write, so a
    script refused this way has written nothing.
    """
    text = str(exc)
    if text.startswith("Error running script") and ": -" in text:
        text = text.split(": -", 1)[1]
    return text.split(" ", 1)[0]


@asynccontextmanager
async def guard() -> AsyncIterator[None]:
    """Around every Redis call: an outage surfaces as :class:`StoreUnavailable`, a lost cancel is raised again."""
    try:
        async with honouring_cancel():
            yield
    except UNREACHABLE as exc:
        raise StoreUnavailable("the event store (Redis) is unreachable; retry shortly") from exc
    except RedisClusterException as exc:
        if _cluster_unreachable(exc):
            raise StoreUnavailable("the event store (Redis Cluster) is unreachable; retry shortly") from exc
        raise
    except redis.exceptions.OutOfMemoryError as exc:
        raise StoreFull(FULL) from exc
    except redis.exceptions.ReadOnlyError as exc:  # redis-py strips the code of the refusals it names
        raise StoreUnavailable("the event store (Redis) refuses writes; retry shortly") from exc
    except redis.exceptions.ResponseError as exc:
        if _code(exc) == "OOM":
            raise StoreFull(FULL) from exc
        if _code(exc) in _REFUSING_WRITES:
            raise StoreUnavailable("the event store (Redis) refuses writes; retry shortly") from exc
        raise


def connect(url: str, max_connections: int = 64, *, cluster: bool = False) -> Client:
    """A Redis client for ``url`` with timeouts that turn a dead server into a quick 503.

    ``cluster``: ``url`` is one node of a Redis Cluster (7 or later); the client
    finds the others, follows the slots as they move and fail over, and every
    command, script and pipeline of the hub works on it unchanged.

    A blocking pool: under a burst, a command waits up to a few seconds for a
    free connection instead of failing at once (redis-py's default pool
    raises when its connections are all busy, which a burst of stream token
    checks was enough to trigger, answering 503 while Redis was fine).

    One immediate retry on a broken connection: after a Redis restart every
    pooled connection is stale, and the first command on each would
    otherwise fail although the server is back. Retrying an append is safe:
    the script is idempotent by object id and version.
    """
    if cluster:
        # redis-py's cluster client retries on its own (a moved slot, a failed-over primary, a stale
        # connection), refreshing its slot map as it goes. Its pool per node fails at once rather than
        # waits when every connection is busy: hence a cap far above the single server's.
        return RedisCluster.from_url(
            url,
            max_connections=CLUSTER_CONNECTIONS_PER_NODE,
            decode_responses=False,
            socket_connect_timeout=2,
            socket_timeout=10,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        decode_responses=False,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[redis.exceptions.ConnectionError],
    )
    return aioredis.Redis(connection_pool=pool)


def is_cluster(client: Client) -> bool:
    """True when ``client`` talks to a Redis Cluster."""
    return isinstance(client, RedisCluster)
