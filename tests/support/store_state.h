#pragma once

// What the Redis store holds for one customer (store v2: its one key, daemon/store/customer_blob.h), for tests
// that look at Redis directly.
#include <hiredis/hiredis.h>

#include <optional>
#include <string>

#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_connection.h"

namespace tact::testing {

// The customer's state, or nullopt when it has no key (or it cannot be read).
inline std::optional<store::CustomerBlob> CustomerState(int redis_port, const std::string& tenant,
                                                        const std::string& customer) {
  store::RedisContextPtr c(redisConnect("127.0.0.1", redis_port));
  if (!c || c->err) return std::nullopt;
  const std::string key = store::CustomerKey(store::KeySchema().CustomerPrefix(tenant, customer));
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "GET %b", key.data(), key.size())));
  if (!r || r->type != REDIS_REPLY_STRING) return std::nullopt;
  return store::ParseCustomerBlob(std::string_view(r->str, r->len));
}

// The messages counted in the customer's counter `suffix` ("r:<rule>": rolling; "c:...": calendar); 0 when none.
inline long long Counted(int redis_port, const std::string& tenant, const std::string& customer,
                         const std::string& suffix) {
  std::optional<store::CustomerBlob> b = CustomerState(redis_port, tenant, customer);
  if (!b) return 0;
  for (const store::CustomerBlob::Counter& k : b->counters) {
    if (k.suffix == suffix) return k.rolling() ? static_cast<long long>(k.times.size()) : k.count;
  }
  return 0;
}

}  // namespace tact::testing
