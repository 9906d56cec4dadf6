#pragma once

#include <chrono>
#include <string>

#include "absl/time/time.h"
#include "daemon/core/clock.h"

namespace tact::pipeline {

// When the pipeline probes the store again while it is down: the first probe backoff_min after the pause, then
// the backoff doubles up to backoff_max. Pure on its clock (Monotonic); the pipeline thread only.
class OutageGate {
 public:
  OutageGate(absl::Duration backoff_min, absl::Duration backoff_max, const Clock& clock)
      : min_(backoff_min), max_(backoff_max), clock_(clock) {}

  bool active() const { return active_; }
  const std::string& reason() const { return reason_; }  // status code label of the failure that paused

  // The store failed with `reason`: the outage starts now.
  void Pause(std::string reason);
  // Milliseconds until the next probe is due, within [0, cap_ms].
  int WaitMs(int cap_ms) const;
  // True when a probe is due: counts it and schedules the next one after the doubled backoff.
  bool ProbeDue();

  struct Summary {
    absl::Duration paused;  // since Pause()
    int probes = 0;
  };
  // The outage is over.
  Summary Resume();

 private:
  const absl::Duration min_;
  const absl::Duration max_;
  const Clock& clock_;
  bool active_ = false;
  std::string reason_;
  std::chrono::steady_clock::time_point since_;
  std::chrono::steady_clock::time_point next_try_;
  absl::Duration backoff_;
  int probes_ = 0;
};

}  // namespace tact::pipeline
