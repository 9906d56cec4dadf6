-- tact check-and-reserve: one customer, atomic. Every key carries the customer's hash tag.
-- The decision rule is policy::ShouldReserve / policy::IsFinal (daemon/policy/evaluate.h); the in-memory store
-- implements the same, and tests/integration/store_semantics_test.cc runs one table of cases against both.
-- KEYS[1]     seen marker (hash: o = outcome, m = marker) for this event_id
-- KEYS[2]     signals hash (field -> "<at_ms>:<expires_ms>", expires 0 = never)
-- KEYS[2+i]   limit i: rolling = sorted set (member event_id, score ms); calendar = counter expiring at period end
-- KEYS[3+n]   (optional, n = number of limits) the customer's counter index: hash field = counter suffix (the key
--             after the prefix "tact:{t:c}:"), value = ms when that counter is empty again; written when the event
--             is reserved (expired fields pruned when it grows past 16); the hash expires with its latest field
--             (PEXPIREAT NX/GT: Redis >= 7.0). Without it, no index is kept.
-- ARGV[1] now_ms  ARGV[2] event_id  ARGV[3] seen_ttl_ms  ARGV[4] write (1) or dry run (0)  ARGV[5] marker
-- ARGV[6] quiet hold: 0 none, 1 defer, 2 suppress   ARGV[7] n signal checks   ARGV[8] n limits
-- then per signal check: decisive (1/0), since_ms, hold_ms, n_fields, field... (a trailing '*' = prefix)
-- then per limit: kind ('r'/'c'), count, window_ms (rolling) or period_end_ms (calendar), decisive (1/0),
--                 suppress_on_exceed (1/0)
-- Returns {1, outcome, marker} for an event decided before, else
-- {0, reserved, n_signals, hit_1, until_1, ..., used_1, frees_at_1, ...}; until -1 = no known end,
-- frees_at 0 unless the window is full.
local seen = redis.call('HMGET', KEYS[1], 'o', 'm')
if seen[1] then
  return {1, seen[1], seen[2] or ''}
end
local now = tonumber(ARGV[1])
local hold = ARGV[6]
local nsig = tonumber(ARGV[7])
local nlim = tonumber(ARGV[8])
local reply = {0, 0, nsig}
local sig_parts = {}
local blocked = false      -- an enforcing check applies: nothing is reserved
local final = nil          -- nil = not decided yet by precedence; true/false = final decision or not
local a = 9
if nsig > 0 then
  local flat = redis.call('HGETALL', KEYS[2])
  local live = {}
  for j = 1, #flat, 2 do
    local at, exp = string.match(flat[j + 1], '^(%-?%d+):(%-?%d+)$')
    at = tonumber(at)
    exp = tonumber(exp)
    if at and (exp == 0 or exp > now) then
      live[#live + 1] = {flat[j], at, exp}
    end
  end
  for i = 1, nsig do
    local decisive = ARGV[a] == '1'
    local since = tonumber(ARGV[a + 1])
    local hold_ms = tonumber(ARGV[a + 2])
    local nf = tonumber(ARGV[a + 3])
    local best = nil  -- nil: no live matching field; -1: holds with no known end; else ms when it stops holding
    for _, f in ipairs(live) do
      if f[2] >= since then
        for k = 1, nf do
          local pat = ARGV[a + 3 + k]
          local matches
          if string.sub(pat, -1) == '*' then
            matches = string.sub(f[1], 1, #pat - 1) == string.sub(pat, 1, -2)
          else
            matches = f[1] == pat
          end
          if matches then
            local u = -1
            if f[3] ~= 0 then u = f[3] end
            if hold_ms > 0 and (u == -1 or f[2] + hold_ms < u) then u = f[2] + hold_ms end
            if best == nil then
              best = u
            elseif best ~= -1 and (u == -1 or u > best) then
              best = u
            end
            break
          end
        end
      end
    end
    local hit = 0
    if best ~= nil then hit = 1 end
    local untl = best or -1
    reply[#reply + 1] = hit
    reply[#reply + 1] = untl
    sig_parts[#sig_parts + 1] = hit .. ':' .. untl
    if hit == 1 and decisive then
      blocked = true
      if final == nil then final = true end
    end
    a = a + 4 + nf
  end
end
local lim_parts = {}
local lim_base = a
for i = 1, nlim do
  local key = KEYS[2 + i]
  local kind = ARGV[a]
  local count = tonumber(ARGV[a + 1])
  local span = tonumber(ARGV[a + 2])
  local used
  local frees_at = 0
  if kind == 'r' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
    used = redis.call('ZCARD', key)
    if used >= count then
      local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
      if oldest[2] then
        frees_at = tonumber(oldest[2]) + span
      end
    end
  else
    used = tonumber(redis.call('GET', key) or '0')
    if used >= count then
      frees_at = span
    end
  end
  if used >= count and ARGV[a + 3] == '1' then
    blocked = true
    if final == nil then final = ARGV[a + 4] == '1' end
  end
  reply[#reply + 1] = used
  reply[#reply + 1] = frees_at
  lim_parts[#lim_parts + 1] = used .. ':' .. frees_at
  a = a + 5
end
if hold ~= '0' then
  if final == nil then final = hold == '2' end
  blocked = true
end
if not blocked then final = true end
if ARGV[4] ~= '1' then
  return reply
end
if not blocked then
  a = lim_base
  for i = 1, nlim do
    local key = KEYS[2 + i]
    if ARGV[a] == 'r' then
      redis.call('ZADD', key, now, ARGV[2])
      redis.call('PEXPIRE', key, tonumber(ARGV[a + 2]))
    else
      redis.call('INCR', key)
      -- relative to the caller's now: an absolute PEXPIREAT would follow Redis' clock, and with tactd's clock
      -- behind it the counter of a period tactd still counts in would vanish at once (caps not enforced)
      redis.call('PEXPIRE', key, math.max(1, tonumber(ARGV[a + 2]) - now))
    end
    a = a + 5
  end
  reply[2] = 1
  local idx = KEYS[3 + nlim]
  if idx and nlim > 0 then
    local from = #idx - 2  -- the suffix starts after the prefix, which is the index key minus "idx"
    local set = {}
    local latest = 0
    a = lim_base
    for i = 1, nlim do
      local e
      if ARGV[a] == 'r' then e = now + tonumber(ARGV[a + 2]) else e = tonumber(ARGV[a + 2]) end
      set[#set + 1] = string.sub(KEYS[2 + i], from)
      set[#set + 1] = string.format('%.0f', e)
      if e > latest then latest = e end
      a = a + 5
    end
    -- Kept cheap: expired fields are pruned only when a new suffix makes the hash larger than 16 fields, and the
    -- expiry only ever moves later (GT; NX when the hash may be new). Usually HSET + one PEXPIREAT.
    local added = redis.call('HSET', idx, unpack(set))
    if added > 0 and redis.call('HLEN', idx) > 16 then
      local flat = redis.call('HGETALL', idx)
      for j = 1, #flat, 2 do
        if (tonumber(flat[j + 1]) or 0) <= now then redis.call('HDEL', idx, flat[j]) end
      end
    end
    local at = string.format('%.0f', latest)
    if added > 0 then redis.call('PEXPIREAT', idx, at, 'NX') end
    redis.call('PEXPIREAT', idx, at, 'GT')
  end
end
if final then
  redis.call('HSET', KEYS[1], 'o', reply[2] .. '|' .. table.concat(sig_parts, ',') .. '|' .. table.concat(lim_parts, ','),
             'm', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return reply
