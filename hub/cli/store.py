"""The hub's Redis, for the commands that work on its data: the embedded server or ``--redis-url``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hub.cli.errors import CliError
from hub.cli.options import cluster
from hub.embedded import EmbeddedRedis
from hub.errors import ConfigError, StoreUnavailable
from hub.i18n import Translator
from hub.store import AuditLog, Client, CredentialsRefused, StoreError, connect, is_cluster, unavailable

T = TypeVar("T")
S = TypeVar("S")


@dataclass(frozen=True)
class RedisPlace:
    """Where a command's data lives: its Redis ``url``, said for people as ``where`` (in the command's language).

    ``started``: the embedded Redis was not running, so this command started it
    for a moment (no hub is running on that data dir); ``new``: the data dir did
    not exist before; ``maxmemory``: the embedded Redis's memory limit in bytes
    (None for a Redis of ``--redis-url``).
    """

    url: str
    where: str
    started: bool = False
    new: bool = False
    maxmemory: int | None = None


@contextmanager
def open_redis(
    args: argparse.Namespace, appendfsync: str = "everysec", maxmemory: int | None = None
) -> Iterator[RedisPlace]:
    """The Redis to use: --redis-url, else the embedded server of --data-dir (started if needed).

    ``appendfsync`` and ``maxmemory`` (bytes; default: half of this machine's memory) configure an
    embedded server this command starts.
    """
    tr: Translator = args.tr
    if cluster(args) and not args.redis_url:
        raise ConfigError(
            tr("--redis-cluster needs --redis-url, a node of the cluster: the embedded Redis is one server")
        )
    if args.redis_url:
        if cluster(args):
            yield RedisPlace(args.redis_url, tr("Redis Cluster at {url}", url=args.redis_url))
        else:
            yield RedisPlace(args.redis_url, tr("Redis at {url}", url=args.redis_url))
        return
    data_dir = Path(args.data_dir).resolve()
    new = not data_dir.exists()
    embedded = EmbeddedRedis(data_dir, appendfsync, maxmemory=maxmemory)
    try:  # the start included: an interrupt as it returns must not leave the server running alone
        url = embedded.start()
        limit = embedded.memory_limit()
        where = tr("the embedded Redis of {folder}", folder=data_dir)
        yield RedisPlace(url, where, started=embedded.owned, new=new, maxmemory=limit)
    finally:
        embedded.stop()


def run_on(place: RedisPlace, args: argparse.Namespace, action: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``action(client)`` on the Redis at ``place``; a Redis that does not answer is one sentence."""

    async def run() -> T:
        client = connect(place.url, cluster=cluster(args))
        try:
            return await action(client)
        finally:
            await client.aclose()

    tr: Translator = args.tr
    try:
        return asyncio.run(run())
    except CredentialsRefused as exc:
        raise CliError(
            tr("{where} refused the credentials ({error}): check --redis-url", where=place.where, error=exc)
        ) from None
    except (StoreUnavailable, StoreError) as exc:
        if not unavailable(exc):
            raise  # not an outage: main says "Redis failed" with what it said
        if args.redis_url:
            raise CliError(
                tr("{where} does not answer: is it running, and is --redis-url right?", where=place.where)
            ) from None
        raise CliError(tr("{where} does not answer: see redis.log in --data-dir", where=place.where)) from None


def with_redis(args: argparse.Namespace, action: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``action(client)`` against the hub's Redis, for a one-shot command."""
    with open_redis(args) as place:
        return run_on(place, args, action)


def on_redis(args: argparse.Namespace, make: Callable[[Client, str], S], action: Callable[[S], Awaitable[T]]) -> T:
    """Run ``action(make(client, namespace))`` against the hub's Redis, for a one-shot command."""
    return with_redis(args, lambda client: action(make(client, args.namespace)))


async def note(audit: AuditLog, action: str, **fields: Any) -> None:
    """Record an operator's action made from the command line, at once."""
    audit.record(action, f"cli:{getpass.getuser()}", **fields)
    await audit.flush()


async def hub_listening(client: Client) -> bool | None:
    """Whether a hub process is connected to this Redis (None: cannot tell, on a cluster).

    Every running hub holds a subscription to live notifications (:mod:`hub.store.notifications`),
    so a client with a pattern (or plain) subscription is taken for one.
    """
    if is_cluster(client):
        return None
    clients = await client.client_list()
    return any(int(c.get("psub", 0) or 0) or int(c.get("sub", 0) or 0) for c in clients)
