#pragma once

#include <functional>
#include <deque>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace tact {

// A fixed pool of threads for blocking work (Redis round-trips) handed off from gRPC callback threads.
// Submit() refuses work past `max_queue` so a flood is rejected instead of queued without bound.
// Thread-safety: any thread. The destructor runs what is queued, then joins.
class Executor {
 public:
  Executor(int threads, size_t max_queue);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // False when the queue is full (the caller answers RESOURCE_EXHAUSTED).
  bool Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Work();

  const size_t max_queue_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tact
