#pragma once

#include <deque>
#include <future>
#include <memory>
#include <span>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "daemon/decision/decision_service.h"

namespace tact::decision {

// Decides consecutive batches in submission order, overlapped (the Kafka pipeline's use): batch N+1 is prepared
// (DecisionService::Prepare: policy, campaign gate, markers) while batch N's store call runs, and N+1's store
// call goes out only after N's has returned, so a customer's later event is never decided before an earlier one.
// Batch N finishes (decisions, audit records) while N+1's store call runs.
//
// Outages stop the batches after them: when a store outage (UNAVAILABLE or DEADLINE_EXCEEDED, from the store or
// the campaign gate) left a fail-closed event of batch N undecided, the store call of every later batch is not
// sent; its checks fail UNAVAILABLE "not sent: an earlier batch's store step failed (<the first failure>)"
// (fail-open events are decided degraded, as on any store failure) until a batch whose outcome does not stop
// (one of only fail-open events, or one sent after such a batch). A batch without a store call passes the previous
// outcome on. The pipeline holds the undecided events and submits them again once the store is back.
//
// Thread-safety: Submit() from any thread (batches are ordered by Submit order); three worker threads (prepare,
// store, finish) run the steps. The destructor decides what was submitted, then joins.
class BatchSequencer {
 public:
  explicit BatchSequencer(DecisionService& service);
  ~BatchSequencer();
  BatchSequencer(const BatchSequencer&) = delete;
  BatchSequencer& operator=(const BatchSequencer&) = delete;

  // How a batch relates to the ones submitted before it.
  enum class Follows {
    kPrevious,  // its store call waits for the previous batch's, and is not sent after an outage (above)
    // A fresh start: the caller has taken every earlier batch's results and holds (to submit again) whatever an
    // outage left undecided, so no earlier outage stops this batch (the pipeline's retries while paused).
    kNothing,
  };
  // The decisions of `requests` (borrowed, with their events, until the future is ready), in their order.
  std::future<DecidedBatch> Submit(std::span<const DecisionService::Request> requests,
                                   Follows follows = Follows::kPrevious) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Job;
  enum Stage { kPrepare = 0, kStore = 1, kFinish = 2, kStages = 3 };
  void Work(Stage stage) ABSL_LOCKS_EXCLUDED(mu_);
  void Run(Stage stage, Job& job);
  void CallStore(Job& job);
  bool HasWork(Stage stage) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  DecisionService& service_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Job>> queues_[kStages] ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_[kStages] ABSL_GUARDED_BY(mu_) = {};  // the stage's thread has returned
  // The outcome of the last batch with a store step: OK, or the outage that stops the batches after it. Only the
  // store thread touches it.
  absl::Status stopped_by_;
  std::thread threads_[kStages];
};

}  // namespace tact::decision
