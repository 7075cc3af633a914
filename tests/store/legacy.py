"""The store as hubs before the channel index wrote it, written by their own append script, verbatim.

So that the upgrade is tested on what an operator's Redis holds, not on what
we think it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from hub.refs import refs_of
from hub.stix import StixItem
from hub.store import Client
from hub.versions import order_key

LEGACY_APPEND = """
local live, source, prefix, publish, sync = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local person, person_name = ARGV[6], ARGV[7]
local meta = cjson.decode(ARGV[8])
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
    local id
    if person == '' then
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'tlp', tlp,
        'typ', typ, 'sid', sid, 'ver', version, 'obj', ARGV[8 + i])
    else
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'per', person, 'pnm', person_name, 'tlp', tlp,
        'typ', typ, 'sid', sid, 'ver', version, 'obj', ARGV[8 + i])
    end
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


async def legacy_append(client: Client, namespace: str, channel: str, items: Sequence[StixItem]) -> list[str]:
    """Append as a hub before the channel index did; the new event ids."""
    prefix = f"{namespace}:{{ch:{channel}}}:"
    meta = [[str(int(i.tlp)), i.type, i.id, i.version, order_key(i.version), refs_of(i.obj)] for i in items]
    args: list[Any] = [prefix + "live", "cidge", prefix, "PUBLISH", "0", "", "", orjson.dumps(meta)]
    replies = await client.eval(LEGACY_APPEND, 2, prefix + "log", prefix + "latest", *args, *(i.raw for i in items))
    return [event_id.decode() for _, event_id, _ in replies]
