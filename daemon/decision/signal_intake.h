#pragma once

// One way in for customer signals, whichever transport brought them (the tact.signals topic or
// Signals.PutSignal): validate the tact.v1.Signal, record its effect on the customer in the store, and hand a
// signal attributed to a campaign to the capacity feedback loop.
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/campaign/feedback.h"
#include "daemon/policy/signals.h"
#include "daemon/store/counter_store.h"
#include "tact/v1/signals.pb.h"

namespace tact::decision {

// Signals stamped further ahead of the receiving clock than this are rejected (clock skew allowance).
inline constexpr absl::Duration kMaxSignalSkew = absl::Minutes(5);

// Validates a signal. Errors are INVALID_ARGUMENT naming the field (after `field_prefix`, e.g. "signal."):
// empty tenant / customer_id, unknown kind, csat outside 1..5, a missing ref, `at` missing or more than
// kMaxSignalSkew after `now`, expires_at not after at. CONTACT yields no store write (`*writes_customer` false).
absl::StatusOr<policy::Signal> SignalFromProto(const v1::Signal& proto, absl::Time now,
                                               std::string_view field_prefix, bool* writes_customer);

// The campaign feedback port (daemon/campaign/feedback.h), declared where its implementation lives.
using CampaignFeedback = campaign::CampaignFeedback;

// Thread-safety: any thread.
class SignalIntake {
 public:
  SignalIntake(store::CounterStore& store, CampaignFeedback* feedback = nullptr)
      : store_(store), feedback_(feedback) {}

  // Validate, store, attribute. INVALID_ARGUMENT (field named) for a bad signal; UNAVAILABLE when the store
  // missed `deadline` (retrying is safe: a signal write is idempotent).
  absl::Status Put(const v1::Signal& signal, absl::Time now, absl::Time deadline,
                   std::string_view field_prefix = "signal.");

  void set_feedback(CampaignFeedback* feedback) { feedback_ = feedback; }

 private:
  store::CounterStore& store_;
  CampaignFeedback* feedback_;
};

}  // namespace tact::decision
