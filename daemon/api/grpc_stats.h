#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/ops/metrics.h"

namespace tact::api {

// Label values: method = "/package.Service/Method" of a method compiled into this binary (anything else, e.g. a
// probe of an unknown method, is "unknown"); code = gRPC status code name (OK, UNAVAILABLE, …).
#define TACT_GRPC_STATS(COUNTER, GAUGE, HISTOGRAM)                                          \
  COUNTER(grpc_requests_total, "gRPC requests finished, by method and status code", (method, code)) \
  HISTOGRAM(grpc_request_duration_seconds, "gRPC request latency, by method", (method))
TACT_STATS_STRUCT(GrpcStats, TACT_GRPC_STATS);

std::string_view GrpcCodeName(grpc::StatusCode code);
// The method as a bounded label: the full name if the generated descriptor pool knows it, else "unknown".
std::string MethodLabel(const char* method);

// Counts every call of every service registered on the server (Throttle, health, reflection, services added
// later) at the moment its status is sent. Register with ServerBuilder::experimental().SetInterceptorCreators.
// Thread-safety: gRPC creates one interceptor per call; the stats are safe from any thread.
// A method's label and series are resolved on its first call and kept (known methods only: a bounded set), so a
// call costs one lookup by name, not a descriptor-pool search and a label copy.
class GrpcStatsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  GrpcStatsInterceptorFactory(GrpcStats& stats, const Clock& clock);
  ~GrpcStatsInterceptorFactory() override;
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

  struct Method;  // a method's label and series

 private:
  Method& Find(const char* method) ABSL_LOCKS_EXCLUDED(mu_);

  GrpcStats& stats_;
  const Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);  // by gRPC's name
  std::unique_ptr<Method> unknown_;
};

}  // namespace tact::api
