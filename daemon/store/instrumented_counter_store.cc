#include "daemon/store/instrumented_counter_store.h"

namespace tact::store {
namespace {

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

absl::StatusOr<std::vector<CheckResult>> InstrumentedCounterStore::CheckAndReserve(
    std::span<const CustomerCheck> checks, absl::Time deadline) {
  static constexpr std::string_view kOp = "check_and_reserve";
  const auto start = clock_.Monotonic();
  absl::StatusOr<std::vector<CheckResult>> result = inner_.CheckAndReserve(checks, deadline);
  stats_.redis_call_duration_seconds.Observe({kOp}, Seconds(clock_.Monotonic() - start));
  stats_.redis_calls_total.Inc({kOp});
  stats_.redis_checks_total.Inc({}, static_cast<double>(checks.size()));
  if (!result.ok()) {
    stats_.redis_errors_total.Inc({kOp, ops::StatusCodeLabel(result.status().code())});
  }
  return result;
}

void InstrumentedCounterStore::Record(std::string_view op, std::chrono::steady_clock::time_point start,
                                      const absl::Status& status) {
  stats_.redis_call_duration_seconds.Observe({op}, Seconds(clock_.Monotonic() - start));
  stats_.redis_calls_total.Inc({op});
  if (!status.ok()) {
    stats_.redis_errors_total.Inc({op, ops::StatusCodeLabel(status.code())});
  }
}

absl::Status InstrumentedCounterStore::PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                                                   absl::Time deadline) {
  const auto start = clock_.Monotonic();
  absl::Status s = inner_.PutArchived(name, text, ttl, deadline);
  Record("archive_put", start, s);
  return s;
}

absl::StatusOr<std::optional<std::string>> InstrumentedCounterStore::GetArchived(std::string_view name,
                                                                                 absl::Time deadline) {
  const auto start = clock_.Monotonic();
  absl::StatusOr<std::optional<std::string>> text = inner_.GetArchived(name, deadline);
  Record("archive_get", start, text.status());
  return text;
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
