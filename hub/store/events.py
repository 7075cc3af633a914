"""Channels and objects: the :class:`Store` every request of a hub process shares.

How this works. A whole bundle is appended by one Lua script
(:data:`hub.store.scripts.APPEND`), atomically and in one round trip: for each
object it skips versions already stored, XADDs the others, records their
versions, and publishes once the id of the last new entry (PUBLISH on one
server, SPUBLISH on a cluster: see :mod:`hub.store.notifications`). The
publish is a wake-up hint; readers always read the stream itself, so a lost
notification delays an event but never loses it. The script's keys all carry
the channel's hash tag (:mod:`hub.store.layout`), so on a Redis Cluster it
runs on the one shard that holds the channel.

With ``hub.redis_wait_replicas`` set, an append is acknowledged only once
that many replicas confirm it (Redis ``WAIT`` after the script, on the same
connection to the channel's primary: :mod:`hub.store.replication`); otherwise it
raises :class:`hub.errors.NotReplicated`, a 503. The primary keeps what it
wrote, so a retry of the same objects reports them as duplicates, and its
own ``WAIT`` covers them: a duplicate is reported only once it too is on
enough replicas.

Every Redis failure surfaces as :class:`hub.errors.StoreUnavailable`
(:func:`hub.store.client.guard`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson
from redis.exceptions import RedisClusterException

from hub.crisis.objects import ACTION_TYPE, RUN_TYPE
from hub.errors import NotReplicated, StoreUnavailable
from hub.events import Event, id_key
from hub.policy import Actor
from hub.refs import refs_of
from hub.store import entries, scripts
from hub.store import notifications as live
from hub.store.capacity import Capacity
from hub.store.client import Client, StoreError, guard
from hub.store.connectors import Connectors
from hub.store.layout import FORMAT, Keys
from hub.store.lease import Lease
from hub.store.load import LoadBoard
from hub.store.replication import write_then_wait
from hub.store.status import TaxiiStatuses
from hub.tlp import TLP
from hub.versions import newest_id

if TYPE_CHECKING:  # importing the STIX validators takes a second; token commands need none of it
    from hub.stix import StixItem

INDEXED_TYPES: frozenset[str] = frozenset({"incident", ACTION_TYPE, RUN_TYPE})
"""The types whose ids each channel keeps a set of (:meth:`Store.ids_of_type`): those the hub looks up by type.

Only these: an index of every type cost each indicator some 95 bytes of Redis that no reader ever used.
"""


@dataclass(frozen=True, slots=True)
class Appended:
    """The outcome for one object of an append: its event id, and whether it was already stored.

    ``tlp`` is the TLP of the stored event: the item's own for a new one, the
    first stored copy's for a duplicate (whose id only its readers may learn).
    """

    item: StixItem
    event_id: str
    duplicate: bool
    tlp: TLP


class Store:
    """Channels and objects in Redis. One instance per hub process, shared by every request.

    ``statuses`` keeps TAXII status resources, ``connectors`` the
    connectors' checkpoints, leases and statuses, and ``plans_lease`` says
    which process moves the crisis plans, on the same client and namespace; ``capacity`` reads how full the server is,
    ``load`` shares how far behind each process's live streams are.
    """

    def __init__(self, client: Client, namespace: str = "chub", *, wait_replicas: int = 0, wait_ms: int = 1000) -> None:
        """``wait_replicas``: replicas that must confirm an append within ``wait_ms`` (0: none)."""
        self.redis = client
        self.ns = namespace
        self.keys = Keys(namespace)
        self.wait_replicas = wait_replicas
        self.wait_ms = wait_ms
        self.statuses = TaxiiStatuses(client, self.keys)
        self.connectors = Connectors(client, namespace)
        self.plans_lease = Lease(client, self.keys.plans_lease)
        self.capacity = Capacity(client)
        self.load = LoadBoard(client, self.keys)
        self._publish = live.publish_command(client)
        self._append = client.register_script(scripts.APPEND)
        self._trim = client.register_script(scripts.TRIM)
        self._claim = client.register_script(scripts.CLAIM)
        self._clock = client.register_script(scripts.CLOCK_AND_LAST_ID)
        self._delete = client.register_script(scripts.DELETE_VERSIONS)
        self._mark_trimmed = client.register_script(scripts.MARK_TRIMMED)
        self._current: set[str] = set()
        """Channels known to be in the current layout (:mod:`hub.store.upgrade`)."""

    # the keys others name ------------------------------------------------
    def live_channel(self, channel: str) -> str:
        """The pub/sub channel of ``channel``'s appends, as a :class:`live.Note` names it."""
        return self.keys.live(channel)

    def log_key(self, channel: str) -> str:
        return self.keys.log(channel)

    def index_key(self, channel: str) -> str:
        return self.keys.objects(channel)

    # health --------------------------------------------------------------
    async def ping(self) -> bool:
        try:
            async with guard():
                return bool(await self.redis.ping())
        except (StoreUnavailable, StoreError, RedisClusterException):
            return False

    # notifications -------------------------------------------------------
    async def subscribe(self, channels: Sequence[str], *, whole_namespace: bool = False) -> live.Subscription:
        """Listen to the announcements of appends to ``channels``; the subscription raises StoreUnavailable once lost.

        ``whole_namespace``: on one server, one pattern subscription covers
        every channel of the hub (cheaper than a subscription per channel);
        notifications of other channels are dropped all the same.
        """
        pattern = self.keys.live("*") if whole_namespace else None
        return await live.subscribe(self.redis, [self.keys.live(c) for c in channels], pattern)

    # writing -------------------------------------------------------------
    async def append(
        self, channel: str, source: str, items: Sequence[StixItem], person: Actor | None = None
    ) -> list[Appended]:
        """Append ``items`` to ``channel`` atomically; already-stored versions are reported as duplicates.

        ``person``: who acted for ``source``, recorded with each new event.

        With ``wait_replicas``, raises :class:`NotReplicated` unless that many
        replicas confirm the append, duplicates included, within ``wait_ms``.
        """
        if not items:
            return []
        if channel not in self._current:
            await self._check_layout(channel)
        keys = [self.keys.log(channel), self.keys.objects(channel)]
        meta = [
            [str(int(it.tlp)), it.id, it.version, it.type if it.type in INDEXED_TYPES else "", refs_of(it.obj)]
            for it in items
        ]
        args: list[Any] = [self.keys.live(channel), source, self.keys.channel_prefix(channel), self._publish]
        args += ["1" if self.wait_replicas else "0", *((person.id, person.name) if person else ("", ""))]
        args += [orjson.dumps(meta), *(entries.pack(it.id, it.version, it.raw) for it in items)]
        async with self.capacity.writing():  # guard(), and the health check says "full" once refused for memory
            if not self.wait_replicas:
                replies = await self._append(keys=keys, args=args)
            else:
                # EVAL: no NOSCRIPT on a just-promoted replica
                write = ("EVAL", scripts.APPEND, len(keys), *keys, *args)
                replies, acked = await write_then_wait(self.redis, keys[0], write, self.wait_replicas, self.wait_ms)
        appended = [
            Appended(item, event_id.decode(), duplicate=not created, tlp=TLP(int(level)))
            for item, (created, event_id, level) in zip(items, replies, strict=True)
        ]
        if self.wait_replicas and acked < self.wait_replicas:
            raise NotReplicated(
                f"not yet replicated; retry: {acked} of the {self.wait_replicas} Redis replicas required "
                f"confirmed the append within {self.wait_ms} ms (a retry of the same objects reports those "
                "already stored as duplicates)",
                appended,
            )
        return appended

    async def layout(self, channel: str) -> tuple[bool, bool]:
        """Whether ``channel`` is marked as in the current layout, and whether an older hub's indexes are there."""
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.keys.format(channel))
                pipe.exists(self.keys.legacy_latest(channel))
                mark, legacy = await pipe.execute()
        return mark == FORMAT, bool(legacy)

    async def _check_layout(self, channel: str) -> None:
        """Raise StoreUnavailable while ``channel`` still holds an older hub's indexes (:mod:`hub.store.upgrade`)."""
        marked, legacy = await self.layout(channel)
        if legacy and not marked:
            raise StoreUnavailable(f"channel {channel} is being brought to the current store layout; retry shortly")
        self._current.add(channel)

    async def delete_versions(self, channel: str, versions: Sequence[Event]) -> int:
        """Delete these versions of one object atomically; the number actually deleted.

        A version stored anew since it was read is left alone; once none
        remains the object leaves the channel's index, type and referrer
        indexes.
        """
        if not versions:
            return 0
        stix_id, stix_type = versions[0].stix_id, versions[0].type
        refs = dict.fromkeys(ref for event in versions for ref in refs_of(orjson.loads(event.raw)))
        keys = [
            self.keys.log(channel),
            self.keys.objects(channel),
            *([self.keys.of_type(channel, stix_type)] if stix_type in INDEXED_TYPES else []),
            *(self.keys.referrers(channel, ref) for ref in refs),
        ]
        args = [stix_id] + [part for event in versions for part in (event.version, event.id)]
        async with guard():
            return int(await self._delete(keys=keys, args=args))

    # owners --------------------------------------------------------------
    async def claim(self, claimant: str, stix_ids: Sequence[str]) -> list[str]:
        """Make ``claimant`` the owner of each of ``stix_ids`` that has none yet; returns each id's owner.

        Ids are compared case-insensitively, as STIX compares their UUID part.
        One hash for the whole hub (one key, so one cluster shard), written
        before the objects are appended: an append that then fails leaves
        the claim, so the claimant's retry is still its own.
        """
        if not stix_ids:
            return []
        async with self.capacity.writing():
            owners = await self._claim(keys=[self.keys.owners], args=[claimant, *(i.lower() for i in stix_ids)])
        return [o.decode() for o in owners]

    async def adopt(self, owners: Sequence[tuple[str, str]]) -> int:
        """Record each ``(stix id, owner)`` whose id has no owner yet; returns how many were recorded."""
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for stix_id, owner in owners:
                    pipe.hsetnx(self.keys.owners, stix_id.lower(), owner)
                replies = await pipe.execute()
        return sum(1 for r in replies if r)

    async def owners_recorded(self) -> bool:
        """Whether the owners of the objects stored before ownership was tracked are recorded."""
        async with guard():
            return bool(await self.redis.exists(self.keys.owners_recorded))

    async def mark_owners_recorded(self) -> None:
        async with guard():
            await self.redis.set(self.keys.owners_recorded, str(int(time.time())))

    # reading -------------------------------------------------------------
    async def read(self, channel: str, after: str, count: int, *, inclusive: bool = False) -> list[Event]:
        """Up to ``count`` events of ``channel`` after event id ``after``, oldest first.

        ``inclusive``: from ``after`` on, the event with that id included
        (TAXII's pages start at a position; a stream's readers resume after one).
        """
        start = after if inclusive else f"({after}"
        async with guard():
            found = _entries(await self.redis.xrange(self.keys.log(channel), start, "+", count=count))
        return [entries.event(eid.decode(), channel, fields) for eid, fields in found]

    async def last_id(self, channel: str) -> str | None:
        """The id of the newest event of ``channel``, None if it has none."""
        async with guard():
            found = _entries(await self.redis.xrevrange(self.keys.log(channel), "+", "-", count=1))
        return found[0][0].decode() if found else None

    async def first_id(self, channel: str) -> str | None:
        """The id of the oldest event still kept in ``channel``, None if it has none."""
        async with guard():
            found = _entries(await self.redis.xrange(self.keys.log(channel), "-", "+", count=1))
        return found[0][0].decode() if found else None

    async def events_by_id(self, channel: str, event_ids: Sequence[str]) -> list[Event]:
        """The events of ``channel`` with these ids (missing ones are skipped), in the given order."""
        if not event_ids:
            return []
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for eid in event_ids:
                    pipe.xrange(self.keys.log(channel), eid, eid)
                replies = await pipe.execute()
        return [entries.event(e[0][0].decode(), channel, e[0][1]) for e in replies if e]

    async def versions(self, channels: Sequence[str], stix_id: str) -> dict[str, dict[str, str]]:
        """Per channel, the stored versions of ``stix_id`` (version → event id); channels without it omitted."""
        return (await self.versions_of_many(channels, [stix_id])).get(stix_id, {})

    async def versions_in(self, channel: str, stix_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """For each of ``stix_ids``, its versions in ``channel`` (version → event id); empty for an unknown one."""
        found = await self.versions_of_many([channel], stix_ids)
        return {sid: found[sid].get(channel, {}) for sid in stix_ids}

    async def versions_of_many(
        self, channels: Sequence[str], stix_ids: Sequence[str]
    ) -> dict[str, dict[str, dict[str, str]]]:
        """:meth:`versions` of each of ``stix_ids`` at once (one pipeline): id → channel → version → event id."""
        found: dict[str, dict[str, dict[str, str]]] = {sid: {} for sid in stix_ids}
        if not stix_ids or not channels:
            return found
        ids = list(found)
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel in channels:
                    pipe.hmget(self.keys.objects(channel), ids)
                replies = await pipe.execute()
        for channel, entries_of in zip(channels, replies, strict=True):
            for sid, entry in zip(ids, entries_of, strict=True):
                if entry:
                    found[sid][channel] = versions_of(entry)
        return found

    async def ids_of_type(self, channel: str, stix_type: str) -> set[str]:
        """Every STIX id of ``stix_type`` ever stored in ``channel``; only for :data:`INDEXED_TYPES`."""
        if stix_type not in INDEXED_TYPES:
            raise ValueError(f"the store keeps no index of {stix_type!r} objects (see INDEXED_TYPES)")
        async with guard():
            members = cast(set[bytes], await self.redis.smembers(self.keys.of_type(channel, stix_type)))
        return {m.decode() for m in members}

    async def referring(self, channel: str, stix_id: str) -> set[str]:
        """The STIX ids of the objects in ``channel`` that refer to ``stix_id``."""
        async with guard():
            members = cast(set[bytes], await self.redis.smembers(self.keys.referrers(channel, stix_id)))
        return {m.decode() for m in members}

    async def latest_events(self, channel: str, stix_ids: Sequence[str]) -> list[Event]:
        """The newest stored version of each of ``stix_ids`` in ``channel`` (unknown ids skipped)."""
        latest = await self.latest(channel, stix_ids)
        return await self.events_by_id(channel, [latest[sid] for sid in stix_ids if sid in latest])

    async def latest(self, channel: str, stix_ids: Sequence[str]) -> dict[str, str]:
        """The event id of the newest version of each STIX id in ``channel`` (unknown ids omitted), whatever its TLP."""
        if not stix_ids:
            return {}
        async with guard():
            replies = cast(list[bytes | None], await self.redis.hmget(self.keys.objects(channel), list(stix_ids)))
        return {sid: newest_in(entry) for sid, entry in zip(stix_ids, replies, strict=True) if entry}

    async def clock_and_last_id(self, channel: str) -> tuple[int, str | None]:
        """The Redis time in milliseconds where ``channel`` lives, and its newest event id, read at one instant.

        The time comes from the server that numbers the channel's events (the
        script runs on its shard), so every event appended afterwards has an id
        at or after this millisecond.
        """
        async with guard():
            seconds, micros, last = await self._clock(keys=[self.keys.log(channel)])
        return int(seconds) * 1000 + int(micros) // 1000, last.decode() if last else None

    # retention -----------------------------------------------------------
    async def trimmed_to(self, channel: str) -> str | None:
        """The id of the newest event removed by retention: history at or before it is gone."""
        async with guard():
            value = cast(bytes | None, await self.redis.get(self.keys.trimmed(channel)))
        return value.decode() if value else None

    async def mark_trimmed(self, channel: str, event_id: str) -> None:
        """Say that history at or before ``event_id`` is gone (archived): a client resuming before it is told."""
        async with guard():
            await self._mark_trimmed(keys=[self.keys.trimmed(channel)], args=[event_id])

    async def trim(self, channel: str, *, max_events: int | None = None, max_age_ms: int | None = None) -> int:
        """Apply retention to ``channel``; returns how many events were removed.

        Records the newest removed id first, so that a client resuming from
        before it is told of the gap instead of silently missing events.
        """
        bounds: list[str] = []
        async with guard():
            if max_events is not None:
                kept = _entries(await self.redis.xrevrange(self.keys.log(channel), "+", "-", count=max_events))
                if len(kept) == max_events:
                    bounds.append(kept[-1][0].decode())
            if max_age_ms is not None:
                server_ms = int((await self.redis.time())[0]) * 1000
                bounds.append(f"{server_ms - max_age_ms}-0")
            if not bounds:
                return 0
            min_id = max(bounds, key=id_key)
            removed: int = await self._trim(keys=[self.keys.log(channel), self.keys.trimmed(channel)], args=[min_id])
        return removed

    # secrets -------------------------------------------------------------
    async def secret(self, name: str) -> bytes:
        """A random 256-bit secret of this hub, made on first use and shared by every process on this Redis."""
        key = self.keys.secret(name)
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(key, secrets.token_bytes(32), nx=True)
                pipe.get(key)
                _, value = await pipe.execute()
        return cast(bytes, value)


def versions_of(entry: bytes) -> dict[str, str]:
    """An object's versions (version → event id) from its entry in the channel's index (:mod:`hub.store.scripts`)."""
    pairs = (item.partition(" ") for item in entry.decode().split(","))
    return {version: event_id for event_id, _, version in pairs}


def newest_in(entry: bytes) -> str:
    """The event id of the newest version an entry of the channel's index lists."""
    if b"," not in entry:  # one version, the common case: no ranking
        return entry[: entry.index(b" ")].decode()
    newest = newest_id(versions_of(entry))
    assert newest is not None  # an entry lists at least one version
    return newest


def _entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """redis-py's stream replies, typed as they are with ``decode_responses=False``."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], reply)
