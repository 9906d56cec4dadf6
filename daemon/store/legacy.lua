-- Upgrade from the key layout before 2026-12, "tact:{<tenant>:<customer>}:" (keys.h), embedded in front of
-- check.lua and the signal script. tactd passes a customer's legacy prefix only when it names one customer and
-- redis.legacy_keys is on. A customer with keys in the legacy layout is moved on its next check or signal: its
-- counters (those the legacy index lists and those of the plan being checked), the index and the signal hash are
-- RENAMEd to the new prefix (keeping their expiry), or merged into the new key when that exists already (what an
-- older tactd still wrote during a rolling upgrade). One EXISTS finds there is nothing to move (tact_in_legacy).
-- Single Redis node only: the legacy and new keys hash to different Cluster slots (RENAME would fail with
-- CROSSSLOT), and the legacy counter keys are found at run time, not passed in KEYS.
local function tact_later_expiry(src, dst)
  local a, b = redis.call('PTTL', src), redis.call('PTTL', dst)
  if a == -1 or b == -1 then
    redis.call('PERSIST', dst)
  elseif a > b then
    redis.call('PEXPIRE', dst, a)
  end
end

local function tact_move(src, dst)
  local kind = redis.call('TYPE', src)['ok']
  if kind == 'none' then
    return
  end
  local have = redis.call('TYPE', dst)['ok']
  if have == 'none' then
    redis.call('RENAME', src, dst)
    return
  elseif have ~= kind then  -- not the same thing after all: leave the legacy key to expire
    return
  end
  if kind == 'zset' then  -- a rolling window: the union of both (members are event ids)
    tact_later_expiry(src, dst)
    local ttl = redis.call('PTTL', dst)
    redis.call('ZUNIONSTORE', dst, 2, dst, src, 'AGGREGATE', 'MAX')  -- drops dst's expiry
    if ttl > 0 then
      redis.call('PEXPIRE', dst, ttl)
    end
  elseif kind == 'string' then  -- a calendar counter: both counted the same period (INCRBY keeps dst's expiry)
    redis.call('INCRBY', dst, tonumber(redis.call('GET', src)) or 0)
  elseif kind == 'hash' then  -- index (field -> ms when empty) or signals (field -> '<at>:<expires>'): later wins
    local flat = redis.call('HGETALL', src)
    for j = 1, #flat, 2 do
      local mine = redis.call('HGET', dst, flat[j])
      if not mine or (tonumber(string.match(flat[j + 1], '^%-?%d+')) or 0) >
                     (tonumber(string.match(mine, '^%-?%d+')) or 0) then
        redis.call('HSET', dst, flat[j], flat[j + 1])
      end
    end
    tact_later_expiry(src, dst)
  else
    return
  end
  redis.call('DEL', src)
end

-- True when the customer has anything in the legacy layout: its index, signals, a counter of `suffixes` or the
-- key `extra` (the decision marker being looked for). One call, which is all a customer not in it costs.
local function tact_in_legacy(legacy, suffixes, extra)
  local probe = {legacy .. 'idx', legacy .. 'sig'}
  for i = 1, #suffixes do
    probe[#probe + 1] = legacy .. suffixes[i]
  end
  if extra then
    probe[#probe + 1] = extra
  end
  return redis.call('EXISTS', unpack(probe)) ~= 0
end

-- Moves what the customer has at `legacy` to `prefix`: the counters the legacy index lists and those of
-- `suffixes`, the index and the signals.
local function tact_upgrade(legacy, prefix, suffixes)
  local listed = redis.call('HGETALL', legacy .. 'idx')
  for j = 1, #listed, 2 do
    tact_move(legacy .. listed[j], prefix .. listed[j])
  end
  for i = 1, #suffixes do
    tact_move(legacy .. suffixes[i], prefix .. suffixes[i])
  end
  tact_move(legacy .. 'idx', prefix .. 'idx')
  tact_move(legacy .. 'sig', prefix .. 'sig')
end
