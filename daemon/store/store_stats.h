// The counter store's metrics (tact_redis_*): calls, errors and latency (InstrumentedCounterStore), the layout
// lookup (the health thread), and compare_and_set's guess of new customers (RedisCounterStore).
#pragma once

#include "daemon/ops/metrics.h"

namespace tact::store {

// Label values: op ∈ {check_and_reserve, ping, archive_put, archive_get}; code = absl status code name
// (unavailable, deadline_exceeded, …); outcome ∈ {new, existed, taken_back}.
#define TACT_STORE_STATS(COUNTER, GAUGE, HISTOGRAM)                                                       \
  COUNTER(redis_calls_total, "Calls to the counter store (one round-trip each)", (op))                   \
  COUNTER(redis_checks_total, "Customer checks sent to the counter store (a call carries one or more)", ()) \
  COUNTER(redis_errors_total, "Failed counter-store calls, by status code", (op, code))                   \
  GAUGE(redis_up, "1 if the last readiness probe of Redis succeeded", ())                                  \
  GAUGE(redis_older_layouts, "1 while a customer without a store-v2 key is looked for in the older key layouts " \
                             "(0: the Redis carries the layout seal, or redis.older_layouts is false)", ())       \
  COUNTER(redis_guessed_total, "Customers decided as new before their keys were read (redis.checks compare_and_set), " \
                               "by what the read found: new, existed (written by cas.lua), taken_back (check.lua)",  \
          (outcome))                                                                                      \
  COUNTER(redis_known_forgotten_total, "Times tactd forgot every customer it knew, as most of their keys were gone " \
                                       "(a flushed, evicted or restarted Redis)", ())                            \
  HISTOGRAM(redis_call_duration_seconds, "Counter-store call latency (connection borrow + round-trip)", (op))
TACT_STATS_STRUCT(StoreStats, TACT_STORE_STATS);

}  // namespace tact::store
