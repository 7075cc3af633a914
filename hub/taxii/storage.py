"""The Redis queries TAXII needs, on the hub's own store (:mod:`hub.store` says what each key holds).

Reads walk a channel's stream by position and look up object versions;
deleting an object's versions is one Lua script, so that the stream, the
object's version hash and the channel's "latest" hash change together or not
at all. Status resources live under the store's namespace with a time to
live, so that any hub process can answer for a status another one created.

Every Redis failure surfaces as :class:`hub.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import orjson

from hub.events import Event
from hub.refs import refs_of
from hub.store import Store, _guard
from hub.taxii.pagination import StreamId

STATUS_TTL_SECONDS: Final = 3 * 24 * 3600

# KEYS: the channel's log, its latest hash, the object's version hash, the
# channel's set of ids of the object's type, then the channel's referrer sets
# of the objects the deleted versions refer to (see hub/store.py).
# ARGV: the STIX id, then (version, event id) pairs to delete; a pair whose
# version no longer maps to that event (deleted or re-added since it was read)
# is left alone. The newest remaining version then becomes the object's
# latest, ranked as the append script ranks versions: by version key, and
# between equal keys the one stored first. Once no version is left, the
# object leaves the type and referrer indexes; while one is, they keep it, as
# the append script never takes anything out of them either.
_DELETE = """
local function order(version)
  if version == '' then return '0' end
  local stamp = string.gsub(version, '[Zz]+$', '')
  local whole, fraction = stamp, ''
  local dot = string.find(stamp, '.', 1, true)
  if dot then whole, fraction = string.sub(stamp, 1, dot - 1), string.sub(stamp, dot + 1) end
  return whole .. '.' .. fraction .. string.rep('0', 9 - #fraction)
end
local deleted = 0
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] then
    redis.call('XDEL', KEYS[1], ARGV[i + 1])
    redis.call('HDEL', KEYS[3], ARGV[i])
    deleted = deleted + 1
  end
end
local best, best_order, best_ms, best_seq = false, '', 0, 0
local remaining = redis.call('HGETALL', KEYS[3])
for i = 1, #remaining, 2 do
  local key, id = order(remaining[i]), remaining[i + 1]
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  ms, seq = tonumber(ms), tonumber(seq)
  if (not best) or key > best_order or (key == best_order and (ms < best_ms or (ms == best_ms and seq < best_seq))) then
    best, best_order, best_ms, best_seq = id, key, ms, seq
  end
end
if best then
  redis.call('HSET', KEYS[2], ARGV[1], best_order .. ' ' .. best)
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  for k = 4, #KEYS do redis.call('SREM', KEYS[k], ARGV[1]) end
end
return deleted
"""


class TaxiiStorage:
    """TAXII's view of a :class:`hub.store.Store`: one per request, it holds no state of its own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._delete = store.redis.register_script(_DELETE)

    async def scan(self, channel: str, start: StreamId, count: int) -> list[Event]:
        """Up to ``count`` events of ``channel`` from position ``start`` (inclusive), oldest first."""
        async with _guard():
            entries = cast(
                list[tuple[bytes, dict[bytes, bytes]]],
                await self.store.redis.xrange(self.store.log_key(channel), str(start), "+", count=count),
            )
        return [Event.from_fields(eid.decode(), channel, fields) for eid, fields in entries]

    async def events(self, channel: str, event_ids: Sequence[str]) -> list[Event]:
        """The events of ``channel`` with these ids, in that order; deleted ones are skipped."""
        if not event_ids:
            return []
        return await self.store.events_by_id(channel, event_ids)

    async def latest(self, channel: str, stix_ids: Sequence[str]) -> dict[str, str]:
        """The event id of each object's newest version in ``channel`` (whatever its TLP)."""
        return await self.store.latest(channel, stix_ids)

    async def version_maps(self, channel: str, stix_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """For each object, its versions in ``channel`` (version → event id); empty for an unknown object."""
        if not stix_ids:
            return {}
        async with _guard():
            async with self.store.redis.pipeline(transaction=False) as pipe:
                for stix_id in stix_ids:
                    pipe.hgetall(self.store.versions_key(channel, stix_id))
                replies = await pipe.execute()
        return {
            stix_id: {version.decode(): eid.decode() for version, eid in reply.items()}
            for stix_id, reply in zip(stix_ids, replies, strict=True)
        }

    async def delete_versions(self, channel: str, versions: Sequence[Event]) -> int:
        """Delete these versions of one object atomically; the number actually deleted."""
        if not versions:
            return 0
        stix_id, stix_type = versions[0].stix_id, versions[0].type
        refs = dict.fromkeys(ref for event in versions for ref in refs_of(orjson.loads(event.raw)))
        keys = [
            self.store.log_key(channel),
            self.store.latest_key(channel),
            self.store.versions_key(channel, stix_id),
            self.store.type_key(channel, stix_type),
            *(self.store.referrers_key(channel, ref) for ref in refs),
        ]
        args = [stix_id] + [part for event in versions for part in (event.version, event.id)]
        async with _guard():
            return int(await self._delete(keys=keys, args=args))

    # status resources ----------------------------------------------------
    def _status_key(self, status_id: str) -> str:
        return f"{self.store.ns}:taxii:status:{status_id}"

    async def save_status(self, status_id: str, owner: str, resource: dict[str, Any]) -> None:
        """Keep a status resource for a few days, with the stakeholder that may read it."""
        record = orjson.dumps({"owner": owner, "resource": resource})
        async with _guard():
            await self.store.redis.set(self._status_key(status_id), record, ex=STATUS_TTL_SECONDS)

    async def load_status(self, status_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(owner, resource)`` of a kept status resource, or None if unknown or expired."""
        async with _guard():
            raw = await self.store.redis.get(self._status_key(status_id))
        if raw is None:
            return None
        record = orjson.loads(raw)
        return record["owner"], record["resource"]
