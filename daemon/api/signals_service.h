#pragma once

#include <grpcpp/grpcpp.h>

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/api/throttle_service.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/store/counter_store.h"
#include "tact/v1/signals.grpc.pb.h"

namespace tact::api {

// The counters the active policy keeps for a tenant's customers: one family per limit rule whose match admits
// the tenant (pure).
std::vector<store::CounterFamily> CounterFamilies(const policy::Policy& policy, std::string_view tenant);

// GetCustomerState without the transport: validate (errors name the field), read the customer's live counters
// of the active policy's limit rules and live signals from the store. Blocking (store I/O).
absl::StatusOr<v1::CustomerState> ReadCustomerState(const policy::Policy& policy, store::CounterStore& store,
                                                    const CustomerHasher& hasher,
                                                    const v1::GetCustomerStateRequest& request, absl::Time now,
                                                    absl::Time deadline);
// INVALID_ARGUMENT naming "tenant" / "customer_id".
absl::Status ValidateCustomerStateRequest(const v1::GetCustomerStateRequest& request);

// tact.v1.Signals over gRPC's callback API: authenticate, validate, check the tenant on the gRPC thread; the store
// work runs on the DecisionExecutor's threads (DecisionExecutor::Run) and finishes from there.
// Thread-safety: gRPC threads.
class SignalsService final : public v1::Signals::CallbackService {
 public:
  SignalsService(decision::SignalIntake& intake, const decision::PolicyHolder& policies, store::CounterStore& store,
                 const CustomerHasher& hasher, decision::DecisionExecutor& executor, CallGate& gate,
                 ApiOptions options)
      : intake_(intake),
        policies_(policies),
        store_(store),
        hasher_(hasher),
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
  store::CounterStore& store_;
  const CustomerHasher& hasher_;
  decision::DecisionExecutor& executor_;
  CallGate& gate_;
  const ApiOptions options_;
};

}  // namespace tact::api
