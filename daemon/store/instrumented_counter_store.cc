#include "daemon/store/instrumented_counter_store.h"

#include <optional>

namespace tact::store {
namespace {

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

absl::StatusOr<std::vector<CheckResult>> InstrumentedCounterStore::CheckAndReserve(
    std::span<const CustomerCheck> checks, absl::Time deadline) {
  return CheckAndReserveAfter(checks, deadline, [] { return absl::OkStatus(); });
}

absl::StatusOr<std::vector<CheckResult>> InstrumentedCounterStore::CheckAndReserveAfter(
    std::span<const CustomerCheck> checks, absl::Time deadline, absl::FunctionRef<absl::Status()> turn) {
  static constexpr std::string_view kOp = "check_and_reserve";
  const auto called = clock_.Monotonic();
  std::optional<std::chrono::steady_clock::time_point> start;
  bool skipped = false;
  absl::StatusOr<std::vector<CheckResult>> result = inner_.CheckAndReserveAfter(checks, deadline, [&] {
    absl::Status s = turn();
    skipped = !s.ok();
    start = clock_.Monotonic();
    return s;
  });
  if (skipped) {
    return result;  // nothing was sent: not a store call
  }
  stats_.redis_call_duration_seconds.Observe({kOp}, Seconds(clock_.Monotonic() - start.value_or(called)));
  stats_.redis_calls_total.Inc({kOp});
  stats_.redis_checks_total.Inc({}, static_cast<double>(checks.size()));
  if (!result.ok()) {
    stats_.redis_errors_total.Inc({kOp, ops::StatusCodeLabel(result.status().code())});
  }
  return result;
}

bool InstrumentedCounterStore::Healthy() {
  static constexpr std::string_view kOp = "ping";
  const auto start = clock_.Monotonic();
  const bool ok = inner_.Healthy();
  stats_.redis_call_duration_seconds.Observe({kOp}, Seconds(clock_.Monotonic() - start));
  stats_.redis_calls_total.Inc({kOp});
  if (!ok) {
    stats_.redis_errors_total.Inc({kOp, "unavailable"});
  }
  stats_.redis_up.Set({}, ok ? 1 : 0);
  return ok;
}

}  // namespace tact::store
