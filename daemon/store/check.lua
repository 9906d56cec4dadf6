-- tact check-and-reserve: one customer, atomic. Every key carries the customer's hash tag.
-- KEYS[1]     seen marker (hash: o = outcome, m = marker) for this event_id
-- KEYS[1+i]   rolling window i (sorted set: member = event_id, score = time in ms)
-- ARGV[1] now_ms  ARGV[2] event_id  ARGV[3] seen_ttl_ms  ARGV[4] write (1) or dry run (0)
-- ARGV[5] marker  ARGV[6] n limits, then per limit: count, window_ms, decisive (1/0), suppress_on_exceed (1/0)
-- Returns {1, outcome, marker} for an event decided before, else {0, first_exceeded, used_1, frees_at_1, ...}
-- where first_exceeded is 1-based (0 = none) and frees_at is 0 unless the window is full.
local seen = redis.call('HMGET', KEYS[1], 'o', 'm')
if seen[1] then
  return {1, seen[1], seen[2] or ''}
end
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[6])
local reply = {0, 0}
local first = 0
local parts = {}
for i = 1, n do
  local b = 6 + (i - 1) * 4
  local key = KEYS[1 + i]
  local count = tonumber(ARGV[b + 1])
  local window = tonumber(ARGV[b + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local frees_at = 0
  if used >= count then
    local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    if oldest[2] then
      frees_at = tonumber(oldest[2]) + window
    end
    if first == 0 and ARGV[b + 3] == '1' then
      first = i
    end
  end
  reply[#reply + 1] = used
  reply[#reply + 1] = frees_at
  parts[#parts + 1] = used .. ':' .. frees_at
end
reply[2] = first
if ARGV[4] ~= '1' then
  return reply
end
local final = false
if first == 0 then
  for i = 1, n do
    local key = KEYS[1 + i]
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, tonumber(ARGV[6 + (i - 1) * 4 + 2]))
  end
  final = true
elseif ARGV[6 + (first - 1) * 4 + 4] == '1' then
  final = true
end
if final then
  redis.call('HSET', KEYS[1], 'o', first .. ';' .. table.concat(parts, ';'), 'm', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return reply
