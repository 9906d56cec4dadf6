#include "daemon/pipeline/outage_gate.h"

#include <algorithm>

namespace tact::pipeline {

void OutageGate::Pause(std::string reason) {
  const auto now = clock_.Monotonic();
  active_ = true;
  reason_ = std::move(reason);
  since_ = now;
  backoff_ = min_;
  next_try_ = now + absl::ToChronoNanoseconds(backoff_);
  probes_ = 0;
}

int OutageGate::WaitMs(int cap_ms) const {
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_try_ - clock_.Monotonic());
  return static_cast<int>(std::clamp<int64_t>(wait.count(), 0, cap_ms));
}

bool OutageGate::ProbeDue() {
  if (!active_ || clock_.Monotonic() < next_try_) {
    return false;
  }
  ++probes_;
  backoff_ = std::min(backoff_ * 2, max_);
  next_try_ = clock_.Monotonic() + absl::ToChronoNanoseconds(backoff_);
  return true;
}

OutageGate::Summary OutageGate::Resume() {
  const Summary s{.paused = absl::FromChrono(clock_.Monotonic() - since_), .probes = probes_};
  active_ = false;
  reason_.clear();
  probes_ = 0;
  return s;
}

}  // namespace tact::pipeline
