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

# KEYS: the log, the latest index. ARGV: live channel, source, key prefix, publish command, sync ("1": the
# append waits for replicas, so it must write even if every object is a duplicate), the acting person's id
# and name ("" when no person acted: a token's write adds no field), then one JSON array of
# [tlp, type, id, version, version order, [referenced ids]] per object, then each object's bytes.
# One JSON argument rather than seven or more per object: packing the arguments was most of the append's
# cost in the client (redis-py packs each in Python); cjson decodes them in C. Every key is built from
# the channel's prefix, so all share its hash tag (one cluster shard).
APPEND: Final = """
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

# KEYS: the channel's log, its latest hash, the object's version hash, the
# channel's set of ids of the object's type, then the channel's referrer sets
# of the objects the deleted versions refer to.
# ARGV: the STIX id, then (version, event id) pairs to delete; a pair whose
# version no longer maps to that event (deleted or re-added since it was read)
# is left alone. The newest remaining version then becomes the object's
# latest, ranked as the append script ranks versions: by version key, and
# between equal keys the one stored first. Once no version is left, the
# object leaves the type and referrer indexes; while one is, they keep it, as
# the append script never takes anything out of them either.
DELETE_VERSIONS: Final = """
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
