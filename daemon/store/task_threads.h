#pragma once

// Threads that run a call's tasks beside the calling thread, kept for the next calls: RedisCounterStore on a Redis
// Cluster runs each master's compare_and_set round-trips on their own (redis_cas_cluster.cc), so a master that does
// not answer takes only its own customers' time. A task never waits for a thread busy with another task: when none
// is idle, one more is made (so there are as many threads as tasks ever ran at once, bounded by the calls in flight
// times the masters). Thread-safety: any thread.
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"

namespace tact::store {

class TaskThreads {
 public:
  TaskThreads() = default;
  TaskThreads(const TaskThreads&) = delete;
  TaskThreads& operator=(const TaskThreads&) = delete;
  ~TaskThreads();  // waits for the tasks queued, then joins the threads

  // Runs fn(0) .. fn(n - 1): fn(0) on the calling thread, the others on kept threads, all at once; returns when
  // every one has returned.
  void Run(size_t n, const std::function<void(size_t)>& fn);

  size_t threads() const;  // made so far (tests)

 private:
  void Loop();

  struct Task {
    std::function<void()> fn;
    absl::BlockingCounter* done;  // counted down once the thread that ran it is idle again
  };

  mutable absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;      // threads waiting for a task
  size_t starting_ ABSL_GUARDED_BY(mu_) = 0;  // threads made that have not waited yet
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::store
