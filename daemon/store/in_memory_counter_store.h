#pragma once

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/store/counter_store.h"
#include "daemon/store/keys.h"

namespace tact::store {

// The same semantics as the Redis store (check.lua), in process memory, including key expiry. Used by unit
// tests, `tactctl test` and `tactctl simulate`. Checks, signals and reads expire by the `now` they carry; the
// archive, whose calls carry none, by the store's clock (Redis: by redis-server's).
// Thread-safety: any thread (one mutex).
class InMemoryCounterStore final : public CounterStore {
 public:
  // `keys`: the same key function as the Redis store (keys.h), so both keep customers apart alike. The archive
  // expires by the system clock.
  explicit InMemoryCounterStore(KeySchema keys = KeySchema()) : keys_(std::move(keys)), clock_(system_clock_) {}
  // The archive expires by `clock` (a FakeClock in tests), which must outlive the store.
  explicit InMemoryCounterStore(const Clock& clock, KeySchema keys = KeySchema())
      : keys_(std::move(keys)), clock_(clock) {}
  absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                           absl::Time deadline) override;
  absl::Status PutSignal(const SignalWrite& write, absl::Time now, absl::Time deadline) override;
  absl::StatusOr<CustomerState> ReadCustomer(const CustomerRead& read, absl::Time deadline) override;
  // Counts the keys Redis store v2 would hold per prefix: the customer's key `s` when anything of it is stored
  // (counters, signals, markers), and a `seen:<event_id>` key per decision marker but the last
  // kMarkersInCustomerKey (which are in `s`).
  // Entries expire here when the store next reads them: until then they count.
  absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string> prefixes, absl::Time deadline) override;
  // Not touched by ForgetCustomer (no customer's prefix): a text is gone once the clock is past its expiry (as Redis).
  absl::Status PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                           absl::Time deadline) override;
  absl::StatusOr<std::optional<std::string>> GetArchived(std::string_view name, absl::Time deadline) override;
  bool Healthy() override { return true; }

  // Offline tools only (`tactctl explain --state`): makes `limit`'s counter for this customer hold `used`
  // messages counted just before `now` (rolling: sent at now - 1ms; calendar: the current period's counter).
  void SeedUsage(const std::string& tenant, const std::string& customer_id, const LimitSpec& limit,
                 int64_t used, absl::Time now);

 private:
  struct Seen {
    std::string marker;
    StoreOutcome outcome;
    int64_t expires_ms = 0;
  };
  struct SignalValue {
    int64_t at_ms = 0;
    int64_t expires_ms = 0;  // 0 = never
  };
  struct Calendar {
    int64_t count = 0;
    int64_t expires_ms = 0;
  };
  CheckResult CheckOne(const CustomerCheck& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // check.lua's steps: one signal check against the customer's fields, one limit's usage (pruning the window),
  // and counting the event in every limit of `spec` (with the counter index).
  static SignalResult CheckSignal(const std::map<std::string, SignalValue>& fields, const SignalSpec& s,
                                  int64_t now);
  LimitUsage ReadUsage(const std::string& key, const LimitSpec& l, int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reserve(const std::string& prefix, const std::string& event_id, const CheckSpec& spec, int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Archived {
    std::string text;
    absl::Time expires_at;
  };

  const KeySchema keys_;
  const SystemClock system_clock_;
  const Clock& clock_;
  absl::Mutex mu_;
  std::map<std::string, std::multimap<int64_t, std::string>> windows_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Calendar> calendars_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, SignalValue>> signals_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
  // The counters per customer prefix (listed in check.lua's customer key): suffix → ms when it is empty again.
  std::map<std::string, std::map<std::string, int64_t>> index_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Archived, std::less<>> archive_ ABSL_GUARDED_BY(mu_);  // by name
};

}  // namespace tact::store
