#pragma once

// A customer's live state (Signals.GetCustomerState): the counters of the active policy's limit rules and the live
// signals, read from the counter store. The gRPC service reaches the store only through this.
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/customer_hash.h"
#include "daemon/policy/policy.h"
#include "daemon/store/counter_store.h"
#include "tact/v1/signals.pb.h"

namespace tact::decision {

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

// ReadCustomerState with its store and hasher bound, for the API.
// Thread-safety: any thread (the store and hasher are).
class CustomerStateReader {
 public:
  CustomerStateReader(store::CounterStore& store, const CustomerHasher& hasher) : store_(store), hasher_(hasher) {}
  // Blocking (store I/O); errors as ReadCustomerState's.
  absl::StatusOr<v1::CustomerState> Read(const policy::Policy& policy, const v1::GetCustomerStateRequest& request,
                                         absl::Time now, absl::Time deadline) const;

 private:
  store::CounterStore& store_;
  const CustomerHasher& hasher_;
};

}  // namespace tact::decision
