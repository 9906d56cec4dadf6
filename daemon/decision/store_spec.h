#pragma once

// The policy's types -> the store port's (daemon/store/counter_store.h knows no policy types). Pure.
#include "absl/status/statusor.h"
#include "daemon/policy/plan.h"
#include "daemon/policy/signals.h"
#include "daemon/store/counter_store.h"

namespace tact::decision {

store::WindowKind ToStoreKind(policy::WindowKind kind);
store::LimitSpec ToLimitSpec(const policy::LimitCheck& limit);

// What the store checks for `plan`: its signal checks and limits in plan order (the store's results come back in
// that order, for policy::Decide), each decisive unless shadow, and its first enforcing quiet hold. The specs
// borrow the plan's views: keep `plan` alive while the spec is in use. With this data the store's
// store::ShouldReserve holds exactly when policy::Decide releases, and store::IsFinal exactly when it releases or
// suppresses.
store::CheckSpec ToCheckSpec(const policy::Plan& plan);

// The store write of a signal; INVALID_ARGUMENT naming the field when the signal is incomplete
// (policy::ToSignalWrite).
absl::StatusOr<store::SignalWrite> ToStoreSignal(const policy::Signal& signal);

}  // namespace tact::decision
