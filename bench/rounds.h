#pragma once

// The in-process benchmarks' rounds: how fast one round of work ran, and the median of several (rounds of ours and
// of the baseline interleaved, so a busy moment of the machine weighs on both).

#include <algorithm>
#include <chrono>
#include <vector>

namespace tact::bench {

// Calls of `f(i)` per second over i = 0 … iterations - 1.
template <typename F>
double Round(F&& f, int iterations) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) f(i);
  const std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
  return iterations / s.count();
}

// Seconds one call of `f()` took.
template <typename F>
double Seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The median of `v` (its upper middle when it has an even size); `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace tact::bench
