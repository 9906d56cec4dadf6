#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/decision/decision_service.h"

namespace tact::decision {

// Runs the gRPC calls' blocking work that is not decided on a completion queue's thread (CheckBatch, Explain,
// Signals; Check is decided on the queue's thread, api::ThrottleService), and coalesces what is queued: a worker takes
// up to `max_batch` waiting requests and decides them in one DecideBatch (one store round-trip). Under light load a
// request is decided alone at once; under heavy load many callers share a round-trip. `max_in_flight` (0 = one
// per thread) bounds the batches at the store at once: what arrives meanwhile waits for the next batch. Fewer
// in flight makes larger batches (at 64 calls outstanding, 4 threads averaged ~2 calls per batch) but makes
// callers wait behind a round-trip; on the shared 2-core bench neither setting was measurably better, so tactd
// keeps one per thread.
// Thread-safety: SubmitInOrder() and Run() from any thread; `done` runs on a worker thread and must not block.
class DecisionExecutor {
 public:
  using Done = std::function<void(absl::StatusOr<Decided>)>;
  DecisionExecutor(DecisionService& decider, int threads, size_t max_queue, size_t max_batch,
                   int max_in_flight = 0);
  ~DecisionExecutor();  // decides what is queued, then joins
  DecisionExecutor(const DecisionExecutor&) = delete;
  DecisionExecutor& operator=(const DecisionExecutor&) = delete;

  struct Request {
    Event event;
    DecideOptions options;
    Done done;
  };
  // Decided together and in order, in one batch (a CheckBatch's items: a customer's later item sees what its
  // earlier ones reserved; separate calls may be decided by different threads at once). False when the queue
  // cannot take them all (the caller answers RESOURCE_EXHAUSTED); no `done` is called then.
  bool SubmitInOrder(std::vector<Request> requests) ABSL_LOCKS_EXCLUDED(mu_);
  // Other blocking work of the decision path (Explain) on the same threads and queue bound: `task` runs alone
  // on a worker. False when the queue is full; `task` is then not run.
  bool Run(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Decides `batch` on the calling thread, in one DecideBatch (one store round-trip), and calls each `done` there:
  // Throttle.Check's pass on a completion queue's thread (api::ThrottleService). Not counted in flight.
  void DecideHere(std::vector<Request>& batch);
  DecisionService& decider() { return decider_; }

 private:
  struct Item {
    Event event;
    DecideOptions options;
    Done done;
    std::function<void()> task;  // set: run this instead of deciding
    size_t unit = 1;  // on the first item of a SubmitInOrder: its item count (they follow it), taken together
  };
  void Work();
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  DecisionService& decider_;
  const size_t max_queue_;
  const size_t max_batch_;
  const int max_in_flight_;
  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // batches at the store
  std::vector<std::thread> threads_;
};

}  // namespace tact::decision
