#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/ops/metrics.h"

namespace tact::ops {

// What /readyz and the gRPC health service look at. Liveness (/healthz) looks at none of it.
struct Components {
  bool policy_loaded = false;
  bool redis_reachable = false;
  bool kafka_joined = false;    // the consumer has joined its group since start (latched)
  bool kafka_assigned = false;  // it holds input partitions now
  // Redis Cluster: each master ("host:port") and whether it answered the last probe; empty on one Redis node.
  std::vector<std::pair<std::string, bool>> redis_nodes;
};

struct Readiness {
  bool ready = false;
  std::string detail;  // JSON object of named components, e.g. {"policy":true,"redis":false,"kafka":"assigned"}
};

// Pure. Ready = a policy is loaded, Redis answers, and the consumer has joined its group once: with partitions
// ("assigned") or without ("idle": more replicas than partitions, by design). A later Kafka outage does not make
// the instance unready: gRPC keeps serving (DESIGN failure table) while librdkafka reconnects.
Readiness Evaluate(const Components& c);

#define TACT_PROCESS_STATS(COUNTER, GAUGE, HISTOGRAM)                                                  \
  GAUGE(build_info, "tactd build (value 1), by version", (version))                                    \
  GAUGE(ready, "1 while /readyz answers 200 (policy loaded, Redis reachable, Kafka group joined)", ())  \
  GAUGE(start_time_seconds, "Process start, Unix time", ())
TACT_STATS_STRUCT(ProcessStats, TACT_PROCESS_STATS);

}  // namespace tact::ops
