#pragma once

#include <chrono>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tact {

// The only source of time in daemon/. Thread-safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;                                   // wall time, may jump
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;  // intervals and deadlines
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to. Both readings advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    absl::MutexLock lock(&mu_);
    return std::chrono::steady_clock::time_point(absl::ToChronoNanoseconds(now_ - absl::UnixEpoch()));
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact
