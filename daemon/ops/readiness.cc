#include "daemon/ops/readiness.h"

#include "absl/strings/str_cat.h"

namespace tact::ops {

Readiness Evaluate(const Components& c) {
  const char* kafka = c.kafka_assigned ? "assigned" : c.kafka_joined ? "idle" : "joining";
  std::string nodes;  // Redis Cluster: "redis_nodes":{"<host:port>":true,...}
  for (const auto& [node, up] : c.redis_nodes) {
    absl::StrAppend(&nodes, nodes.empty() ? ",\"redis_nodes\":{" : ",", "\"", node, "\":", up ? "true" : "false");
  }
  if (!nodes.empty()) nodes.append("}");
  return Readiness{c.policy_loaded && c.redis_reachable && c.kafka_joined,
                   absl::StrCat("{\"policy\":", c.policy_loaded ? "true" : "false",
                                ",\"redis\":", c.redis_reachable ? "true" : "false", nodes, ",\"kafka\":\"", kafka,
                                "\"}")};
}

}  // namespace tact::ops
