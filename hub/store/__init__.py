"""The Redis store: channel streams, object versions, tokens.

How this works. Each channel has, under one hash tag (so that a Redis Cluster
keeps a channel on one shard):

* ``<ns>:{ch:<channel>}:log`` — a Redis Stream, the durable ordered log. An
  entry's id is the event id; its fields are ``src tlp typ sid ver obj``.
* ``<ns>:{ch:<channel>}:v:<stix id>`` — a hash from object version
  (``modified``) to the event id that carries it: the idempotency index and
  the version history of the object in that channel.
* ``<ns>:{ch:<channel>}:latest`` — a hash from STIX id to ``"<version key> <event id>"``
  of the object's newest version in the channel (TAXII's ``match[version]=last``).
* ``<ns>:{ch:<channel>}:t:<type>`` — the STIX ids of that type in the channel.
* ``<ns>:{ch:<channel>}:r:<stix id>`` — the STIX ids of the objects that refer to
  it (``object_refs``, ``sighting_of_ref``, ``source_ref``…: see :func:`hub.refs.refs_of`).
* ``<ns>:{ch:<channel>}:live`` — the pub/sub channel announcing appends.
* ``<ns>:{ch:<channel>}:sync`` — a counter, written by an append that added
  nothing when appends wait for replicas (see :mod:`hub.store.replication`).

A whole bundle is appended by one Lua script, atomically and in one round
trip: for each object it skips versions already stored, XADDs the others,
records their versions, and publishes once the id of the last new entry
(PUBLISH on one server, SPUBLISH on a cluster: see :mod:`hub.store.notifications`). The
publish is a wake-up hint; readers always read the stream itself, so a lost
notification delays an event but never loses it. The script's keys all carry
the channel's hash tag, so on a Redis Cluster it runs on the one shard that
holds the channel.

With ``hub.redis_wait_replicas`` set, an append is acknowledged only once
that many replicas confirm it (Redis ``WAIT`` after the script, on the same
connection to the channel's primary: :mod:`hub.store.replication`); otherwise it
raises :class:`hub.errors.NotReplicated`, a 503. The primary keeps what it
wrote, so a retry of the same objects reports them as duplicates, and its
own ``WAIT`` covers them: a duplicate is reported only once it too is on
enough replicas.

Every Redis failure surfaces as :class:`hub.errors.StoreUnavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from dataclasses import replace as dataclasses_replace
from typing import TYPE_CHECKING, Any, cast

import orjson
from redis.exceptions import RedisClusterException

from hub.errors import NotFound, NotReplicated, StoreUnavailable
from hub.events import Event, id_key, version_key
from hub.refs import refs_of
from hub.store import notifications as live
from hub.store.client import Client, StoreError, connect, guard
from hub.store.replication import write_then_wait
from hub.tlp import TLP
from hub.tokens import NewToken

if TYPE_CHECKING:  # importing the STIX validators takes a second; token commands need none of it
    from hub.stix import StixItem

# KEYS: the log, the latest index. ARGV: live channel, source, key prefix, publish command, sync ("1": the
# append waits for replicas, so it must write even if every object is a duplicate), then one JSON array of
# [tlp, type, id, version, version order, [referenced ids]] per object, then each object's bytes.
# One JSON argument rather than seven or more per object: packing the arguments was most of the append's
# cost in the client (redis-py packs each in Python); cjson decodes them in C. Every key is built from
# the channel's prefix, so all share its hash tag (one cluster shard).
_APPEND = """
local live, source, prefix, publish, sync = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local meta = cjson.decode(ARGV[6])
local out = {}
local last = false
for i, m in ipairs(meta) do
  local tlp, typ, sid, version, order, refs = m[1], m[2], m[3], m[4], m[5], m[6]
  local versions = prefix .. 'v:' .. sid
  local existing = redis.call('HGET', versions, version)
  if existing then
    -- The stored TLP of the duplicate, so that its id is shown only to those who may read it.
    local stored, level = redis.call('XRANGE', KEYS[1], existing, existing), '4'
    if stored[1] then
      local f = stored[1][2]
      for j = 1, #f, 2 do if f[j] == 'tlp' then level = f[j + 1] break end end
    end
    out[i] = {0, existing, level}
  else
    local id = redis.call('XADD', KEYS[1], '*', 'src', source, 'tlp', tlp,
      'typ', typ, 'sid', sid, 'ver', version, 'obj', ARGV[6 + i])
    redis.call('HSET', versions, version, id)
    local current = redis.call('HGET', KEYS[2], sid)
    if (not current) or string.sub(current, 1, string.find(current, ' ') - 1) < order then
      redis.call('HSET', KEYS[2], sid, order .. ' ' .. id)
    end
    redis.call('SADD', prefix .. 't:' .. typ, sid)
    for _, ref in ipairs(refs) do
      redis.call('SADD', prefix .. 'r:' .. ref, sid)
    end
    out[i] = {1, id, tlp}
    last = id
  end
end
if last then
  redis.call(publish, live, last)
elseif sync == '1' then
  redis.call('INCR', prefix .. 'sync')
end
return out
"""

# KEYS: the owners hash. ARGV: the claimant, then ids. Each id not yet owned becomes the claimant's; returns
# every id's owner, in order. Atomic, so two stakeholders racing for a new id cannot both win.
_CLAIM = """
local out = {}
for i = 2, #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])
  out[i - 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out
"""

# Remove every entry before ARGV[1], remembering the newest removed id (only ever moving forward).
_TRIM = """
local below = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #below == 0 then return 0 end
redis.call('SET', KEYS[2], below[1][1])
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
"""

_guard = guard  # the old name, until its last callers move into the store

__all__ = ["Appended", "Client", "Store", "TokenRecord", "TokenStore", "connect", "guard"]


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


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    stakeholder: str
    digest: str
    created: float
    revoked: float | None = None
    label: str = ""


class Store:
    """Channels and objects in Redis. One instance per hub process, shared by every request."""

    def __init__(self, client: Client, namespace: str = "chub", *, wait_replicas: int = 0, wait_ms: int = 1000) -> None:
        """``wait_replicas``: replicas that must confirm an append within ``wait_ms`` (0: none)."""
        self.redis = client
        self.ns = namespace
        self.wait_replicas = wait_replicas
        self.wait_ms = wait_ms
        self._publish = live.publish_command(client)
        self._append = client.register_script(_APPEND)
        self._trim = client.register_script(_TRIM)
        self._claim = client.register_script(_CLAIM)

    # keys ----------------------------------------------------------------
    def channel_prefix(self, channel: str) -> str:
        """The start of every key of ``channel``; its hash tag keeps them on one cluster shard."""
        return f"{self.ns}:{{ch:{channel}}}:"

    def log_key(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}log"

    def versions_key(self, channel: str, stix_id: str) -> str:
        return f"{self.channel_prefix(channel)}v:{stix_id}"  # the append script builds the same name

    def latest_key(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}latest"

    def trimmed_key(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}trimmed"

    def type_key(self, channel: str, stix_type: str) -> str:
        return f"{self.channel_prefix(channel)}t:{stix_type}"

    def referrers_key(self, channel: str, stix_id: str) -> str:
        return f"{self.channel_prefix(channel)}r:{stix_id}"

    def owners_key(self) -> str:
        return f"{self.ns}:owners"

    def live_channel(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}live"

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
        pattern = self.live_channel("*") if whole_namespace else None
        return await live.subscribe(self.redis, [self.live_channel(c) for c in channels], pattern)

    # events --------------------------------------------------------------
    async def append(self, channel: str, source: str, items: Sequence[StixItem]) -> list[Appended]:
        """Append ``items`` to ``channel`` atomically; already-stored versions are reported as duplicates.

        With ``wait_replicas``, raises :class:`NotReplicated` unless that many
        replicas confirm the append, duplicates included, within ``wait_ms``.
        """
        if not items:
            return []
        keys = [self.log_key(channel), self.latest_key(channel)]
        meta = [
            [str(int(it.tlp)), it.type, it.id, it.version, version_key(it.version) or "0", refs_of(it.obj)]
            for it in items
        ]
        args: list[Any] = [self.live_channel(channel), source, self.channel_prefix(channel), self._publish]
        args += ["1" if self.wait_replicas else "0", orjson.dumps(meta), *(it.raw for it in items)]
        async with guard():
            if not self.wait_replicas:
                replies = await self._append(keys=keys, args=args)
            else:
                write = ("EVAL", _APPEND, len(keys), *keys, *args)  # EVAL: no NOSCRIPT on a just-promoted replica
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

    async def claim(self, claimant: str, stix_ids: Sequence[str]) -> list[str]:
        """Make ``claimant`` the owner of each of ``stix_ids`` that has none yet; returns each id's owner.

        Ids are compared case-insensitively, as STIX compares their UUID part.
        One hash for the whole hub (one key, so one cluster shard), written
        before the objects are appended: an append that then fails leaves
        the claim, so the claimant's retry is still its own.
        """
        if not stix_ids:
            return []
        async with guard():
            owners = await self._claim(keys=[self.owners_key()], args=[claimant, *(i.lower() for i in stix_ids)])
        return [o.decode() for o in owners]

    async def adopt(self, owners: Sequence[tuple[str, str]]) -> int:
        """Record each ``(stix id, owner)`` whose id has no owner yet; returns how many were recorded."""
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for stix_id, owner in owners:
                    pipe.hsetnx(self.owners_key(), stix_id.lower(), owner)
                replies = await pipe.execute()
        return sum(1 for r in replies if r)

    async def owners_recorded(self) -> bool:
        """Whether the owners of the objects stored before ownership was tracked are recorded."""
        async with guard():
            return bool(await self.redis.exists(f"{self.owners_key()}:recorded"))

    async def mark_owners_recorded(self) -> None:
        async with guard():
            await self.redis.set(f"{self.owners_key()}:recorded", str(int(time.time())))

    async def read(self, channel: str, after: str, count: int) -> list[Event]:
        """Up to ``count`` events of ``channel`` strictly after event id ``after``, oldest first."""
        async with guard():
            entries = _entries(await self.redis.xrange(self.log_key(channel), f"({after}", "+", count=count))
        return [Event.from_fields(eid.decode(), channel, fields) for eid, fields in entries]

    async def last_id(self, channel: str) -> str | None:
        """The id of the newest event of ``channel``, None if it has none."""
        async with guard():
            entries = _entries(await self.redis.xrevrange(self.log_key(channel), "+", "-", count=1))
        return entries[0][0].decode() if entries else None

    async def first_id(self, channel: str) -> str | None:
        """The id of the oldest event still kept in ``channel``, None if it has none."""
        async with guard():
            entries = _entries(await self.redis.xrange(self.log_key(channel), "-", "+", count=1))
        return entries[0][0].decode() if entries else None

    async def trimmed_to(self, channel: str) -> str | None:
        """The id of the newest event removed by retention: history at or before it is gone."""
        async with guard():
            value = cast(bytes | None, await self.redis.get(self.trimmed_key(channel)))
        return value.decode() if value else None

    async def trim(self, channel: str, *, max_events: int | None = None, max_age_ms: int | None = None) -> int:
        """Apply retention to ``channel``; returns how many events were removed.

        Records the newest removed id first, so that a client resuming from
        before it is told of the gap instead of silently missing events.
        """
        bounds: list[str] = []
        async with guard():
            if max_events is not None:
                kept = _entries(await self.redis.xrevrange(self.log_key(channel), "+", "-", count=max_events))
                if len(kept) == max_events:
                    bounds.append(kept[-1][0].decode())
            if max_age_ms is not None:
                server_ms = int((await self.redis.time())[0]) * 1000
                bounds.append(f"{server_ms - max_age_ms}-0")
            if not bounds:
                return 0
            min_id = max(bounds, key=id_key)
            removed: int = await self._trim(keys=[self.log_key(channel), self.trimmed_key(channel)], args=[min_id])
        return removed

    async def events_by_id(self, channel: str, event_ids: Sequence[str]) -> list[Event]:
        """The events of ``channel`` with these ids (missing ones are skipped), in the given order."""
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for eid in event_ids:
                    pipe.xrange(self.log_key(channel), eid, eid)
                replies = await pipe.execute()
        return [Event.from_fields(e[0][0].decode(), channel, e[0][1]) for e in replies if e]

    async def versions(self, channels: Sequence[str], stix_id: str) -> dict[str, dict[str, str]]:
        """Per channel, the stored versions of ``stix_id`` (version → event id); channels without it omitted."""
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel in channels:
                    pipe.hgetall(self.versions_key(channel, stix_id))
                replies = await pipe.execute()
        return {
            channel: {v.decode(): eid.decode() for v, eid in reply.items()}
            for channel, reply in zip(channels, replies, strict=True)
            if reply
        }

    async def versions_of_many(
        self, channels: Sequence[str], stix_ids: Sequence[str]
    ) -> dict[str, dict[str, dict[str, str]]]:
        """:meth:`versions` of each of ``stix_ids`` at once (one pipeline): id → channel → version → event id."""
        pairs = [(sid, channel) for sid in stix_ids for channel in channels]
        if not pairs:
            return {}
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                for sid, channel in pairs:
                    pipe.hgetall(self.versions_key(channel, sid))
                replies = await pipe.execute()
        found: dict[str, dict[str, dict[str, str]]] = {sid: {} for sid in stix_ids}
        for (sid, channel), reply in zip(pairs, replies, strict=True):
            if reply:
                found[sid][channel] = {v.decode(): eid.decode() for v, eid in reply.items()}
        return found

    async def ids_of_type(self, channel: str, stix_type: str) -> set[str]:
        """Every STIX id of ``stix_type`` ever stored in ``channel``."""
        async with guard():
            members = cast(set[bytes], await self.redis.smembers(self.type_key(channel, stix_type)))
        return {m.decode() for m in members}

    async def referring(self, channel: str, stix_id: str) -> set[str]:
        """The STIX ids of the objects in ``channel`` that refer to ``stix_id``."""
        async with guard():
            members = cast(set[bytes], await self.redis.smembers(self.referrers_key(channel, stix_id)))
        return {m.decode() for m in members}

    async def latest_events(self, channel: str, stix_ids: Sequence[str]) -> list[Event]:
        """The newest stored version of each of ``stix_ids`` in ``channel`` (unknown ids skipped)."""
        latest = await self.latest(channel, stix_ids)
        return await self.events_by_id(channel, [latest[sid] for sid in stix_ids if sid in latest])

    async def latest(self, channel: str, stix_ids: Sequence[str]) -> dict[str, str]:
        """The event id of the newest version of each STIX id in ``channel`` (unknown ids omitted)."""
        if not stix_ids:
            return {}
        async with guard():
            replies = cast(list[bytes | None], await self.redis.hmget(self.latest_key(channel), list(stix_ids)))
        return {sid: r.decode().split(" ", 1)[1] for sid, r in zip(stix_ids, replies, strict=True) if r}

    async def clock_and_last_id(self, channel: str) -> tuple[int, str | None]:
        """The Redis time in milliseconds where ``channel`` lives, and its newest event id, read at one instant.

        The time comes from the server that numbers the channel's events (the
        script runs on its shard), so every event appended afterwards has an id
        at or after this millisecond.
        """
        async with guard():
            seconds, micros, last = await self.redis.eval(
                "local t = redis.call('TIME') "
                "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) "
                "return {t[1], t[2], e[1] and e[1][1] or false}",
                1,
                self.log_key(channel),
            )
        return int(seconds) * 1000 + int(micros) // 1000, last.decode() if last else None

    async def secret(self, name: str) -> bytes:
        """A random 256-bit secret of this hub, made on first use and shared by every process on this Redis."""
        import secrets

        key = f"{self.ns}:secret:{name}"
        async with guard():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(key, secrets.token_bytes(32), nx=True)
                pipe.get(key)
                _, value = await pipe.execute()
        return cast(bytes, value)


def _entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """redis-py's stream replies, typed as they are with ``decode_responses=False``."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], reply)


class TokenStore:
    """API tokens in one Redis hash: token id → JSON record (a digest, never the secret)."""

    def __init__(self, client: Client, namespace: str = "chub") -> None:
        self.redis = client
        self.key = f"{namespace}:tokens"

    async def add(self, stakeholder: str, token: NewToken, label: str = "") -> TokenRecord:
        record = TokenRecord(token.token_id, stakeholder, token.digest, time.time(), None, label)
        async with guard():
            await self.redis.hset(self.key, token.token_id, orjson.dumps(asdict(record)))
        return record

    async def get(self, token_id: str) -> TokenRecord | None:
        async with guard():
            raw = await self.redis.hget(self.key, token_id)
        return TokenRecord(**orjson.loads(raw)) if raw else None

    async def list(self) -> list[TokenRecord]:
        async with guard():
            raw = await self.redis.hgetall(self.key)
        return sorted((TokenRecord(**orjson.loads(v)) for v in raw.values()), key=lambda r: r.created)

    async def revoke(self, token_id: str) -> TokenRecord:
        record = await self.get(token_id)
        if record is None:
            raise NotFound(f"no token with id {token_id}")
        if record.revoked is None:
            record = dataclasses_replace(record, revoked=time.time())
            async with guard():
                await self.redis.hset(self.key, token_id, orjson.dumps(asdict(record)))
        return record
