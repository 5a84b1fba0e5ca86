"""The Lua scripts of the Redis cache backend: every change to an entry and its bookkeeping is one atomic script.

Layout under a key prefix P, the configured prefix made one hash tag ("{switchyard:cache:}", see
redisutil.one_slot), so on a Redis Cluster every key below sits in one slot and a script may reach
any of them (tenant names are followed by a fixed suffix, so no two tenants share a key):

    P e:<key>              hash: p payload, v vector, f fingerprint, x text, t tenant, g group,
                                 k tokens, c cost, d deployment id, s size, cr created ms,
                                 h last hit ms  (PEXPIRE ttl)
    P owner / P group      hash: key -> tenant / key -> model group (to find an entry's bookkeeping)
    P t:<tenant>:lru       zset: key -> when last stored or hit (P t:<tenant>:seq, a per-tenant counter:
                                 strictly increasing, so entries touched in one millisecond keep
                                 their order), the eviction order
    P t:<tenant>:exp       zset: key -> expiry (ms), to drop expired entries from the bookkeeping
    P t:<tenant>:size      hash: key -> bytes counted;  P t:<tenant>:bytes  their sum
    P tenants              set of tenants with entries
    P feed                 stream of changes every replica follows: put / del / clear events

Times come from the Redis server's clock (TIME), so replicas agree on expiry and recency.
"""

from __future__ import annotations

# Shared by every script: ARGV[1] is the prefix P; now() is the server's time in ms; forget(k)
# drops key k's bookkeeping (not the entry itself) and returns whether it had any.
_PRELUDE = """
local P = ARGV[1]
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function tick(tp)
  return redis.call('INCR', tp .. 'seq')
end
local function forget(k)
  local tenant = redis.call('HGET', P .. 'owner', k)
  if not tenant then return false end
  local tp = P .. 't:' .. tenant .. ':'
  local size = redis.call('HGET', tp .. 'size', k)
  if size then
    redis.call('DECRBY', tp .. 'bytes', size)
    redis.call('HDEL', tp .. 'size', k)
  end
  redis.call('ZREM', tp .. 'lru', k)
  redis.call('ZREM', tp .. 'exp', k)
  redis.call('HDEL', P .. 'owner', k)
  redis.call('HDEL', P .. 'group', k)
  return true
end
local function publish(maxlen, ...)
  redis.call('XADD', P .. 'feed', 'MAXLEN', '~', maxlen, '*', ...)
end
"""

# ARGV: P, maxlen, key, tenant, group, ttl_ms, tenant bound (bytes), size, then the entry's
# field/value pairs. Drops the tenant's expired entries, writes the entry, evicts the tenant's least
# recently used entries beyond its bound, publishes the changes. Returns {expires_at_ms, evicted...}.
STORE = (
    _PRELUDE
    + """
local maxlen, key, tenant, group = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl, bound, size = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local tp = P .. 't:' .. tenant .. ':'
local at = now()
local gone = {}
for _, k in ipairs(redis.call('ZRANGEBYSCORE', tp .. 'exp', '-inf', at)) do
  forget(k)
  redis.call('DEL', P .. 'e:' .. k)
  gone[#gone + 1] = k
end
forget(key)
local entry = P .. 'e:' .. key
redis.call('DEL', entry)
redis.call('HSET', entry, 'cr', at, 'h', at, unpack(ARGV, 9))
redis.call('PEXPIRE', entry, ttl)
redis.call('HSET', P .. 'owner', key, tenant)
redis.call('HSET', P .. 'group', key, group)
redis.call('ZADD', tp .. 'lru', tick(tp), key)
redis.call('ZADD', tp .. 'exp', at + ttl, key)
redis.call('HSET', tp .. 'size', key, size)
local total = redis.call('INCRBY', tp .. 'bytes', size)
redis.call('SADD', P .. 'tenants', tenant)
while total > bound do
  local oldest = redis.call('ZRANGE', tp .. 'lru', 0, 0)[1]
  if not oldest or oldest == key then break end
  forget(oldest)
  redis.call('DEL', P .. 'e:' .. oldest)
  gone[#gone + 1] = oldest
  total = tonumber(redis.call('GET', tp .. 'bytes'))
end
local vector = redis.call('HGET', entry, 'v') or ''
local fingerprint = redis.call('HGET', entry, 'f') or ''
publish(maxlen, 'op', 'put', 'key', key, 't', tenant, 'exp', at + ttl, 'f', fingerprint, 'v', vector)
if #gone > 0 then publish(maxlen, 'op', 'del', 'keys', table.concat(gone, ',')) end
local result = {at + ttl}
for _, k in ipairs(gone) do result[#result + 1] = k end
return result
"""
)

# ARGV: P, key. Returns the entry's fields (empty when it is gone) and marks it recently hit.
GET = (
    _PRELUDE
    + """
local key = ARGV[2]
local entry = P .. 'e:' .. key
local fields = redis.call('HGETALL', entry)
if #fields == 0 then return fields end
local tenant = redis.call('HGET', entry, 't')
local at = now()
redis.call('HSET', entry, 'h', at)
local tp = P .. 't:' .. tenant .. ':'
if redis.call('ZSCORE', tp .. 'lru', key) then redis.call('ZADD', tp .. 'lru', tick(tp), key) end
return fields
"""
)

# ARGV: P, maxlen, keys... Removes those entries, publishes their removal, returns how many existed.
DELETE = (
    _PRELUDE
    + """
local maxlen = ARGV[2]
local removed = 0
local gone = {}
for i = 3, #ARGV do
  local k = ARGV[i]
  forget(k)
  removed = removed + redis.call('DEL', P .. 'e:' .. k)
  gone[#gone + 1] = k
end
if #gone > 0 then publish(maxlen, 'op', 'del', 'keys', table.concat(gone, ',')) end
return removed
"""
)

# ARGV: P, maxlen, tenant. Removes every entry of the tenant, publishes it, returns how many existed.
CLEAR_TENANT = (
    _PRELUDE
    + """
local maxlen, tenant = ARGV[2], ARGV[3]
local tp = P .. 't:' .. tenant .. ':'
local removed = 0
for _, k in ipairs(redis.call('ZRANGE', tp .. 'lru', 0, -1)) do
  removed = removed + redis.call('DEL', P .. 'e:' .. k)
  redis.call('HDEL', P .. 'owner', k)
  redis.call('HDEL', P .. 'group', k)
end
redis.call('DEL', tp .. 'lru', tp .. 'exp', tp .. 'size', tp .. 'bytes', tp .. 'seq')
redis.call('SREM', P .. 'tenants', tenant)
publish(maxlen, 'op', 'clear', 't', tenant)
return removed
"""
)
