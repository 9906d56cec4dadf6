-- tact compare-and-set (redis.checks: compare_and_set, redis_cas_checks.cc): writes the customer keys tactd decided
-- checks on (store/customer_draft.h, check.lua's check run in tactd), each only if it still holds what tactd read,
-- and with it the decision markers its decisions moved to their own keys. Nothing else: the decision was made in
-- tactd. One reply per key, in order: 1 written, 0 changed since it was read (nothing of it written: check.lua
-- decides that customer's checks again).
-- KEYS, per key written: the customer's key `s`, then one `seen:<event_id>` per marker moved.
-- ARGV[1] the number of keys written, then per key: n markers moved, the value read ('' none), op ('S' SET PX,
--   'F' SET, 'D' DEL), the value, its ttl_ms, then per marker moved: its payload, its ttl_ms.
-- A key read as none is written with SET NX (one call: a key written since is left as it is).
local call, KEYS, ARGV = redis.call, KEYS, ARGV
local out, k, a = {}, 1, 2
for w = 1, tonumber(ARGV[1]) do
  local key, moved, read, op = KEYS[k], tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
  local ok = false
  if read == '' then
    if op == 'S' then
      ok = call('SET', key, ARGV[a + 3], 'NX', 'PX', ARGV[a + 4])
    elseif op == 'F' then
      ok = call('SET', key, ARGV[a + 3], 'NX')
    end
  elseif call('GET', key) == read then
    if op == 'S' then
      call('SET', key, ARGV[a + 3], 'PX', ARGV[a + 4])
    elseif op == 'F' then
      call('SET', key, ARGV[a + 3])
    else
      call('DEL', key)
    end
    ok = true
  end
  if ok then
    for m = 1, moved do
      call('SET', KEYS[k + m], ARGV[a + 3 + 2 * m], 'PX', ARGV[a + 4 + 2 * m])
    end
    out[w] = 1
  else
    out[w] = 0
  end
  k = k + 1 + moved
  a = a + 5 + 2 * moved
end
return out
