#include "daemon/ops/readiness.h"

#include "absl/strings/str_cat.h"

namespace tact::ops {

Readiness Evaluate(const Components& c) {
  const char* kafka = c.kafka_assigned ? "assigned" : c.kafka_joined ? "idle" : "joining";
  return Readiness{c.policy_loaded && c.redis_reachable && c.kafka_joined,
                   absl::StrCat("{\"policy\":", c.policy_loaded ? "true" : "false",
                                ",\"redis\":", c.redis_reachable ? "true" : "false", ",\"kafka\":\"", kafka, "\"}")};
}

}  // namespace tact::ops
