#include "daemon/store/task_threads.h"

namespace tact::store {

TaskThreads::~TaskThreads() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void TaskThreads::Run(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  absl::BlockingCounter others(static_cast<int>(n - 1));
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 1; i < n; ++i) queue_.push_back({.fn = [&fn, i] { fn(i); }, .done = &others});
    // Every queued task gets a thread now: the idle ones (and those starting), one more for each task beyond them.
    for (size_t have = idle_ + starting_; have < queue_.size(); ++have) {
      ++starting_;
      threads_.emplace_back([this] { Loop(); });
    }
  }
  fn(0);
  others.Wait();
}

size_t TaskThreads::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_.size();
}

void TaskThreads::Loop() {
  absl::MutexLock lock(&mu_);
  --starting_;
  ++idle_;
  while (true) {
    mu_.Await(absl::Condition(
        +[](TaskThreads* t) ABSL_SHARED_LOCKS_REQUIRED(t->mu_) { return t->stop_ || !t->queue_.empty(); }, this));
    if (queue_.empty()) {  // stopping, nothing left to run
      --idle_;
      return;
    }
    --idle_;
    Task task = std::move(queue_.front());
    queue_.pop_front();
    mu_.Unlock();
    task.fn();
    mu_.Lock();
    ++idle_;  // before the call learns its task is done: its next Run finds this thread idle
    task.done->DecrementCount();
  }
}

}  // namespace tact::store
