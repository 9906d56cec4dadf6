#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "daemon/api/throttle_service.h"
#include "daemon/decision/customer_state.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/signal_intake.h"
#include "tact/v1/signals.grpc.pb.h"

namespace tact::api {

// tact.v1.Signals over gRPC's callback API: authenticate, validate, check the tenant on the gRPC thread; the store
// work runs on the DecisionExecutor's threads (DecisionExecutor::Run) and finishes from there.
// Thread-safety: gRPC threads.
class SignalsService final : public v1::Signals::CallbackService {
 public:
  SignalsService(decision::SignalIntake& intake, const decision::PolicyHolder& policies,
                 const decision::CustomerStateReader& reader, decision::DecisionExecutor& executor, CallGate& gate,
                 ApiOptions options)
      : intake_(intake),
        policies_(policies),
        reader_(reader),
        executor_(executor),
        gate_(gate),
        options_(options) {}

  grpc::ServerUnaryReactor* PutSignal(grpc::CallbackServerContext* ctx, const v1::PutSignalRequest* request,
                                      v1::PutSignalResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomerState(grpc::CallbackServerContext* ctx,
                                             const v1::GetCustomerStateRequest* request,
                                             v1::CustomerState* response) override;

 private:
  decision::SignalIntake& intake_;
  const decision::PolicyHolder& policies_;
  const decision::CustomerStateReader& reader_;
  decision::DecisionExecutor& executor_;
  CallGate& gate_;
  const ApiOptions options_;
};

}  // namespace tact::api
