#include "daemon/api/health_service.h"

namespace tact::api {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthService::Setter final : public grpc::HealthCheckServiceInterface {
 public:
  explicit Setter(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void SetServingStatus(const std::string& service, bool serving) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->shut_down) return;
    state_->services[service] = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
    state_->changed.SignalAll();
  }
  void SetServingStatus(bool serving) override {  // every service set so far, and the server's ("")
    absl::MutexLock lock(&state_->mu);
    if (state_->shut_down) return;
    for (auto& [name, status] : state_->services) {
      status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
    }
    state_->changed.SignalAll();
  }
  void Shutdown() override {  // NOT_SERVING from now on, whatever is set after
    absl::MutexLock lock(&state_->mu);
    for (auto& [name, status] : state_->services) status = HealthCheckResponse::NOT_SERVING;
    state_->shut_down = true;
    state_->changed.SignalAll();
  }

 private:
  const std::shared_ptr<State> state_;
};

HealthService::HealthService() : state_(std::make_shared<State>()) {
  absl::MutexLock lock(&state_->mu);
  state_->services[""] = HealthCheckResponse::SERVING;  // the server's own, as gRPC's default service starts
}

std::unique_ptr<grpc::HealthCheckServiceInterface> HealthService::Interface() {
  return std::make_unique<Setter>(state_);
}

grpc::Status HealthService::Check(grpc::ServerContext*, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  absl::MutexLock lock(&state_->mu);
  auto it = state_->services.find(request->service());
  if (it == state_->services.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "");
  response->set_status(it->second);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  bool first = true;
  Status sent = HealthCheckResponse::UNKNOWN;
  absl::MutexLock lock(&state_->mu);
  while (!ctx->IsCancelled()) {
    auto it = state_->services.find(request->service());
    const Status now = it == state_->services.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
    if (first || now != sent) {
      HealthCheckResponse response;
      response.set_status(now);
      state_->mu.Unlock();  // never write under the lock: a slow reader must not hold up the setters
      const bool written = writer->Write(response);
      state_->mu.Lock();
      if (!written) break;  // the caller has gone
      first = false;
      sent = now;
      continue;  // what changed while writing is seen at once
    }
    if (state_->shut_down) break;  // NOT_SERVING sent: the stream ends, so the server's shutdown need not wait for it
    // A change wakes it; a cancelled call (the caller gone, the server shutting down) within a second.
    state_->changed.WaitWithTimeout(&state_->mu, absl::Seconds(1));
  }
  return grpc::Status::OK;
}

}  // namespace tact::api
