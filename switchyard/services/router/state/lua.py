"""The Lua scripts that make every read-modify-write of the shared router state atomic in Redis.

Time: each script takes `now` as its first argument; an empty string means "read Redis's TIME", so
every replica on every host measures windows, cooldowns and expiries on one clock (Redis's). Tests
pass a fake clock's reading instead. Replies are one '|'-joined string (times formatted by num():
a Lua number would reach Python truncated to an integer), which is also far cheaper to parse than
a RESP array.

Keys of one deployment share a hash tag ({deployment id}), so each script touches one Redis Cluster
slot:  w  zset ticket -> admitted at (the rate window)      t  hash ticket -> tokens, "_" -> their sum
       i  zset ticket -> in-flight mark expires at           f  zset failure id -> failed at
       s  hash lat ttft n (EWMAs) cu (circuit open until) pu (probe lease until) ru (circuit closed at)
               rq rq_at rt rt_at (provider's remaining requests/tokens and until when they hold)
"""

from __future__ import annotations

PRELUDE = """
local function clock(arg)
  local now = tonumber(arg)
  if now then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x)
  if x == nil then return false end
  return string.format('%.6f', x)
end
local function pack(...)
  local parts = {}
  for k = 1, select('#', ...) do
    local v = select(k, ...)
    parts[k] = (v == nil or v == false) and '' or tostring(v)
  end
  return table.concat(parts, '|')
end
local function trim(w, t, cutoff)
  local old = redis.call('ZRANGEBYSCORE', w, '-inf', cutoff)
  if #old == 0 then return end
  local freed = 0
  for i = 1, #old, 500 do
    local batch = {unpack(old, i, math.min(i + 499, #old))}
    local values = redis.call('HMGET', t, unpack(batch))
    for j = 1, #batch do freed = freed + (tonumber(values[j]) or 0) end
    redis.call('HDEL', t, unpack(batch))
  end
  redis.call('ZREMRANGEBYSCORE', w, '-inf', cutoff)
  redis.call('HINCRBY', t, '_', -freed)
end
-- nil when one more request of `tokens` fits the sliding window (w: request -> admitted at, t: request
-- -> tokens, '_' their sum; used and total its current size), else the limit it breaks ('rpm' or 'tpm')
-- and the seconds until it would fit; the tpm wait looks at the `scan` oldest requests at most (0: all).
local function over(w, t, now, window, rpm, tpm, tokens, used, total, scan)
  if rpm >= 0 and used + 1 > rpm then
    if rpm == 0 then return 'rpm', window end
    local oldest = redis.call('ZRANGE', w, used - rpm, used - rpm, 'WITHSCORES')
    return 'rpm', tonumber(oldest[2]) + window - now
  end
  if tpm >= 0 and total + tokens > tpm then
    local wait = window
    if tokens <= tpm then
      local need, freed = total + tokens - tpm, 0
      local oldest = redis.call('ZRANGE', w, 0, scan - 1, 'WITHSCORES')
      for j = 1, #oldest, 2 do
        freed = freed + (tonumber(redis.call('HGET', t, oldest[j])) or 0)
        if freed >= need then
          wait = tonumber(oldest[j + 1]) + window - now
          break
        end
      end
    end
    return 'tpm', wait
  end
  return nil
end
local STATS_TTL_MS = 86400000
"""

# KEYS w t i s; ARGV now window rpm_limit tpm_limit (-1: none) tokens ticket in_flight_ttl retry_scan
# -> admitted 0/1|reason|retry_after|rpm_used|tpm_used|now|in_flight
ADMIT = (
    PRELUDE
    + """
local now = clock(ARGV[1])
local window, rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, ticket, ttl = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
trim(KEYS[1], KEYS[2], now - window)
local used = redis.call('ZCARD', KEYS[1])
local total = tonumber(redis.call('HGET', KEYS[2], '_')) or 0
local function refuse(reason, wait)
  return pack(0, reason, num(wait), used, total, num(now), 0)
end
local q = redis.call('HMGET', KEYS[4], 'rq', 'rq_at', 'rt', 'rt_at')
if q[1] and tonumber(q[1]) <= 0 and now < tonumber(q[2]) then
  return refuse('provider_requests', tonumber(q[2]) - now)
end
if q[3] and tonumber(q[3]) <= 0 and now < tonumber(q[4]) then
  return refuse('provider_tokens', tonumber(q[4]) - now)
end
local limit, wait = over(KEYS[1], KEYS[2], now, window, rpm, tpm, tokens, used, total, tonumber(ARGV[8]))
if limit then return refuse(limit, wait) end
redis.call('ZADD', KEYS[1], now, ticket)
redis.call('HSET', KEYS[2], ticket, tokens)
total = redis.call('HINCRBY', KEYS[2], '_', tokens)
local keep = math.ceil(window * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], now + ttl, ticket)
redis.call('PEXPIRE', KEYS[3], math.ceil(ttl * 1000) + 1000)
return pack(1, '', '0', used + 1, total, num(now), redis.call('ZCARD', KEYS[3]))
"""
)

# KEYS w t i; ARGV now window ticket actual_tokens (-1: keep the estimate) -> rpm_used|tpm_used|in_flight|now
SETTLE = (
    PRELUDE
    + """
local now = clock(ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[3])
local actual = tonumber(ARGV[4])
if actual >= 0 then
  local old = redis.call('HGET', KEYS[2], ARGV[3])
  if old then
    redis.call('HSET', KEYS[2], ARGV[3], actual)
    redis.call('HINCRBY', KEYS[2], '_', actual - tonumber(old))
  end
end
trim(KEYS[1], KEYS[2], now - tonumber(ARGV[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
return pack(redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], '_')) or 0,
            redis.call('ZCARD', KEYS[3]), num(now))
"""
)

# KEYS s f; ARGV now latency_ms ttft_ms (-1: none) alpha -> latency|ttft|samples|open_until|now|recovered_at
SUCCESS = (
    PRELUDE
    + """
local now = clock(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'lat', 'ttft', 'n', 'cu', 'ru')
local alpha = tonumber(ARGV[4])
local lat, old = tonumber(ARGV[2]), tonumber(v[1])
if old then lat = old + alpha * (lat - old) end
local ttft, sample = tonumber(v[2]), tonumber(ARGV[3])
if sample >= 0 then
  if ttft then ttft = ttft + alpha * (sample - ttft) else ttft = sample end
  redis.call('HSET', KEYS[1], 'ttft', num(ttft))
end
local n = (tonumber(v[3]) or 0) + 1
redis.call('HSET', KEYS[1], 'lat', num(lat), 'n', n)
local cu, ru = tonumber(v[4]), tonumber(v[5])
if cu and now >= cu then
  redis.call('HDEL', KEYS[1], 'cu', 'pu')
  redis.call('HSET', KEYS[1], 'ru', num(now))
  redis.call('DEL', KEYS[2])
  cu, ru = nil, now
end
redis.call('PEXPIRE', KEYS[1], STATS_TTL_MS)
return pack(num(lat), num(ttft), n, num(cu), num(now), num(ru))
"""
)

# KEYS s f; ARGV now window allowed_fails cooldown failure_id -> state|open_until|now
FAILURE = (
    PRELUDE
    + """
local now = clock(ARGV[1])
local window, allowed, cooldown = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cu = tonumber(redis.call('HGET', KEYS[1], 'cu'))
local function open()
  cu = now + cooldown
  redis.call('HSET', KEYS[1], 'cu', num(cu))
  redis.call('HDEL', KEYS[1], 'pu', 'ru')
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], STATS_TTL_MS)
  return pack('open', num(cu), num(now))
end
if cu then
  if now < cu then return pack('open', num(cu), num(now)) end
  return open()
end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], math.ceil(window * 1000) + 1000)
if redis.call('ZCARD', KEYS[2]) > allowed then return open() end
return pack('closed', false, num(now))
"""
)

# KEYS s; ARGV now lease -> granted 0/1|open_until|now
PROBE = (
    PRELUDE
    + """
local now = clock(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'cu', 'pu')
local cu, pu = tonumber(v[1]), tonumber(v[2])
if not cu then return pack(1, false, num(now)) end
if now < cu or (pu and now < pu) then return pack(0, num(cu), num(now)) end
redis.call('HSET', KEYS[1], 'pu', num(now + tonumber(ARGV[2])))
return pack(1, num(cu), num(now))
"""
)

# KEYS s; ARGV now remaining_requests requests_for_s remaining_tokens tokens_for_s (-1: not reported) -> now
QUOTA = (
    PRELUDE
    + """
local now = clock(ARGV[1])
if tonumber(ARGV[2]) >= 0 then
  redis.call('HSET', KEYS[1], 'rq', ARGV[2], 'rq_at', num(now + tonumber(ARGV[3])))
end
if tonumber(ARGV[4]) >= 0 then
  redis.call('HSET', KEYS[1], 'rt', ARGV[4], 'rt_at', num(now + tonumber(ARGV[5])))
end
redis.call('PEXPIRE', KEYS[1], STATS_TTL_MS)
return num(now)
"""
)

# KEYS w t i s; ARGV now window in_flight_ttl ticket... (this replica's in-flight marks to renew)
# -> now|rpm_used|tpm_used|in_flight|lat|ttft|n|cu|rq|rq_at|rt|rt_at|ru
READ = (
    PRELUDE
    + """
local now = clock(ARGV[1])
trim(KEYS[1], KEYS[2], now - tonumber(ARGV[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if #ARGV > 3 then
  local expires = now + tonumber(ARGV[3])
  for i = 4, #ARGV do redis.call('ZADD', KEYS[3], 'XX', expires, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[3]) * 1000) + 1000)
end
local v = redis.call('HMGET', KEYS[4], 'lat', 'ttft', 'n', 'cu', 'rq', 'rq_at', 'rt', 'rt_at', 'ru')
return pack(num(now), redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], '_')) or 0,
            redis.call('ZCARD', KEYS[3]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9])
"""
)

# KEYS lock; ARGV token ttl_ms -> 1 when this token holds the lock now (taken or renewed)
LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 1
"""

# KEYS lock; ARGV token -> 1 when this token held the lock and gave it up
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
