#pragma once

// The contact centre's feedback on a released campaign: signals that name a campaign. decision::SignalIntake
// hands them over; campaign::CampaignDesk counts them and pauses the campaign past its gate's thresholds.
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tact/v1/signals.pb.h"

namespace tact::campaign {

// Receives the signals that name a campaign. Thread-safety: implementations are called from any thread.
class CampaignFeedback {
 public:
  virtual ~CampaignFeedback() = default;
  // `signal` is valid and has a campaign_id. Errors are logged and counted by the caller, never fatal.
  virtual absl::Status OnCampaignSignal(const v1::Signal& signal, absl::Time now) = 0;
};

}  // namespace tact::campaign
