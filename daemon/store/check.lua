-- tact check-and-reserve: one call decides one or many customers, each atomically and in order (two events of
-- one customer in a batch are decided one after the other). Every key of a check carries its customer's hash
-- tag; a batch of several customers is for a single node (or keys in one Cluster slot), a batch of one runs
-- anywhere. The decision rule is store::ShouldReserve / store::IsFinal (store/counter_store.h); the
-- in-memory store implements the same, and tests/integration/store_semantics_test.cc runs one table of cases
-- against both.
--
-- ARGV[1] now_ms  ARGV[2] seen_ttl_ms  ARGV[3] n specs  ARGV[4] n checks
-- then every spec (the plan's shape at this now, shared by the checks of a batch that have the same one):
--   quiet hold (0 none, 1 defer, 2 suppress), n limits, n signal checks, n args of the signal checks,
--   ms when the last of its counters is empty again (the index's expiry),
--   per limit: kind ('r'/'c'), count, ttl_ms (rolling: the window; calendar: period end - now, at least 1),
--              rolling: now - window / calendar: period_end_ms, empty_at_ms (now + window / period end),
--              decisive (1/0), suppress_on_exceed (1/0)
--   per signal check: decisive (1/0), since_ms, hold_ms, n_fields, field... (a trailing '*' = prefix)
-- then per check: spec number (1-based), event_id, write (1) or dry run (0), marker, legacy prefix ('' none: see
--   legacy.lua, embedded in front of this script; with one, a customer still in the legacy layout is moved to
--   the new one first, and a decision marker is looked for under the legacy prefix too)
-- KEYS, per check in order: seen marker (hash: o = outcome, m = marker; see below) for this event_id; signals hash
--   (field -> "<at_ms>:<expires_ms>", expires 0 = never); one key per limit of its spec (rolling = sorted set,
--   member event_id, score ms; calendar = counter expiring at period end); the customer's counter index (hash:
--   field = counter suffix, the key after the prefix "tact:{<h>}:"; value = ms when that counter is empty
--   again), written when the event is reserved (expired fields pruned when it grows past 16), expiring with its
--   latest field (PEXPIREAT NX/GT: Redis >= 7.0).
-- Returns one reply per check: {1, outcome, marker} for an event decided before, else
-- {0, reserved, n_signals, hit_1, until_1, ..., used_1, frees_at_1, ...}; until -1 = no known end,
-- frees_at 0 unless the window is full.
--
-- Kept cheap (Redis runs scripts on its one thread, and a decision's cost there caps throughput): tactd sends
-- every number the writes need already formatted, a check reads its limits' args in place (no tables) and its
-- spec's signal checks only when its customer has a live signal, and does only the calls its customer's state
-- needs (a calendar counter is created with its expiry, SET PX).
-- The marker is written as a hash, the shape every version reads, and read as a hash or as one string
-- "<outcome>|<marker>" (SET PX): the string takes 16% less Redis memory per customer (redis_store_bench: 1,115
-- against 1,333 bytes) but a tactd older than this script fails its whole call on it (WRONGTYPE), so it can be
-- written only once no such tactd remains to roll back to.
local call, pcall = redis.call, redis.pcall
local tonumber, type, format, sub, match, concat = tonumber, type, string.format, string.sub, string.match,
                                                   table.concat
local ARGV, KEYS = ARGV, KEYS

local now = tonumber(ARGV[1])
local seen_ttl = ARGV[2]
local nspecs = tonumber(ARGV[3])
local nchecks = tonumber(ARGV[4])

-- A limit's args, as offsets from its first.
local KIND, COUNT, TTL, CUT, EMPTY_AT, DECISIVE, SUPPRESS = 0, 1, 2, 3, 4, 5, 6

local specs = {}
local a = 5
for s = 1, nspecs do
  local nlim, nsig, nsig_args = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  -- limit i's args: ARGV[lim_at + 7 * (i - 1) + KIND ...]
  local spec = {hold = ARGV[a], latest = ARGV[a + 4], nlim = nlim, lim_at = a + 5, nsig = nsig,
                sig_at = a + 5 + 7 * nlim}
  local none = {}  -- the stored text of "no signal holds"
  for i = 1, nsig do none[i] = '0:-1' end
  spec.no_signals = none
  a = spec.sig_at + nsig_args
  specs[s] = spec
end

-- A spec's signal checks, read when a customer first has a live signal field.
local function signal_checks(spec)
  if spec.sig then return spec.sig end
  local sig, a = {}, spec.sig_at
  for i = 1, spec.nsig do
    local nf = tonumber(ARGV[a + 3])
    local c = {decisive = ARGV[a] == '1', since = tonumber(ARGV[a + 1]), hold = tonumber(ARGV[a + 2]), fields = {}}
    for k = 1, nf do
      local pat = ARGV[a + 3 + k]
      if sub(pat, -1) == '*' then
        c.fields[k] = {sub(pat, 1, -2), true}
      else
        c.fields[k] = {pat, false}
      end
    end
    sig[i] = c
    a = a + 4 + nf
  end
  spec.sig = sig
  return sig
end

-- A decision marker at `key`: {1, outcome, marker}, or nil when there is none.
local function read_marker(key)
  local seen = pcall('GET', key)
  if type(seen) == 'string' then  -- "<outcome>|<marker>": read, not written yet (see the top)
    local outcome, marker = match(seen, '^([^|]*|[^|]*|[^|]*)|(.*)$')
    return {1, outcome or seen, marker or ''}
  elseif seen then  -- WRONGTYPE: the hash this version writes
    local h = call('HMGET', key, 'o', 'm')
    if h[1] then
      return {1, h[1], h[2] or ''}
    end
  end
  return nil
end

-- One check: KEYS from ko + 1, its five args from ao.
local function check(spec, ko, ao)
  local seen_key = KEYS[ko + 1]
  local legacy = ARGV[ao + 4]
  local earlier = read_marker(seen_key)
  if earlier then
    return earlier
  end
  local nsig, nlim, lim_at = spec.nsig, spec.nlim, spec.lim_at
  if legacy ~= '' then  -- the legacy layout (legacy.lua): its marker of this event, else move the customer
    local idx = KEYS[ko + 3 + nlim]
    local from = #idx - 2
    local suffixes = {}
    for i = 1, nlim do
      suffixes[i] = sub(KEYS[ko + 2 + i], from)
    end
    local legacy_seen = legacy .. 'seen:' .. ARGV[ao + 1]
    if tact_in_legacy(legacy, suffixes, legacy_seen) then
      earlier = read_marker(legacy_seen)
      if earlier then
        return earlier
      end
      tact_upgrade(legacy, sub(idx, 1, from - 1), suffixes)
    end
  end
  local reply = {0, 0, nsig}
  local sig_parts, lim_parts = spec.no_signals, {}  -- the stored outcome's text
  local blocked = false      -- an enforcing check applies: nothing is reserved
  local final = nil          -- nil = not decided yet by precedence; true/false = final decision or not
  if nsig > 0 then
    local flat = call('HGETALL', KEYS[ko + 2])
    local live = {}
    for j = 1, #flat, 2 do
      local at, exp = match(flat[j + 1], '^(%-?%d+):(%-?%d+)$')
      at = tonumber(at)
      exp = tonumber(exp)
      if at and (exp == 0 or exp > now) then
        live[#live + 1] = {flat[j], at, exp}
      end
    end
    if #live == 0 then
      for i = 1, nsig do
        reply[#reply + 1] = 0
        reply[#reply + 1] = -1
      end
    else
      sig_parts = {}
      local checks = signal_checks(spec)
      for i = 1, nsig do
        local c = checks[i]
        local best = nil  -- nil: no live matching field; -1: holds with no known end; else ms when it stops
        for _, f in ipairs(live) do
          if f[2] >= c.since then
            for _, pat in ipairs(c.fields) do
              local matches
              if pat[2] then
                matches = sub(f[1], 1, #pat[1]) == pat[1]
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
          sig_parts[i] = '1:' .. format('%.0f', best)
          if c.decisive then
            blocked = true
            if final == nil then final = true end
          end
        end
      end
    end
  end
  local absent = {}
  for i = 1, nlim do
    local o = lim_at + 7 * (i - 1)
    local key = KEYS[ko + 2 + i]
    local count = tonumber(ARGV[o + COUNT])
    local used
    local frees, frees_text = 0, '0'
    if ARGV[o + KIND] == 'r' then
      call('ZREMRANGEBYSCORE', key, '-inf', ARGV[o + CUT])
      used = call('ZCARD', key)
      if used >= count then
        local oldest = call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
        if oldest[2] then
          frees = tonumber(oldest[2]) + tonumber(ARGV[o + TTL])
          frees_text = format('%.0f', frees)
        end
      end
    else
      local v = call('GET', key)
      used = v and tonumber(v) or 0
      absent[i] = not v  -- a new period's counter: created with its expiry in one call when reserved
      if used >= count then
        frees, frees_text = tonumber(ARGV[o + CUT]), ARGV[o + CUT]
      end
    end
    if used >= count and ARGV[o + DECISIVE] == '1' then
      blocked = true
      if final == nil then final = ARGV[o + SUPPRESS] == '1' end
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
      local o = lim_at + 7 * (i - 1)
      local key = KEYS[ko + 2 + i]
      if ARGV[o + KIND] == 'r' then
        call('ZADD', key, now, event_id)
        call('PEXPIRE', key, ARGV[o + TTL])
        set[#set + 1] = sub(key, from)
        set[#set + 1] = ARGV[o + EMPTY_AT]
      elseif absent[i] then  -- a new period's counter: with its expiry, and its index field
        call('SET', key, '1', 'PX', ARGV[o + TTL])
        set[#set + 1] = sub(key, from)
        set[#set + 1] = ARGV[o + EMPTY_AT]
      else
        call('INCR', key)
      end
    end
    reply[2] = 1
    if #set > 0 then
      -- Expired fields are pruned only when a new suffix makes the hash larger than 16 fields; the expiry only
      -- moves later (NX sets it on a new hash, GT otherwise).
      -- A hash HSET added no field to existed before, so it has its expiry already and only GT can apply (one
      -- call fewer for a returning customer).
      local idx = KEYS[ko + 3 + nlim]
      local added = call('HSET', idx, unpack(set))
      if added == 0 or call('PEXPIREAT', idx, spec.latest, 'NX') == 0 then
        if added > 0 and call('HLEN', idx) > 16 then
          local flat = call('HGETALL', idx)
          for j = 1, #flat, 2 do
            if (tonumber(flat[j + 1]) or 0) <= now then call('HDEL', idx, flat[j]) end
          end
        end
        call('PEXPIREAT', idx, spec.latest, 'GT')
      end
    end
  end
  if final then
    call('HSET', seen_key, 'o', reply[2] .. '|' .. concat(sig_parts, ',') .. '|' .. concat(lim_parts, ','),
         'm', ARGV[ao + 3])
    call('PEXPIRE', seen_key, seen_ttl)
  end
  return reply
end

local out = {}
local ko = 0
for c = 1, nchecks do
  local spec = specs[tonumber(ARGV[a])]
  out[c] = check(spec, ko, a)
  ko = ko + 3 + spec.nlim
  a = a + 5
end
return out
