#pragma once

#include "daemon/core/clock.h"
#include "daemon/store/counter_store.h"
#include "daemon/store/store_stats.h"

namespace tact::store {

// Measures any CounterStore (the Redis adapter in tactd) without touching it: latency, calls and errors per
// operation. Thread-safety: as the wrapped store (any thread).
class InstrumentedCounterStore final : public CounterStore {
 public:
  InstrumentedCounterStore(CounterStore& inner, StoreStats& stats, const Clock& clock)
      : inner_(inner), stats_(stats), clock_(clock) {}

  absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                           absl::Time deadline) override;
  absl::Status PutSignal(const SignalWrite& write, absl::Time now, absl::Time deadline) override {
    return inner_.PutSignal(write, now, deadline);  // signals are rare; not measured yet
  }
  absl::StatusOr<CustomerState> ReadCustomer(const CustomerRead& read, absl::Time deadline) override {
    return inner_.ReadCustomer(read, deadline);  // operator lookups; not measured
  }
  absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string> prefixes, absl::Time deadline) override {
    return inner_.ForgetCustomer(prefixes, deadline);  // erasures; not measured
  }
  absl::Status PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                           absl::Time deadline) override;
  absl::StatusOr<std::optional<std::string>> GetArchived(std::string_view name, absl::Time deadline) override;
  bool Healthy() override;

 private:
  // One call of `op` that started at `start`: its latency, the call, and its failure if `status` is not OK.
  void Record(std::string_view op, std::chrono::steady_clock::time_point start, const absl::Status& status);

  CounterStore& inner_;
  StoreStats& stats_;
  const Clock& clock_;
};

}  // namespace tact::store
