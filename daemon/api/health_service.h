#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tact::api {

// grpc.health.v1.Health as gRPC's default health service serves it (the same statuses, NOT_FOUND for a service
// never set, Watch streaming each change), on the synchronous API: gRPC 1.51's default service uses the callback
// API, whose threads would take CallQueues' events (call_queues.h). The server owns the HealthCheckServiceInterface
// half (Interface(), given to the builder as its health check service: Server::GetHealthCheckService() sets the
// statuses as before); the service itself outlives the server. Thread-safety: any thread.
class HealthService final : public grpc::health::v1::Health::Service {
 public:
  HealthService();
  // For ServerBuilder::SetOption (HealthCheckServiceServerBuilderOption): the statuses' setter; the server owns it.
  std::unique_ptr<grpc::HealthCheckServiceInterface> Interface();

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  // Sends the service's status, then each change, until the caller cancels, the server shuts down, or the interface's
  // Shutdown() (NOT_SERVING sent last).
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  class Setter;
  struct State {
    absl::Mutex mu;
    absl::CondVar changed;
    std::map<std::string, Status> services ABSL_GUARDED_BY(mu);
    bool shut_down ABSL_GUARDED_BY(mu) = false;
  };
  const std::shared_ptr<State> state_;
};

}  // namespace tact::api
