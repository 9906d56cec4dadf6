-- tact check-and-reserve: one call decides one or many customers, each atomically and in order (two events of
-- one customer in a batch are decided one after the other). Every key of a check carries its customer's hash
-- tag; a batch of several customers is for a single node (or keys in one Cluster slot), a batch of one runs
-- anywhere. The decision rule is policy::ShouldReserve / policy::IsFinal (daemon/policy/evaluate.h); the
-- in-memory store implements the same, and tests/integration/store_semantics_test.cc runs one table of cases
-- against both.
--
-- ARGV[1] now_ms  ARGV[2] seen_ttl_ms  ARGV[3] n specs  ARGV[4] n checks
-- then every spec (the plan's shape, shared by the checks of a batch that have the same one):
--   quiet hold (0 none, 1 defer, 2 suppress), n signal checks, n limits,
--   per signal check: decisive (1/0), since_ms, hold_ms, n_fields, field... (a trailing '*' = prefix)
--   per limit: kind ('r'/'c'), count, window_ms (rolling) or period_end_ms (calendar), decisive (1/0),
--              suppress_on_exceed (1/0)
-- then per check: spec number (1-based), event_id, write (1) or dry run (0), marker
-- KEYS, per check in order: seen marker (hash: o = outcome, m = marker) for this event_id; signals hash
--   (field -> "<at_ms>:<expires_ms>", expires 0 = never); one key per limit of its spec (rolling = sorted set,
--   member event_id, score ms; calendar = counter expiring at period end); the customer's counter index (hash:
--   field = counter suffix, the key after the prefix "tact:{t:c}:"; value = ms when that counter is empty
--   again), written when the event is reserved (expired fields pruned when it grows past 16), expiring with its
--   latest field (PEXPIREAT NX/GT: Redis >= 7.0).
-- Returns one reply per check: {1, outcome, marker} for an event decided before, else
-- {0, reserved, n_signals, hit_1, until_1, ..., used_1, frees_at_1, ...}; until -1 = no known end,
-- frees_at 0 unless the window is full.
--
-- Kept cheap: specs are read once per call, every number the writes need is formatted once per spec, and a
-- check does only the calls its customer's state needs (a calendar counter is created with its expiry, SET PX).
local now = tonumber(ARGV[1])
local seen_ttl = ARGV[2]
local nspecs = tonumber(ARGV[3])
local nchecks = tonumber(ARGV[4])

local specs = {}
local a = 5
for s = 1, nspecs do
  local spec = {hold = ARGV[a], sig = {}, lim = {}}
  local nsig, nlim = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, nsig do
    local nf = tonumber(ARGV[a + 3])
    local c = {decisive = ARGV[a] == '1', since = tonumber(ARGV[a + 1]), hold = tonumber(ARGV[a + 2]), fields = {}}
    for k = 1, nf do
      local pat = ARGV[a + 3 + k]
      if string.sub(pat, -1) == '*' then
        c.fields[k] = {string.sub(pat, 1, -2), true}
      else
        c.fields[k] = {pat, false}
      end
    end
    spec.sig[i] = c
    a = a + 4 + nf
  end
  local latest = 0
  for i = 1, nlim do
    local l = {rolling = ARGV[a] == 'r', count = tonumber(ARGV[a + 1]), span = tonumber(ARGV[a + 2]),
               decisive = ARGV[a + 3] == '1', suppress = ARGV[a + 4] == '1'}
    local empty_at
    if l.rolling then
      l.cutoff = string.format('%.0f', now - l.span)
      l.ttl = ARGV[a + 2]
      empty_at = now + l.span
    else
      -- relative to the caller's now: an absolute PEXPIREAT would follow Redis' clock, and with tactd's clock
      -- behind it the counter of a period tactd still counts in would vanish at once (caps not enforced)
      l.ttl = string.format('%.0f', math.max(1, l.span - now))
      l.frees = ARGV[a + 2]
      empty_at = l.span
    end
    l.empty_at = string.format('%.0f', empty_at)
    if empty_at > latest then latest = empty_at end
    spec.lim[i] = l
    a = a + 5
  end
  spec.latest = string.format('%.0f', latest)
  specs[s] = spec
end

-- One check: KEYS from ko + 1, its four args from ao.
local function check(spec, ko, ao)
  local seen_key = KEYS[ko + 1]
  local seen = redis.call('HMGET', seen_key, 'o', 'm')
  if seen[1] then
    return {1, seen[1], seen[2] or ''}
  end
  local nsig, nlim = #spec.sig, #spec.lim
  local reply = {0, 0, nsig}
  local sig_parts, lim_parts = {}, {}  -- the stored outcome's text
  local blocked = false      -- an enforcing check applies: nothing is reserved
  local final = nil          -- nil = not decided yet by precedence; true/false = final decision or not
  if nsig > 0 then
    local flat = redis.call('HGETALL', KEYS[ko + 2])
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
      local c = spec.sig[i]
      local best = nil  -- nil: no live matching field; -1: holds with no known end; else ms when it stops
      for _, f in ipairs(live) do
        if f[2] >= c.since then
          for _, pat in ipairs(c.fields) do
            local matches
            if pat[2] then
              matches = string.sub(f[1], 1, #pat[1]) == pat[1]
            else
              matches = f[1] == pat[1]
            end
            if matches then
              local u = -1
              if f[3] ~= 0 then u = f[3] end
              if c.hold > 0 and (u == -1 or f[2] + c.hold < u) then u = f[2] + c.hold end
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
      if best == nil then
        reply[#reply + 1] = 0
        reply[#reply + 1] = -1
        sig_parts[i] = '0:-1'
      else
        reply[#reply + 1] = 1
        reply[#reply + 1] = best
        sig_parts[i] = '1:' .. string.format('%.0f', best)
        if c.decisive then
          blocked = true
          if final == nil then final = true end
        end
      end
    end
  end
  local absent = {}
  for i = 1, nlim do
    local l = spec.lim[i]
    local key = KEYS[ko + 2 + i]
    local used
    local frees, frees_text = 0, '0'
    if l.rolling then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', l.cutoff)
      used = redis.call('ZCARD', key)
      if used >= l.count then
        local oldest = redis.call('ZRANGE', key, used - l.count, used - l.count, 'WITHSCORES')
        if oldest[2] then
          frees = tonumber(oldest[2]) + l.span
          frees_text = string.format('%.0f', frees)
        end
      end
    else
      local v = redis.call('GET', key)
      used = v and tonumber(v) or 0
      absent[i] = not v  -- a new period's counter: created with its expiry in one call when reserved
      if used >= l.count then
        frees, frees_text = l.span, l.frees
      end
    end
    if used >= l.count and l.decisive then
      blocked = true
      if final == nil then final = l.suppress end
    end
    reply[#reply + 1] = used
    reply[#reply + 1] = frees
    lim_parts[i] = used .. ':' .. frees_text
  end
  if spec.hold ~= '0' then
    if final == nil then final = spec.hold == '2' end
    blocked = true
  end
  if not blocked then final = true end
  if ARGV[ao + 2] ~= '1' then
    return reply
  end
  if not blocked then
    local event_id = ARGV[ao + 1]
    local set = {}
    local from = #KEYS[ko + 3 + nlim] - 2  -- the suffix starts after the prefix: the index key minus "idx"
    for i = 1, nlim do
      local l = spec.lim[i]
      local key = KEYS[ko + 2 + i]
      if l.rolling then
        redis.call('ZADD', key, now, event_id)
        redis.call('PEXPIRE', key, l.ttl)
        set[#set + 1] = string.sub(key, from)
        set[#set + 1] = l.empty_at
      elseif absent[i] then  -- a new period's counter: with its expiry, and its index field
        redis.call('SET', key, '1', 'PX', l.ttl)
        set[#set + 1] = string.sub(key, from)
        set[#set + 1] = l.empty_at
      else
        redis.call('INCR', key)
      end
    end
    reply[2] = 1
    if #set > 0 then
      -- Expired fields are pruned only when a new suffix makes the hash larger than 16 fields; the expiry only
      -- moves later (NX sets it on a new hash, GT otherwise).
      -- A hash HSET added no field to existed before, so it has its expiry already and only GT can apply (one
      -- call fewer for a returning customer).
      local idx = KEYS[ko + 3 + nlim]
      local added = redis.call('HSET', idx, unpack(set))
      if added == 0 or redis.call('PEXPIREAT', idx, spec.latest, 'NX') == 0 then
        if added > 0 and redis.call('HLEN', idx) > 16 then
          local flat = redis.call('HGETALL', idx)
          for j = 1, #flat, 2 do
            if (tonumber(flat[j + 1]) or 0) <= now then redis.call('HDEL', idx, flat[j]) end
          end
        end
        redis.call('PEXPIREAT', idx, spec.latest, 'GT')
      end
    end
  end
  if final then
    redis.call('HSET', seen_key, 'o', reply[2] .. '|' .. table.concat(sig_parts, ',') .. '|' ..
               table.concat(lim_parts, ','), 'm', ARGV[ao + 3])
    redis.call('PEXPIRE', seen_key, seen_ttl)
  end
  return reply
end

local out = {}
local ko = 0
for c = 1, nchecks do
  local spec = specs[tonumber(ARGV[a])]
  out[c] = check(spec, ko, a)
  ko = ko + 3 + #spec.lim
  a = a + 4
end
return out
