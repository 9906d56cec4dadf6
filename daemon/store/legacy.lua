-- Upgrades from the older layouts, embedded in front of check.lua (which is also the signal script).
--
-- 1. The key layout before 2026-12, "tact:{<tenant>:<customer>}:" (keys.h). tactd passes a customer's legacy prefix only when it names one customer and
-- redis.legacy_keys is on. A customer with keys in the legacy layout is moved on its next check or signal: its
-- counters (those the legacy index lists and those of the plan being checked), the index and the signal hash are
-- RENAMEd to the new prefix (keeping their expiry), or merged into the new key when that exists already (what an
-- older tactd still wrote during a rolling upgrade). One EXISTS finds there is nothing to move (tact_in_legacy).
-- Single Redis node only: the legacy and new keys hash to different Cluster slots (RENAME would fail with
-- CROSSSLOT), and the legacy counter keys are found at run time, not passed in KEYS.
--
-- These functions are made on their first use in a call (tact_from_old below): a call that looks at no older layout,
-- nearly every one, would pay for making each of them (a closure each, on every EVALSHA) and use none.
local function tact_load_legacy()
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

  -- 2. Layout v1 (before store v2, 2026-12): one key per counter under the customer's prefix (`r:<...>` sorted set of
  -- event ids scored by ms, `c:<...>` counter expiring at its period end), the counter index `idx` (hash: suffix ->
  -- ms when empty), the signal hash `sig` (field -> "<at>:<expires>") and decision markers `seen:<event_id>` (hash
  -- o/m, or the string "<outcome>|<marker>" that v2 writes too). check.lua looks for them when a customer has no v2
  -- key, or while its v2 key says it was moved less than the marker TTL ago (an older tactd may still write, and its
  -- markers are still live): one EXISTS, which is all a customer without old state costs. Found state is merged
  -- into the customer's v2 state (counts add up, the later signal value wins) and its keys are deleted, markers
  -- excepted (they are read where they are until they expire).

  -- A decision marker at `key` (a v1 hash, or the string v2 writes): {1, outcome, marker}, or nil.
  local function tact_read_marker(key)
    local seen = redis.pcall('GET', key)
    if type(seen) == 'string' then
      local outcome, marker = string.match(seen, '^([^|]*|[^|]*|[^|]*)|(.*)$')
      return {1, outcome or seen, marker or ''}
    elseif seen then  -- WRONGTYPE: a v1 hash
      local h = redis.call('HMGET', key, 'o', 'm')
      if h[1] then
        return {1, h[1], h[2] or ''}
      end
    end
    return nil
  end

  -- st (check.lua's parsed customer state): adds the v1 counter `suffix` of `prefix` to st.cnt, then deletes it.
  local function tact_merge_v1_counter(st, prefix, suffix, empty_at, now)
    local key = prefix .. suffix
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'zset' and kind ~= 'string' then
      return
    end
    local pttl = redis.call('PTTL', key)
    local ea = empty_at or (pttl > 0 and now + pttl) or now + 86400000
    local have = st.cnt[suffix]
    if not have then
      have = {0, ''}
      st.cnt[suffix] = have
      st.order[#st.order + 1] = suffix
    end
    if ea > have[1] then have[1] = ea end
    have[3], have[4] = string.format('%.0f', have[1]), nil  -- changed: written anew
    if kind == 'zset' then  -- a rolling window: its members' times, merged in order with what v2 counted
      local ts = {}
      for t in string.gmatch(have[2], '%d+') do ts[#ts + 1] = tonumber(t) end
      local flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for j = 2, #flat, 2 do ts[#ts + 1] = tonumber(flat[j]) end
      table.sort(ts)
      for j = 1, #ts do ts[j] = string.format('%.0f', ts[j]) end
      have[2] = table.concat(ts, ',')
    else  -- a calendar counter: both counted the same period
      have[2] = tostring((tonumber(have[2]) or 0) + (tonumber(redis.call('GET', key)) or 0))
    end
    redis.call('DEL', key)
  end

  -- Looks for the customer in the older layouts (prefix: its v1 prefix; legacy: its legacy prefix or ''); the
  -- counters being checked are ARGV[first + 1 .. first + n], `seen_key` / `eid`: the event being decided's marker key
  -- and id (nil for a signal). Returns the earlier decision of `eid` when an older layout has its marker; otherwise
  -- merges what it finds into `st` (marking it dirty, and st.old: look again until now + seen_ttl) and returns nil.
  local function tact_from_old(st, prefix, legacy, first, n, seen_key, eid, now, seen_ttl)
    -- Every counter those layouts wrote is listed in their index (`idx`), so the index, the signals and the event's
    -- marker are what to look for.
    local found
    if legacy == '' then
      if eid then
        found = redis.call('EXISTS', prefix .. 'idx', prefix .. 'sig', seen_key)
      else
        found = redis.call('EXISTS', prefix .. 'idx', prefix .. 'sig')
      end
    elseif eid then
      found = redis.call('EXISTS', prefix .. 'idx', prefix .. 'sig', seen_key, legacy .. 'idx', legacy .. 'sig',
                         legacy .. 'seen:' .. eid)
    else
      found = redis.call('EXISTS', prefix .. 'idx', prefix .. 'sig', legacy .. 'idx', legacy .. 'sig')
    end
    if found == 0 then
      return nil
    end
    local suffixes = {}
    for i = 1, n do suffixes[i] = ARGV[first + i] end
    if #st.sig == 0 then st.sig = {} end
    if eid then
      local earlier = tact_read_marker(prefix .. 'seen:' .. eid)
      if not earlier and legacy ~= '' then earlier = tact_read_marker(legacy .. 'seen:' .. eid) end
      if earlier then return earlier end
    end
    if legacy ~= '' and tact_in_legacy(legacy, suffixes, nil) then
      tact_upgrade(legacy, prefix, suffixes)
    end
    local listed = redis.call('HGETALL', prefix .. 'idx')
    local done = {}
    for j = 1, #listed, 2 do
      done[listed[j]] = true
      tact_merge_v1_counter(st, prefix, listed[j], tonumber(listed[j + 1]), now)
    end
    for i = 1, #suffixes do
      if not done[suffixes[i]] then tact_merge_v1_counter(st, prefix, suffixes[i], nil, now) end
    end
    local flat = redis.call('HGETALL', prefix .. 'sig')
    for j = 1, #flat, 2 do
      local at, exp = string.match(flat[j + 1], '^(%-?%d+):(%-?%d+)$')
      at, exp = tonumber(at), tonumber(exp)
      if at then
        local found = false
        for _, g in ipairs(st.sig) do
          if g[1] == flat[j] then
            found = true
            if at > g[2] then g[2], g[3], g[4] = at, exp, nil end
          end
        end
        if not found then st.sig[#st.sig + 1] = {flat[j], at, exp} end
      end
    end
    redis.call('DEL', prefix .. 'idx', prefix .. 'sig')
    st.old = now + seen_ttl
    st.old_text = string.format('%.0f', st.old)
    st.dirty = true
    return nil
  end

  return tact_from_old
end

-- Looks for the customer in the older layouts (the function of that name above, made on first use).
local tact_legacy_from_old = nil
local function tact_from_old(st, prefix, legacy, first, n, seen_key, eid, now, seen_ttl)
  tact_legacy_from_old = tact_legacy_from_old or tact_load_legacy()
  return tact_legacy_from_old(st, prefix, legacy, first, n, seen_key, eid, now, seen_ttl)
end
