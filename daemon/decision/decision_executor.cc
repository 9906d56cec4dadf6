#include "daemon/decision/decision_executor.h"

namespace tact::decision {

DecisionExecutor::DecisionExecutor(DecisionService& decider, int threads, size_t max_queue, size_t max_batch)
    : decider_(decider), max_queue_(max_queue), max_batch_(std::max<size_t>(1, max_batch)) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

DecisionExecutor::~DecisionExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) {
    t.join();
  }
}

bool DecisionExecutor::Submit(Event event, DecideOptions options, Done done) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queue_) {
    return false;
  }
  queue_.push_back({std::move(event), std::move(options), std::move(done)});
  return true;
}

bool DecisionExecutor::Run(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queue_) {
    return false;
  }
  queue_.push_back({.task = std::move(task)});
  return true;
}

void DecisionExecutor::Work() {
  for (;;) {
    std::vector<Item> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DecisionExecutor* e) ABSL_NO_THREAD_SAFETY_ANALYSIS { return e->stopping_ || !e->queue_.empty(); },
          this));
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      if (queue_.front().task) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      } else {
        while (!queue_.empty() && batch.size() < max_batch_ && !queue_.front().task) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (batch.front().task) {
      batch.front().task();
      continue;
    }
    std::vector<DecisionService::Request> requests;
    requests.reserve(batch.size());
    for (const Item& item : batch) {
      requests.push_back({&item.event, item.options});
    }
    std::vector<absl::StatusOr<Decided>> results = decider_.DecideBatch(requests);
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].done(std::move(results[i]));
    }
  }
}

}  // namespace tact::decision
