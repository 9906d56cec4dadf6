#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>

#include "absl/time/time.h"

namespace tact::testing {

// Polls `done` until it holds or `timeout` passes. The only sleep in the tests is this poll step.
template <typename Pred>
::testing::AssertionResult WaitFor(Pred done, absl::Duration timeout, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (auto step = std::chrono::milliseconds(1); !done(); step = std::min(step * 2, std::chrono::milliseconds(50))) {
    if (std::chrono::steady_clock::now() > deadline) {
      return ::testing::AssertionFailure() << "timed out after " << absl::FormatDuration(timeout) << ": " << what;
    }
    std::this_thread::sleep_for(step);  // the poll interval (backoff), bounded by the deadline
  }
  return ::testing::AssertionSuccess();
}

}  // namespace tact::testing
