#include "daemon/decision/decision_executor.h"

namespace tact::decision {
namespace {

// `items` (each with its event and options) decided in one DecideBatch: their results, in order.
template <typename Items>
std::vector<absl::StatusOr<Decided>> DecideAll(DecisionService& decider, const Items& items) {
  std::vector<DecisionService::Request> requests;
  requests.reserve(items.size());
  for (const auto& item : items) requests.push_back({&item.event, item.options});
  return decider.DecideBatch(requests);
}

}  // namespace

void DecisionExecutor::DecideHere(std::vector<Request>& batch) {
  std::vector<absl::StatusOr<Decided>> results = DecideAll(decider_, batch);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

DecisionExecutor::DecisionExecutor(DecisionService& decider, int threads, size_t max_queue, size_t max_batch,
                                   int max_in_flight)
    : decider_(decider),
      max_queue_(max_queue),
      max_batch_(std::max<size_t>(1, max_batch)),
      max_in_flight_(max_in_flight > 0 ? max_in_flight : std::max(1, threads)) {
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

bool DecisionExecutor::SubmitInOrder(std::vector<Request> requests) {
  if (requests.empty()) {
    return true;
  }
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() + requests.size() > max_queue_) {
    return false;
  }
  const size_t unit = requests.size();
  for (Request& r : requests) {
    queue_.push_back({std::move(r.event), std::move(r.options), std::move(r.done)});
    queue_.back().unit = 0;
  }
  queue_[queue_.size() - unit].unit = unit;
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

bool DecisionExecutor::Ready() const {
  if (queue_.empty()) return stopping_;
  // A task (Explain, signals) never waits for decisions; decisions wait for a free store round-trip slot, so
  // what arrives meanwhile is decided together in the next one.
  return queue_.front().task || in_flight_ < max_in_flight_ || stopping_;
}

void DecisionExecutor::Work() {
  for (;;) {
    std::vector<Item> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &DecisionExecutor::Ready));
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      if (queue_.front().task) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      } else {
        // An ordered unit is taken whole (alone when it is larger than a batch).
        while (!queue_.empty() && !queue_.front().task &&
               (batch.empty() || batch.size() + queue_.front().unit <= max_batch_)) {
          for (size_t n = queue_.front().unit; n > 0; --n) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
        }
        ++in_flight_;
      }
    }
    if (batch.front().task) {
      batch.front().task();
      continue;
    }
    std::vector<absl::StatusOr<Decided>> results = DecideAll(decider_, batch);
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;  // the next batch may go to the store while this one's callers are answered
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].done(std::move(results[i]));
    }
  }
}

}  // namespace tact::decision
