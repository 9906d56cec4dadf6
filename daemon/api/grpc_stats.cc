#include "daemon/api/grpc_stats.h"

#include <google/protobuf/descriptor.h>

#include <atomic>
#include <string_view>

namespace tact::api {

// The series are looked up on the method's first finished call (as before: a series appears once counted) and kept.
struct GrpcStatsInterceptorFactory::Method {
  explicit Method(std::string method_label) : label(std::move(method_label)) {}
  prometheus::Counter& Ok(GrpcStats& stats) {  // grpc_requests_total{method, code="OK"}
    prometheus::Counter* c = ok.load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &stats.grpc_requests_total.With({label, "OK"});
      ok.store(c, std::memory_order_release);
    }
    return *c;
  }
  prometheus::Histogram& Duration(GrpcStats& stats) {
    prometheus::Histogram* h = duration.load(std::memory_order_acquire);
    if (h == nullptr) {
      h = &stats.grpc_request_duration_seconds.With({label});
      duration.store(h, std::memory_order_release);
    }
    return *h;
  }
  const std::string label;
  std::atomic<prometheus::Counter*> ok{nullptr};
  std::atomic<prometheus::Histogram*> duration{nullptr};
};

namespace {

class GrpcStatsInterceptor final : public grpc::experimental::Interceptor {
 public:
  using Method = GrpcStatsInterceptorFactory::Method;
  GrpcStatsInterceptor(GrpcStats& stats, const Clock& clock, Method& method)
      : stats_(stats), clock_(clock), method_(method), start_(clock.Monotonic()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code == grpc::StatusCode::OK) {
        method_.Ok(stats_).Increment();
      } else {
        stats_.grpc_requests_total.Inc({method_.label, GrpcCodeName(code)});
      }
      method_.Duration(stats_).Observe(std::chrono::duration<double>(clock_.Monotonic() - start_).count());
    }
    methods->Proceed();
  }

 private:
  GrpcStats& stats_;
  const Clock& clock_;
  Method& method_;  // owned by the factory, which outlives the server's calls
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

std::string MethodLabel(const char* method) {
  if (method == nullptr) {
    return "unknown";
  }
  const std::string_view m(method);  // "/tact.v1.Throttle/Check"
  // gRPC's own services, whose descriptors may not be linked into the generated pool.
  for (std::string_view known : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                                 "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    if (m == known) {
      return std::string(m);
    }
  }
  const size_t slash = m.rfind('/');
  if (!m.starts_with('/') || slash == 0 || slash == std::string_view::npos) {
    return "unknown";
  }
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(m.substr(1, slash - 1)));
  if (service == nullptr || service->FindMethodByName(std::string(m.substr(slash + 1))) == nullptr) {
    return "unknown";
  }
  return std::string(m);
}

GrpcStatsInterceptorFactory::GrpcStatsInterceptorFactory(GrpcStats& stats, const Clock& clock)
    : stats_(stats), clock_(clock), unknown_(std::make_unique<Method>("unknown")) {}

GrpcStatsInterceptorFactory::~GrpcStatsInterceptorFactory() = default;

GrpcStatsInterceptorFactory::Method& GrpcStatsInterceptorFactory::Find(const char* method) {
  if (method == nullptr) return *unknown_;
  const absl::string_view name(method);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = methods_.find(name); it != methods_.end()) return *it->second;
  }
  std::string label = MethodLabel(method);
  if (label == "unknown") return *unknown_;  // not kept: names callers make up are not a bounded set
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Method>& m = methods_[name];
  if (m == nullptr) m = std::make_unique<Method>(std::move(label));
  return *m;
}

grpc::experimental::Interceptor* GrpcStatsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new GrpcStatsInterceptor(stats_, clock_, Find(info->method()));  // gRPC owns it
}

}  // namespace tact::api
