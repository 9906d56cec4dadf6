#pragma once

#include <grpcpp/grpcpp.h>

#include "daemon/core/executor.h"
#include "daemon/decision/decision_service.h"
#include "tact/v1/throttle.grpc.pb.h"

namespace tact::api {

// tact.v1.Throttle over gRPC's callback API. A shell: validate into core types (errors name the field), hand
// the store work to the executor, finish from the executor thread. Thread-safety: gRPC threads.
class ThrottleService final : public v1::Throttle::CallbackService {
 public:
  ThrottleService(decision::DecisionService& decider, Executor& executor) : decider_(decider), executor_(executor) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override;

 private:
  decision::DecisionService& decider_;
  Executor& executor_;
};

// The one mapping from absl::Status to gRPC status. Server-side codes never forward internal messages.
grpc::Status ToGrpcStatus(const absl::Status& s);

}  // namespace tact::api
