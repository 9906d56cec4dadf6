#include "daemon/decision/store_spec.h"

namespace tact::decision {

store::WindowKind ToStoreKind(policy::WindowKind kind) {
  return kind == policy::WindowKind::kRolling ? store::WindowKind::kRolling : store::WindowKind::kCalendar;
}

store::LimitSpec ToLimitSpec(const policy::LimitCheck& limit) {
  return {.counter = limit.counter,
          .count = limit.count,
          .kind = ToStoreKind(limit.kind),
          .window = limit.window,
          .period_end = limit.period_end,
          .decisive = !limit.shadow,
          .suppress_on_exceed = limit.on_exceed == policy::OnExceed::kSuppress};
}

store::CheckSpec ToCheckSpec(const policy::Plan& plan) {
  store::CheckSpec spec;
  for (const policy::SignalCheck& s : plan.signals) {
    spec.signals.push_back({.fields = s.fields, .since = s.since, .hold = s.hold, .decisive = !s.shadow});
  }
  for (const policy::LimitCheck& l : plan.limits) {
    spec.limits.push_back(ToLimitSpec(l));
  }
  if (const policy::QuietHold* q = plan.DecisiveQuiet(); q != nullptr) {
    spec.hold = q->on_exceed == policy::OnExceed::kSuppress ? store::Hold::kSuppress : store::Hold::kDefer;
  }
  return spec;
}

absl::StatusOr<store::SignalWrite> ToStoreSignal(const policy::Signal& signal) {
  absl::StatusOr<policy::SignalWrite> w = policy::ToSignalWrite(signal);
  if (!w.ok()) return w.status();
  return store::SignalWrite{.tenant = signal.tenant,
                            .customer_id = signal.customer_id,
                            .field = std::move(w->field),
                            .remove = w->remove,
                            .at_ms = w->at_ms,
                            .expires_ms = w->expires_ms};
}

}  // namespace tact::decision
