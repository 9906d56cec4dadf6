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

// tact.v1.Signals on the CallQueues: authenticate, validate, check the tenant on the queue's thread; the store work
// runs on the DecisionExecutor's threads (DecisionExecutor::Run) and finishes from there.
// Thread-safety: the queues' threads.
class SignalsService final {
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

  void Register(grpc::ServerBuilder& builder, CallQueues& queues);
  void PutSignal(grpc::ServerContext* ctx, const v1::PutSignalRequest* request, v1::PutSignalResponse* response,
                 UnaryReactor* reactor);
  void GetCustomerState(grpc::ServerContext* ctx, const v1::GetCustomerStateRequest* request,
                        v1::CustomerState* response, UnaryReactor* reactor);

 private:
  v1::Signals::AsyncService async_;
  decision::SignalIntake& intake_;
  const decision::PolicyHolder& policies_;
  const decision::CustomerStateReader& reader_;
  decision::DecisionExecutor& executor_;
  CallGate& gate_;
  const ApiOptions options_;
};

}  // namespace tact::api
