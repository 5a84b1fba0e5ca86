"""The Lua scripts that make each governance check atomic in Redis: one round trip per request.

ADMIT checks, in this order and all or nothing: the key still exists and is not revoked, every
rpm/tpm window has room, and every budget's spent + reserved + estimate stays within its hard cap;
then it records the request in the windows and reserves the estimate in every budget. When some hard
cap has less than the estimate left but at least the minimum, it reserves what the tightest one has
left instead (the same amount in every budget, so the request, its output capped to that amount,
overspends none); below the minimum it refuses, naming the tightest budget. SETTLE trades a
reservation for the real cost and raises each 80 % / 100 % alert once per window (SET NX expiring
at the window's end). A reservation lives in a zset scored by when it lapses, so one a crashed
replica never settles stops holding budget after its TTL.

Keys (all under one hash tag, so a script touches one Redis Cluster slot):
    k:<token>               hash  spec (JSON), revoked ("1")
    r:<scope>:<id>:w / :t   zset request -> admitted at / hash request -> tokens, "_" -> their sum
    b:<slot>:z / :h         zset hold -> lapses at / hash hold -> nano-USD, "_" -> reserved, "spent"
    b:<slot>:h:a:<cap>:<level>   an alert already raised in this window
"""

from __future__ import annotations

from switchyard.services.router.state.lua import PRELUDE

GOV_PRELUDE = (
    PRELUDE
    + """
local function int(x) return string.format('%d', x) end
local function drop(z, h, now)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #old == 0 then return end
  local values = redis.call('HMGET', h, unpack(old))
  local freed = 0
  for j = 1, #old do freed = freed + (tonumber(values[j]) or 0) end
  redis.call('HDEL', h, unpack(old))
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  redis.call('HINCRBY', h, '_', int(-freed))
end
local GRACE_S = 86400
"""
)

# KEYS rec, (w t) per rate, (z h) per budget
# ARGV now id hold_ttl window check nr nb estimate minimum, (rpm tpm tokens) per rate, (hard end) per budget
# -> ok|now|held|spent|reserved...   or unknown | revoked | rpm|i|wait | tpm|i|wait | budget|i|spent|reserved
ADMIT = (
    GOV_PRELUDE
    + """
local now = clock(ARGV[1])
local id, ttl, window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local nr, nb = tonumber(ARGV[6]), tonumber(ARGV[7])
local estimate, minimum = tonumber(ARGV[8]), tonumber(ARGV[9])
if ARGV[5] == '1' then
  local rec = redis.call('HMGET', KEYS[1], 'spec', 'revoked')
  if not rec[1] then return 'unknown' end
  if rec[2] == '1' then return 'revoked' end
end
local a = 10
for r = 1, nr do
  local w, t = KEYS[2 * r], KEYS[2 * r + 1]
  local rpm, tpm, tokens = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  trim(w, t, now - window)
  local used = redis.call('ZCARD', w)
  local total = tonumber(redis.call('HGET', t, '_')) or 0
  local limit, wait = over(w, t, now, window, rpm, tpm, tokens, used, total, 0)
  if limit then return pack(limit, r, num(wait)) end
end
local base = 2 * nr + 1
local spents, reserveds = {}, {}
local room, tightest = nil, 0
for b = 1, nb do
  local z, h = KEYS[base + 2 * b - 1], KEYS[base + 2 * b]
  local hard = tonumber(ARGV[a + 2 * (b - 1)])
  drop(z, h, now)
  spents[b] = tonumber(redis.call('HGET', h, 'spent')) or 0
  reserveds[b] = tonumber(redis.call('HGET', h, '_')) or 0
  local left = hard - spents[b] - reserveds[b]
  if hard > 0 and (room == nil or left < room) then room, tightest = left, b end
end
-- Near a cap the request holds what the tightest budget has left, if that pays for its minimum.
local held = estimate
if room ~= nil and room < estimate then
  if room < math.min(minimum, estimate) then
    return pack('budget', tightest, int(spents[tightest]), int(reserveds[tightest]))
  end
  held = room
end
local keep = math.ceil(window * 1000) + 1000
for r = 1, nr do
  local w, t, tokens = KEYS[2 * r], KEYS[2 * r + 1], tonumber(ARGV[10 + 3 * (r - 1) + 2])
  redis.call('ZADD', w, now, id)
  redis.call('HSET', t, id, tokens)
  redis.call('HINCRBY', t, '_', tokens)
  redis.call('PEXPIRE', w, keep)
  redis.call('PEXPIRE', t, keep)
end
local seen = {}
for b = 1, nb do
  local z, h = KEYS[base + 2 * b - 1], KEYS[base + 2 * b]
  local ends = tonumber(ARGV[a + 2 * (b - 1) + 1])
  redis.call('ZADD', z, now + ttl, id)
  redis.call('HSET', h, id, int(held))
  redis.call('HINCRBY', h, '_', int(held))
  if ends > 0 then
    redis.call('EXPIREAT', z, ends + GRACE_S)
    redis.call('EXPIREAT', h, ends + GRACE_S)
  end
  seen[b] = int(spents[b]) .. '|' .. int(reserveds[b] + held)
end
return 'ok|' .. num(now) .. '|' .. int(held) .. (nb > 0 and ('|' .. table.concat(seen, '|')) or '')
"""
)

# KEYS (w t) per rate, (z h) per budget; ARGV id nr nb, tokens per rate, (cost hard soft end) per budget
# -> the alerts raised, "b:cap:level" joined by ",", and "|spent" per budget
SETTLE = (
    GOV_PRELUDE
    + """
local id, nr, nb = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local a = 4
for r = 1, nr do
  local t, tokens = KEYS[2 * r], tonumber(ARGV[a])
  a = a + 1
  local old = redis.call('HGET', t, id)
  if old then
    redis.call('HSET', t, id, tokens)
    redis.call('HINCRBY', t, '_', tokens - tonumber(old))
  end
end
local fired, spents = {}, {}
local base = 2 * nr
for b = 1, nb do
  local z, h = KEYS[base + 2 * b - 1], KEYS[base + 2 * b]
  local cost, hard, soft, ends = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local amount = redis.call('HGET', h, id)
  if amount then
    redis.call('HDEL', h, id)
    redis.call('ZREM', z, id)
    redis.call('HINCRBY', h, '_', int(-tonumber(amount)))
  end
  local spent = tonumber(redis.call('HINCRBY', h, 'spent', int(cost)))
  if ends > 0 then redis.call('EXPIREAT', h, ends + GRACE_S) end
  spents[b] = int(spent)
  for _, c in ipairs({{'soft', soft}, {'hard', hard}}) do
    for _, level in ipairs({80, 100}) do
      if c[2] > 0 and spent * 100 >= c[2] * level then
        local flag = h .. ':a:' .. c[1] .. ':' .. level
        local set
        if ends > 0 then
          set = redis.call('SET', flag, '1', 'NX', 'EXAT', ends)
        else
          set = redis.call('SET', flag, '1', 'NX')
        end
        if set then fired[#fired + 1] = b .. ':' .. c[1] .. ':' .. level end
      end
    end
  end
end
return table.concat(fired, ',') .. '|' .. table.concat(spents, '|')
"""
)

# KEYS z h; ARGV now -> spent|reserved (lapsed reservations dropped first)
USAGE = (
    GOV_PRELUDE
    + """
local now = clock(ARGV[1])
drop(KEYS[1], KEYS[2], now)
local spent = tonumber(redis.call('HGET', KEYS[2], 'spent')) or 0
return int(spent) .. '|' .. int(tonumber(redis.call('HGET', KEYS[2], '_')) or 0)
"""
)

# KEYS rec; ARGV -> 1 when the key existed and is now revoked, else 0
REVOKE = """
if redis.call('HEXISTS', KEYS[1], 'spec') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 1
"""

SCRIPTS = (ADMIT, SETTLE, USAGE, REVOKE)
