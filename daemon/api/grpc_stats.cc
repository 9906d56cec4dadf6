#include "daemon/api/grpc_stats.h"

#include <google/protobuf/descriptor.h>

#include <string_view>

namespace tact::api {
namespace {

class GrpcStatsInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcStatsInterceptor(GrpcStats& stats, const Clock& clock, std::string method)
      : stats_(stats), clock_(clock), method_(std::move(method)), start_(clock.Monotonic()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      stats_.grpc_requests_total.Inc({method_, GrpcCodeName(status.error_code())});
      stats_.grpc_request_duration_seconds.Observe(
          {method_}, std::chrono::duration<double>(clock_.Monotonic() - start_).count());
    }
    methods->Proceed();
  }

 private:
  GrpcStats& stats_;
  const Clock& clock_;
  const std::string method_;
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

grpc::experimental::Interceptor* GrpcStatsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new GrpcStatsInterceptor(stats_, clock_, MethodLabel(info->method()));  // gRPC owns it
}

}  // namespace tact::api
