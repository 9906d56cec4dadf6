-- tact check-and-reserve (store v2): one call decides one or many customers, each atomically and in order (two
-- events of one customer in a batch are decided one after the other). Every key of a check carries its customer's
-- hash tag; a batch of several customers is for a single node (or keys in one Cluster slot), a batch of one runs
-- anywhere. The decision rule is store::ShouldReserve / store::IsFinal (store/counter_store.h); the in-memory
-- store implements the same, and tests/integration/store_semantics_test.cc runs one table of cases against both.
-- The same script records signals (ARGV[3] = 'signal', at the bottom).
-- tactd runs the same check itself (redis.checks compare_and_set, the default on one node: store/customer_draft.cc,
-- result for result and byte for byte, tests/integration/redis_cas_test.cc) and sends this script only what it
-- leaves to it: a change to what check() decides or writes is a change to both.
--
-- Layout (keys.h, docs/operations.md "Redis keys"): per customer ONE string `tact:{<h>}:s` holding all its state,
-- read once (MGET, with the event's marker key) and written once (SET PX: it expires with the last thing in it):
--   "2 <old_until>\n"       old_until: ms until which the older layouts are looked at too (legacy.lua), 0 none
--   "m<len eid> <len payload> <expires_ms>\n" <event id> <payload>   a decision marker: the last KEEP_MARKERS
--       (2) live ones, written last, oldest first; every one is read, wherever it is (earlier versions wrote the
--       marker first)
--   "g<len field> <at_ms> <expires_ms>\n" <field>                    a signal field (expires 0 = never)
--   "k<len suffix> <empty_at_ms> <data>\n" <suffix>                   a counter: suffix "r:<rule>[:<scope>]" =
--       rolling, data = the ms of each counted message, ascending, comma-separated; "c:<rule>[:<scope>]:<period>"
--       = calendar, data = the count; empty_at = when it is empty again (last message + window / period end)
-- and the earlier decision markers as strings `tact:{<h>}:seen:<event_id>` = "<outcome>|<marker>" (SET PX
-- seen_ttl, a format the v1 script reads too): a final decision appends its marker to the customer's key, drops the
-- expired ones, and moves the oldest live ones the key has no room for (more than KEEP_MARKERS) to their own keys,
-- with the time they have left. KEEP_MARKERS is 2, by measurement (docs/benchmarks.md, "Two decision markers in the
-- customer's key"): with tactd deciding (compare_and_set, the default) a customer's second
-- final decision within seen_ttl then writes one key instead of two (Redis CPU per decision 1.5x the floor instead
-- of 2.1-2.3x), and a customer with more costs what it did with 1 (a marker carried in the key costs about what
-- its own key's SET would). Here, in Lua, the carried marker costs more (every byte of a Lua string is paid), so
-- the script path gains on the second decision and pays ~5-25% more from the third on. A key with more markers (a
-- version that keeps more) is read whole and loses none: they are moved out on the next final decision.
-- Calls per check: MGET (marker + customer); EXISTS (older layouts: only for a customer without a v2 key or moved
-- in the last seen_ttl, and never with redis.older_layouts false); SET PX of the customer when anything changed;
-- SET PX of each marker moved out (a final decision of a customer whose key holds 2 live markers: one).
--
-- ARGV[1] now_ms  ARGV[2] seen_ttl_ms  ARGV[3] n specs  ARGV[4] n checks
-- then every spec (the plan's shape at this now, shared by the checks of a batch that have the same one):
--   quiet hold (0 none, 1 defer, 2 suppress), n limits, n signal checks, n args of the signal checks,
--   the shortcut for a customer with no state (see fresh() below): its code ('R' released, 'S' final and not
--   counted, 'D' nothing written, '-' none), the key's expiry then (ms), the stored outcome then,
--   per limit: kind ('r'/'c'), count, ttl_ms (rolling: the window; calendar: period end - now, at least 1),
--              rolling: now - window / calendar: period_end_ms, empty_at_ms (now + window / period end),
--              decisive (1/0), suppress_on_exceed (1/0)
--   per signal check: decisive (1/0), since_ms, hold_ms, n_fields, field... (a trailing '*' = prefix)
-- then the number of distinct decision markers and each of them, the number of distinct key starts for the shortcut
-- and each of them,
-- then per check: spec number (1-based), event_id, write (1) or dry run (0), marker number (1-based), legacy prefix
--   ('' none: see legacy.lua; '-' no older layout at all, redis.older_layouts false), key start number (1-based; 0:
--   no shortcut), then one counter suffix per limit of its spec
-- KEYS, per check in order: its marker key `seen:<event_id>`, its customer key `s`.
-- (A Cluster node's batch: no KEYS; they follow the per-check args, see node_batch below.)
-- Returns one reply per check: {1, outcome, marker} for an event decided before, else
-- {0, reserved, n_signals, hit_1, until_1, ..., used_1, frees_at_1, ...}; hit 0 = none, else {field, at_ms} of the
-- matching signal field set last; until -1 = no known end, frees_at 0 unless the window is full; n_signals < 0: -n_signals signal checks, none holding, and no pair sent
-- for them (a customer without signal fields); {2} = not run (node_batch only).
--
-- Cost (docs/benchmarks.md, redis_store_bench): Redis' Lua pays for every byte of every string it makes (an
-- argument, a value read, a concatenation, a sub) and for every table and pattern capture; a decision marker is
-- ~120-700 bytes (m4 / m3). So the markers are written last in the customer's key and cut out of it only to be
-- replied or moved (a run of kept ones as one piece), entries are read with plain finds, and an entry is written
-- back as the text it was read as.
local call = redis.call
local tonumber, format, sub, find, match, concat = tonumber, string.format, string.sub, string.find, string.match,
                                                   table.concat
local ARGV, KEYS = ARGV, KEYS

-- Constants (KEEP, KEEP_MARKERS, the slots of a parsed marker and of a parsed limit) are written as numbers where
-- used, not as locals: every local a nested function uses is an upvalue that each EVALSHA links again when it makes
-- the function (the top level runs on every call), by a walk of the call's open upvalues; as numbers they cost
-- nothing (one check per call: 196,000 -> 180,000 instructions, docs/benchmarks.md).
local now_text = ARGV[1]
local now = tonumber(now_text)
local seen_ttl = tonumber(ARGV[2])
local seen_exp = now + seen_ttl  -- a marker written now expires then
local seen_exp_text = format('%d', seen_exp)
-- A counter is kept this long past the time it is empty again, by the clock of the tactd writing: instances whose
-- clocks disagree (skew, a step of up to a day) must not drop a period's counter another still counts in (v1's
-- separate keys expired on Redis' elapsed time instead). Old periods are never read again; this is memory only.
-- KEEP = 93600000 (26 h), written as the number where used (see "Constants" above); store::kCounterKeepMs
-- (keys.h), which tactd's shortcut (fresh below) uses, is the same.

local NO_SIGNALS = {}  -- shared by the customers without any (never written to)

-- Integers as text, each converted once per call: a conversion is a printf, and '%d' costs less than half of
-- tostring's '%.14g' or '%.0f' (ms times are integers below 2^53, Lua's integer format is 64 bits).
local texts = {}
local function itext(n)
  local t = texts[n]
  if not t then
    t = format('%d', n)
    texts[n] = t
  end
  return t
end
local ntext = itext

-- Decision markers kept in the customer's key: the last KEEP_MARKERS live ones (why 2: the header). A final decision
-- that would make one more moves the oldest to its own key first. store::kMarkersInCustomerKey (keys.h) is the
-- same number (the in-memory store counts keys with it).
-- KEEP_MARKERS = 2, written as the number where used.
-- A parsed marker is 5 slots of st.mk: its event id, expiry (0 once moved out), and where its entry, its payload
-- and both end in st.blob.
-- Its slots, as offsets from 5 * (marker number - 1): 1 M_EID, 2 M_EXP, 3 M_AT (entry), 4 M_POS (payload), 5 M_LAST.

-- The customer's state from its key's value (nil: none): st.old/old_text, its markers st.mk (st.mn of them,
-- oldest first; their payloads and whole entries are left in st.blob: making a Lua string costs per byte, so
-- they are cut out only to be replied or moved), st.sig = {{field, at, expires, raw}...}, st.cnt = suffix ->
-- {empty_at, data, empty_at text, raw}, st.order = the suffixes in order. An entry keeps its stored text, written
-- back unchanged. A new marker is st.new_eid/new_out/new_mark.
local function parse(blob)
  local st = {old = 0, old_text = '0', sig = NO_SIGNALS, cnt = {}, order = {}, mn = 0}
  if not blob then return st end
  if sub(blob, 1, 2) ~= '2 ' then return st end
  local e = find(blob, '\n', 3, true)
  if not e then return st end
  local old = sub(blob, 3, e - 1)
  st.old, st.old_text = tonumber(old) or 0, old
  -- Entries are read with plain finds (a pattern with captures costs several times more).
  local pos, n = e + 1, #blob
  while pos <= n do
    local tag = sub(blob, pos, pos)
    local s1 = find(blob, ' ', pos + 1, true)
    if not s1 then break end
    local len = tonumber(sub(blob, pos + 1, s1 - 1))
    if tag == 'k' then  -- k<len suffix> <empty_at> <data>\n<suffix>
      local s2 = find(blob, ' ', s1 + 1, true)
      local nl = s2 and find(blob, '\n', s2 + 1, true)
      if not nl or not len then break end
      local last = nl + len
      local suffix, ea = sub(blob, nl + 1, last), sub(blob, s1 + 1, s2 - 1)
      st.cnt[suffix] = {tonumber(ea), sub(blob, s2 + 1, nl - 1), ea, sub(blob, pos, last)}
      st.order[#st.order + 1] = suffix
      pos = last + 1
    elseif tag == 'g' then  -- g<len field> <at_ms> <expires_ms>\n<field>
      local s2 = find(blob, ' ', s1 + 1, true)
      local nl = s2 and find(blob, '\n', s2 + 1, true)
      if not nl or not len then break end
      local last = nl + len
      if st.sig == NO_SIGNALS then st.sig = {} end
      st.sig[#st.sig + 1] = {sub(blob, nl + 1, last), tonumber(sub(blob, s1 + 1, s2 - 1)),
                             tonumber(sub(blob, s2 + 1, nl - 1)), sub(blob, pos, last)}
      pos = last + 1
    elseif tag == 'm' then  -- m<len eid> <len payload> <expires_ms>\n<eid><payload>
      local s2 = find(blob, ' ', s1 + 1, true)
      local nl = s2 and find(blob, '\n', s2 + 1, true)
      local lp = nl and tonumber(sub(blob, s1 + 1, s2 - 1))
      if not lp or not len then break end
      local last = nl + len + lp
      local mk = st.mk
      if not mk then
        mk = {}
        st.mk, st.blob = mk, blob
      end
      local k = 5 * st.mn
      mk[k + 1], mk[k + 2], mk[k + 3], mk[k + 4], mk[k + 5] =
        sub(blob, nl + 1, nl + len), tonumber(sub(blob, s2 + 1, nl - 1)), pos, nl + len + 1, last
      st.mn = st.mn + 1
      pos = last + 1
    else
      break
    end
  end
  return st
end

-- Writes `st` to `key` (what has expired left out), expiring with the last thing in it; deletes the key when
-- nothing is left. Entries not changed are written back as they were read; the markers go last, oldest first (they
-- are the largest entries: a reader finds the rest without reading past them), a run of them that was contiguous
-- in the key as one piece.
local function store(st, key, existed)
  local out = {'2 ', st.old_text, '\n'}
  local n = 3
  local latest, forever = 0, false
  for _, g in ipairs(st.sig) do
    local exp = g[3]
    if exp == 0 or exp > now then
      n = n + 1
      out[n] = g[4] or format('g%d %d %d\n%s', #g[1], g[2], exp, g[1])
      if exp == 0 then forever = true elseif exp > latest then latest = exp end
    end
  end
  local cnt = st.cnt
  for _, suffix in ipairs(st.order) do
    local c = cnt[suffix]
    if c and c[1] + 93600000 > now then  -- KEEP
      local raw = c[4]
      if raw then
        n = n + 1
        out[n] = raw
      else
        out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6], out[n + 7] =
          'k', itext(#suffix), ' ', c[3], ' ', c[2], '\n'
        out[n + 8] = suffix
        n = n + 8
      end
      if c[1] + 93600000 > latest then latest = c[1] + 93600000 end
      cnt[suffix] = nil  -- once
    end
  end
  local mk = st.mk
  if mk then
    local from, to = nil, nil  -- the run of kept entries being collected
    for k = 0, 5 * (st.mn - 1), 5 do
      local exp = mk[k + 2]
      if exp > now then
        if from and mk[k + 3] == to + 1 then
          to = mk[k + 5]
        else
          if from then
            n = n + 1
            out[n] = sub(st.blob, from, to)
          end
          from, to = mk[k + 3], mk[k + 5]
        end
        if exp > latest then latest = exp end
      end
    end
    if from then
      n = n + 1
      out[n] = sub(st.blob, from, to)
    end
  end
  local fresh = st.new_eid ~= nil
  if fresh then  -- a new marker: "m<len eid> <len payload> <expires>\n<eid><outcome>|<marker>"
    out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6], out[n + 7] =
      'm', itext(#st.new_eid), ' ', itext(#st.new_out + #st.new_mark), ' ', seen_exp_text, '\n'
    out[n + 8], out[n + 9], out[n + 10] = st.new_eid, st.new_out, st.new_mark
    if seen_exp > latest then latest = seen_exp end
  end
  if forever then
    call('SET', key, concat(out))
  elseif latest > now then
    -- relative to the caller's clock, like every expiry tactd sets; a marker written now is usually the last thing
    local ttl = (fresh and latest == seen_exp) and ARGV[2] or ntext(latest - now)
    call('SET', key, concat(out), 'PX', ttl)
  elseif existed then
    call('DEL', key)
  end
end

-- A stored "<outcome>|<marker>" as a duplicate's reply.
local function earlier_reply(text)
  local outcome, marker = match(text, '^([^|]*|[^|]*|[^|]*)|(.*)$')
  return {1, outcome or text, marker or ''}
end

-- ---- Signal writes: KEYS[1] the customer key; ARGV[4] field, [5] remove (1/0), [6] at_ms, [7] expires_ms,
-- [8] legacy prefix ('' none, '-' no older layout). The customer's expired signal fields are pruned.
if ARGV[3] == 'signal' then
  local key = KEYS[1]
  local blob = call('GET', key)
  local st = parse(blob)
  if (not blob or st.old > now) and ARGV[8] ~= '-' then
    tact_from_old(st, sub(key, 1, -2), ARGV[8], 8, 0, nil, nil, now, seen_ttl)
  end
  local field, kept = ARGV[4], {}
  for _, g in ipairs(st.sig) do
    if g[1] ~= field then kept[#kept + 1] = g end
  end
  if ARGV[5] ~= '1' then kept[#kept + 1] = {field, tonumber(ARGV[6]), tonumber(ARGV[7])} end
  st.sig = kept
  store(st, key, blob ~= nil)
  return 1
end

local nspecs = tonumber(ARGV[3])
local nchecks = tonumber(ARGV[4])

-- A Redis Cluster node's batch (redis_counter_store_cluster.cc) declares no keys: its customers are in several slots
-- and Redis accepts declared keys of one slot only (CROSSSLOT, even with allow-cross-slot-keys). Their KEYS come
-- after the per-check args instead, and each check's first access (its MGET) probes that this node serves its slot
-- now: an undeclared key's slot is checked when it is accessed, so a check this node cannot serve (the slot moved
-- or is being migrated) is answered NOT_HERE before it reads or writes anything, and so are its customer's later
-- checks in the batch (they stay in order); tactd sends those one by one, with their keys declared.
local node_batch = #KEYS == 0
local NOT_HERE = {2}
local away = {}  -- customer key -> true: answered NOT_HERE
if node_batch then
  local base = #ARGV - 2 * nchecks
  KEYS = {}
  for i = 1, 2 * nchecks do KEYS[i] = ARGV[base + i] end
end

-- A limit's args, as offsets from its first.
-- 0 KIND, 1 COUNT, 2 TTL, 3 CUT, 4 EMPTY_AT, 5 DECISIVE, 6 SUPPRESS.

-- A parsed limit (spec_lims(spec)[i]) is an array: a table with named fields costs a hash part per limit per call.
-- Its slots: 1 rolling (boolean), 2 count, 3 ttl, 4 cut, 5 cut as text, 6 empty_at, 7 empty_at as text, 8 decisive,
-- 9 suppress_on_exceed.

-- The specs by number as sent (a table lookup costs less than a tonumber). Only what every check reads is read
-- here: a customer with no state takes the shortcut the spec carries (fresh), and its limits and signal checks are
-- read on first use (spec_lims, signal_checks), so a call of new customers converts none of their numbers.
local specs = {}
local a = 5
for s = 1, nspecs do
  local nlim, nsig, nsig_args = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  -- limit i's args: ARGV[a + 7 + 7 * (i - 1) + KIND ...]
  local spec = {hold = ARGV[a], nlim = nlim, nsig = nsig, lim_at = a + 7, sig_at = a + 7 + 7 * nlim,
                fresh = ARGV[a + 4], fresh_ttl = ARGV[a + 5], fresh_out = ARGV[a + 6]}
  a = spec.sig_at + nsig_args
  specs[itext(s)] = spec
end

-- A spec's limits, read once for all checks of the spec.
local function spec_lims(spec)
  local lims = spec.lims
  if lims then return lims end
  lims = {}
  for i = 1, spec.nlim do
    local o = spec.lim_at + 7 * (i - 1)
    local cut, empty_at = ARGV[o + 3], ARGV[o + 4]
    lims[i] = {ARGV[o] == 'r', tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(cut), cut,
               tonumber(empty_at), empty_at, ARGV[o + 5] == '1', ARGV[o + 6] == '1'}
  end
  spec.lims = lims
  -- the stored text of "no signal holds": '0:-1' per signal check, comma-separated
  spec.no_signals = spec.nsig > 0 and string.rep('0:-1,', spec.nsig - 1) .. '0:-1' or ''
  return lims
end

-- The decision markers of the checks, each distinct one once (a campaign's checks mostly share one, and every
-- byte of an argument costs Redis' Lua).
local markers = {}
local nmarkers = tonumber(ARGV[a])
for m = 1, nmarkers do markers[itext(m)] = ARGV[a + m] end  -- by number as sent, as specs
a = a + 1 + nmarkers
-- The starts of the keys the shortcut writes (FreshHead in redis_check_call.cc), each distinct one once.
local heads = {}
local nheads = tonumber(ARGV[a])
for h = 1, nheads do heads[itext(h)] = ARGV[a + h] end
a = a + 1 + nheads

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

-- The spec's signal checks against the customer's live fields: appends hit/until pairs to `reply` (a hit as
-- {field, at_ms}: the matching field set last), returns the stored text of each and whether a decisive one holds.
local function check_signals(spec, st, reply)
  local nsig = spec.nsig
  local live = nil
  for _, g in ipairs(st.sig) do
    if g[3] == 0 or g[3] > now then
      live = live or {}
      live[#live + 1] = g
    end
  end
  if not live then
    for i = 1, nsig do
      reply[#reply + 1] = 0
      reply[#reply + 1] = -1
    end
    return spec.no_signals, false
  end
  local parts, decisive = {}, false
  local checks = signal_checks(spec)
  for i = 1, nsig do
    local c = checks[i]
    local best = nil  -- nil: no live matching field; -1: holds with no known end; else ms when it stops
    local named = nil  -- the matching field set last (equal times: the smallest name), reported with the hit
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
            if not named or f[2] > named[2] then
              named = f
            elseif f[2] == named[2] then  -- equal times: the smaller name, bytewise (`<` follows the locale)
              local byte, x, y, k = string.byte, f[1], named[1], 1
              while byte(x, k) and byte(x, k) == byte(y, k) do k = k + 1 end
              if (byte(x, k) or -1) < (byte(y, k) or -1) then named = f end
            end
            break
          end
        end
      end
    end
    if best == nil then
      reply[#reply + 1] = 0
      reply[#reply + 1] = -1
      parts[i] = '0:-1'
    else
      reply[#reply + 1] = {named[1], named[2]}  -- a hit: {field, at_ms} where a miss has 0
      reply[#reply + 1] = best
      parts[i] = '1:' .. format('%.0f', best)
      if c.decisive then decisive = true end
    end
  end
  return concat(parts, ','), decisive
end

-- The reply to a customer with no state (the shortcut's), `reserved` 1 or 0: per spec, shared by its checks.
local function fresh_reply(spec, reserved)
  local key = reserved == 1 and 'reply1' or 'reply0'
  local reply = spec[key]
  if not reply then
    reply = {0, reserved, -spec.nsig}
    for i = 1, spec.nlim do reply[2 * i + 2], reply[2 * i + 3] = 0, 0 end
    spec[key] = reply
  end
  return reply
end

-- check() for a customer with no state, nothing used, no signal field: what the full path below would do, worked
-- out by tactd per spec (redis_check_call.cc FreshCode: spec.fresh 'R' released, 'S' final and not counted, 'D'
-- deferred; the key's expiry spec.fresh_ttl, the stored outcome spec.fresh_out) and per counter names (the key's
-- start `head`: its header and, released, one message in each counter). The key is written as one string.
-- tests/integration/redis_check_wire_test.cc holds both paths to the same bytes.
local function fresh(spec, head, key, ao, event_id)
  local code = spec.fresh
  if ARGV[ao + 2] ~= '1' then return fresh_reply(spec, 0) end  -- a dry run writes and reserves nothing
  if code == 'D' then return fresh_reply(spec, 0) end  -- nor does a deferral
  local mark, out = markers[ARGV[ao + 3]], spec.fresh_out
  call('SET', key, head .. 'm' .. itext(#event_id) .. ' ' .. itext(#out + #mark) .. ' ' .. seen_exp_text .. '\n' ..
       event_id .. out .. mark, 'PX', spec.fresh_ttl)
  return fresh_reply(spec, code == 'R' and 1 or 0)
end

-- One check: KEYS from ko + 1, its args from ao (six, then its spec's counter suffixes).
local function check(spec, ko, ao)
  local seen_key, key = KEYS[ko + 1], KEYS[ko + 2]
  local event_id = ARGV[ao + 1]
  local got
  if node_batch then
    got = away[key] and NOT_HERE or redis.pcall('MGET', seen_key, key)
    if got == NOT_HERE or got.err then
      away[key] = true
      return NOT_HERE
    end
  else
    got = call('MGET', seen_key, key)
  end
  if got[1] then
    return earlier_reply(got[1])
  end
  local blob = got[2]
  if not blob and ARGV[ao + 5] ~= '0' and ARGV[ao + 4] == '-' then  -- no state, and no older layout to look in
    return fresh(spec, heads[ARGV[ao + 5]], key, ao, event_id)
  end
  local st = parse(blob)
  local mk = st.mk
  if mk then  -- a marker in the customer's key
    for k = 0, 5 * (st.mn - 1), 5 do
      if mk[k + 1] == event_id and mk[k + 2] > now then
        return earlier_reply(sub(blob, mk[k + 4], mk[k + 5]))
      end
    end
  end
  local nsig, nlim = spec.nsig, spec.nlim
  if (not blob or st.old > now) and ARGV[ao + 4] ~= '-' then  -- older layouts (legacy.lua)
    local earlier = tact_from_old(st, sub(key, 1, -2), ARGV[ao + 4], ao + 5, nlim, seen_key, event_id, now, seen_ttl)
    if earlier then
      return earlier
    end
  end
  if not blob and not st.dirty and ARGV[ao + 5] ~= '0' then  -- no state anywhere: the common new customer
    return fresh(spec, heads[ARGV[ao + 5]], key, ao, event_id)
  end
  local lims = spec_lims(spec)
  -- reply[3] < 0: the spec's -reply[3] signal checks, none of which holds (the customer has no signal fields: the
  -- common case, sent as one number instead of a pair per check)
  local reply = {0, 0, -nsig}
  local sig_text = spec.no_signals  -- the stored outcome's text
  local blocked = false      -- an enforcing check applies: nothing is reserved
  local final = nil          -- nil = not decided yet by precedence; true/false = final decision or not
  if nsig > 0 and st.sig ~= NO_SIGNALS then
    reply[3] = nsig
    local decisive
    sig_text, decisive = check_signals(spec, st, reply)
    if decisive then
      blocked, final = true, true
    end
  end
  local r = #reply  -- limit i's usage: reply[r + 2i - 1], its frees_at reply[r + 2i]
  local cnt = st.cnt
  local live = nil  -- rolling: the window's messages
  local lim_text = ''
  for i = 1, nlim do
    local l = lims[i]
    local c = cnt[ARGV[ao + 5 + i]]
    local count = l[2]
    local used = 0
    local frees, frees_text = 0, '0'
    if l[1] then  -- rolling (the slots of a limit: above spec_lims)
      local ts = {}
      if c and c[2] ~= '' then
        local cut, data, k, p = l[4], c[2], 0, 1
        while true do  -- ascending times: the first one inside the window, then all the rest
          local comma = find(data, ',', p, true)
          local t = sub(data, p, (comma or 0) - 1)
          if tonumber(t) > cut then
            k = k + 1
            ts[k] = t
          end
          if not comma then break end
          p = comma + 1
        end
      end
      live = live or {}
      live[i] = ts
      used = #ts
      if used >= count then
        frees = tonumber(ts[used - count + 1]) + l[3]  -- + its window
        frees_text = ntext(frees)
      end
    else
      if c and c[1] > now then used = tonumber(c[2]) end
      if used >= count then
        frees, frees_text = l[4], l[5]
      end
    end
    if used >= count and l[8] then  -- decisive
      blocked = true
      if final == nil then final = l[9] end  -- suppress_on_exceed
    end
    reply[r + 2 * i - 1] = used
    reply[r + 2 * i] = frees
    if i == 1 then
      lim_text = itext(used) .. ':' .. frees_text
    else
      lim_text = lim_text .. ',' .. itext(used) .. ':' .. frees_text
    end
  end
  if spec.hold ~= '0' then
    if final == nil then final = spec.hold == '2' end
    blocked = true
  end
  if not blocked then final = true end
  if ARGV[ao + 2] ~= '1' then  -- a dry run writes nothing of its own (a customer moved from an older layout is kept)
    if st.dirty then store(st, key, blob ~= nil) end
    return reply
  end
  local dirty = st.dirty
  if not blocked then
    for i = 1, nlim do
      local l = lims[i]
      local suffix = ARGV[ao + 5 + i]
      if not cnt[suffix] then
        st.order[#st.order + 1] = suffix
      end
      if l[1] then
        local ts = live[i]
        ts[#ts + 1] = now_text
        cnt[suffix] = {l[6], concat(ts, ','), l[7]}
      else
        cnt[suffix] = {l[6], itext(reply[r + 2 * i - 1] + 1), l[7]}
      end
    end
    reply[2] = 1
    dirty = true
  end
  if final then
    if mk then  -- the key keeps KEEP_MARKERS live markers with this one: the oldest others move to their own keys
      local live = 0
      for k = 0, 5 * (st.mn - 1), 5 do
        if mk[k + 2] > now then live = live + 1 end
      end
      local k = 0
      while live >= 2 do  -- KEEP_MARKERS
        local exp = mk[k + 2]
        if exp > now then
          call('SET', sub(key, 1, -2) .. 'seen:' .. mk[k + 1], sub(blob, mk[k + 4], mk[k + 5]), 'PX',
               ntext(exp - now))
          mk[k + 2] = 0
          live = live - 1
        end
        k = k + 5
      end
    end
    st.new_eid = event_id
    st.new_out = itext(reply[2]) .. '|' .. sig_text .. '|' .. lim_text .. '|'
    st.new_mark = markers[ARGV[ao + 3]]
    dirty = true
  end
  if dirty then
    store(st, key, blob ~= nil)
  end
  return reply
end

local out = {}
local ko = 0
for c = 1, nchecks do
  local spec = specs[ARGV[a]]
  out[c] = check(spec, ko, a)
  ko = ko + 2
  a = a + 6 + spec.nlim
end
return out
