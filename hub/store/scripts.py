"""Every Lua script of the hub, with the keys and arguments each expects.

A script runs atomically inside Redis: what it reads cannot change before it
writes, which is what each of these needs (an object stored once, an owner
claimed once, a checkpoint moved only by the lease holder, an audit batch
chained onto the head it was chained to). On a Redis Cluster a script may only
touch keys of one slot: each one's keys share a hash tag (see
:mod:`hub.store.layout`), so it runs on the one shard that holds them.
"""

from __future__ import annotations

from typing import Final

# Channels and objects (hub.store.events) ---------------------------------------------------------

# An object's entry in its channel's index (KEYS[2] of APPEND and DELETE_VERSIONS: STIX id → versions) is
# "<event id> <version>" per stored version, joined by ",": neither holds a space or a comma, and a version may
# be empty (an object with neither `modified` nor `created`).

# KEYS: the log, the channel's object index. ARGV: live channel, source, key prefix, publish command, sync ("1":
# the append waits for replicas, so it must write even if every object is a duplicate), the acting person's id
# and name ("" when no person acted: a token's write adds no field), then one JSON array of
# [tlp, id, version, indexed type ("" for none), [referenced ids]] per object, then each object's packed bytes
# (hub.store.entries). One JSON argument rather than five or more per object: packing the arguments was most of
# the append's cost in the client (redis-py packs each in Python); cjson decodes them in C. Every key is built
# from the channel's prefix, so all share its hash tag (one cluster shard).
APPEND: Final = """
local live, source, prefix, publish, sync = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local person, person_name = ARGV[6], ARGV[7]
local meta = cjson.decode(ARGV[8])
local out = {}
local last = false
for i, m in ipairs(meta) do
  local tlp, sid, version, typ, refs = m[1], m[2], m[3], m[4], m[5]
  local entry = redis.call('HGET', KEYS[2], sid)
  local existing = false
  if entry then
    for eid, ver in string.gmatch(entry, '([^ ,]+) ([^,]*)') do
      if ver == version then existing = eid break end
    end
  end
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
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'tlp', tlp, 'z', ARGV[8 + i])
    else
      id = redis.call('XADD', KEYS[1], '*', 'src', source, 'per', person, 'pnm', person_name, 'tlp', tlp,
        'z', ARGV[8 + i])
    end
    if entry then
      redis.call('HSET', KEYS[2], sid, entry .. ',' .. id .. ' ' .. version)
    else
      redis.call('HSET', KEYS[2], sid, id .. ' ' .. version)
    end
    if typ ~= '' then redis.call('SADD', prefix .. 't:' .. typ, sid) end
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
CLAIM: Final = """
local out = {}
for i = 2, #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])
  out[i - 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out
"""

# KEYS: the log, the trimmed marker. Remove every entry before ARGV[1], remembering the newest removed id
# (only ever moving forward).
TRIM: Final = """
local below = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #below == 0 then return 0 end
redis.call('SET', KEYS[2], below[1][1])
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
"""

# KEYS: the channel's trimmed mark. ARGV: an event id. Moves the mark forward to it, never back.
MARK_TRIMMED: Final = """
local current = redis.call('GET', KEYS[1])
if current then
  local cm, cs = string.match(current, '^(%d+)-(%d+)$')
  local nm, ns = string.match(ARGV[1], '^(%d+)-(%d+)$')
  cm, cs, nm, ns = tonumber(cm), tonumber(cs), tonumber(nm), tonumber(ns)
  if cm > nm or (cm == nm and cs >= ns) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# KEYS: the log. The server's time and the newest entry's id, read at one instant on the channel's shard.
CLOCK_AND_LAST_ID: Final = """
local t = redis.call('TIME')
local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {t[1], t[2], e[1] and e[1][1] or false}
"""

# KEYS: the channel's log, its object index, the channel's set of ids of the object's type (none when its type
# is not indexed), then the channel's referrer sets of the objects the deleted versions refer to.
# ARGV: the STIX id, then (version, event id) pairs to delete; a pair whose version no longer maps to that
# event (deleted or re-added since it was read) is left alone. Once no version is left, the object leaves the
# index, and the type and referrer indexes; while one is, they keep it, as the append script never takes
# anything out of them either.
DELETE_VERSIONS: Final = """
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return 0 end
local doomed = {}
for i = 2, #ARGV, 2 do doomed[ARGV[i + 1] .. ' ' .. ARGV[i]] = true end
local kept, deleted = {}, 0
for item in string.gmatch(entry, '[^,]+') do
  if doomed[item] then
    redis.call('XDEL', KEYS[1], string.match(item, '^[^ ]+'))
    deleted = deleted + 1
  else
    kept[#kept + 1] = item
  end
end
if #kept > 0 then
  redis.call('HSET', KEYS[2], ARGV[1], table.concat(kept, ','))
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  for k = 3, #KEYS do redis.call('SREM', KEYS[k], ARGV[1]) end
end
return deleted
"""

# KEYS: the channel's object index, then legacy version hashes (``v:<id>``, one per object, written by hubs
# before the index). ARGV: the STIX id of each. Moves each object's versions into its entry of the index (those
# the entry already has are left), then deletes the legacy hash. Idempotent: several hub processes may upgrade
# a channel at once.
UPGRADE_VERSIONS: Final = """
for k = 2, #KEYS do
  local sid = ARGV[k - 1]
  local entry = redis.call('HGET', KEYS[1], sid)
  local have = {}
  if entry then
    for _, ver in string.gmatch(entry, '([^ ,]+) ([^,]*)') do have[ver] = true end
  end
  local fields = redis.call('HGETALL', KEYS[k])
  local items = {}
  for i = 1, #fields, 2 do
    if not have[fields[i]] then items[#items + 1] = fields[i + 1] .. ' ' .. fields[i] end
  end
  if #items > 0 then
    table.sort(items)
    local joined = table.concat(items, ',')
    redis.call('HSET', KEYS[1], sid, entry and (entry .. ',' .. joined) or joined)
  end
  redis.call('DEL', KEYS[k])
end
return #KEYS - 1
"""

# The audit trail (hub.store.audit) --------------------------------------------------------------

# KEYS: the stream, the head. ARGV: the head the batch was chained onto, then (record, previous hash, hash)
# per entry. Appends only if the head is still that one; the head's own hash falls back on the newest
# entry's ('h', its 6th field).
AUDIT_APPEND_IF_HEAD: Final = """
local head = redis.call('GET', KEYS[2])
if not head then
  local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  head = newest and newest[2][6] or ''
end
if head ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 3 do
  redis.call('XADD', KEYS[1], '*', 'r', ARGV[i], 'p', ARGV[i + 1], 'h', ARGV[i + 2])
end
redis.call('SET', KEYS[2], ARGV[#ARGV])
return 1
"""

# Leases (hub.store.lease) and connectors (hub.store.connectors) ----------------------------------
# KEYS[1] is the lease; ARGV[1] the owner that must hold it.

# KEYS: the lease, the checkpoint. ARGV: the owner, the checkpoint's new value.
SAVE_IF_HOLDER: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""

# KEYS: the lease. ARGV: the owner, the lease's new lifetime in milliseconds.
RENEW_IF_HOLDER: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: the lease. ARGV: the owner.
RELEASE_IF_HOLDER: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# People (hub.store.people) -------------------------------------------------------------------------

# KEYS: a person's last one-time-code step. ARGV: the step of a code just checked. Records it only if it is
# later than the last one used; 1 if it was. Atomic: two sign-ins racing with one code cannot both pass.
USE_TOTP_STEP: Final = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > last then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


# The notifications' outbox (hub.store.outbox) ------------------------------------------------------

# KEYS: the items hash, the due set, the log set (one hash tag). ARGV: id, JSON record, when it is due,
# when it was made. A notification is queued once: its id is derived from what it is and for whom, and an id
# seen before (queued, sent or failed) is not queued again.
OUTBOX_ADD: Final = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""

# The hub processes' load (hub.store.load) -----------------------------------------------------------

# KEYS: the load hash. ARGV: this process's id, its pressure, how long the figure holds (ms). Each field is
# "<pressure> <until, ms of Redis's clock>": one clock for every process, so their skew does not matter.
# Returns the other processes' pressures that still hold, and forgets those that no longer do (a process
# that stopped or died).
SHARE_LOAD: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (now + tonumber(ARGV[3])))
local all, out = redis.call('HGETALL', KEYS[1]), {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local space = string.find(value, ' ', 1, true)
  if not space or tonumber(string.sub(value, space + 1)) < now then
    redis.call('HDEL', KEYS[1], field)
  elseif field ~= ARGV[1] then
    out[#out + 1] = string.sub(value, 1, space - 1)
  end
end
return out
"""
