#include "daemon/decision/batch_sequencer.h"

#include <optional>

#include "absl/strings/str_cat.h"

namespace tact::decision {

struct BatchSequencer::Job {
  std::span<const DecisionService::Request> requests;
  Follows follows = Follows::kPrevious;
  std::optional<PreparedBatch> prepared;
  StoreResults results = std::vector<store::CheckResult>();
  std::promise<DecidedBatch> done;
};

BatchSequencer::BatchSequencer(DecisionService& service) : service_(service) {
  for (int s = 0; s < kStages; ++s) {
    threads_[s] = std::thread([this, s] { Work(static_cast<Stage>(s)); });
  }
}

BatchSequencer::~BatchSequencer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) {  // a stage ends once the one before it has ended and its queue is drained
    t.join();
  }
}

std::future<DecidedBatch> BatchSequencer::Submit(std::span<const DecisionService::Request> requests,
                                                 Follows follows) {
  auto job = std::make_unique<Job>();
  job->requests = requests;
  job->follows = follows;
  std::future<DecidedBatch> out = job->done.get_future();
  absl::MutexLock lock(&mu_);
  queues_[kPrepare].push_back(std::move(job));
  return out;
}

bool BatchSequencer::HasWork(Stage stage) const {
  // Stopping: a stage ends once its queue is empty and the stage before it has ended (nothing more can come).
  return !queues_[stage].empty() || (stage == kPrepare ? stopping_ : ended_[stage - 1]);
}

void BatchSequencer::Work(Stage stage) {
  std::pair<const BatchSequencer*, Stage> self{this, stage};
  for (;;) {
    std::unique_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](std::pair<const BatchSequencer*, Stage>* a) { return a->first->HasWork(a->second); }, &self));
      if (queues_[stage].empty()) {
        ended_[stage] = true;
        return;
      }
      job = std::move(queues_[stage].front());
      queues_[stage].pop_front();
    }
    Run(stage, *job);
    if (stage == kFinish) continue;
    absl::MutexLock lock(&mu_);
    queues_[stage + 1].push_back(std::move(job));
  }
}

void BatchSequencer::Run(Stage stage, Job& job) {
  switch (stage) {
    case kPrepare:
      job.prepared.emplace(service_.Prepare(job.requests));
      return;
    case kStore:
      CallStore(job);
      return;
    case kFinish:
      job.done.set_value(service_.Finish(*job.prepared, std::move(job.results)));
      return;
    case kStages:
      return;
  }
}

void BatchSequencer::CallStore(Job& job) {
  const PreparedBatch& prepared = *job.prepared;
  if (job.follows == Follows::kNothing) stopped_by_ = absl::OkStatus();
  if (prepared.checks.empty()) {  // no store step: the previous outcome passes on, unless the gate failed
    if (!prepared.gate_outage.ok()) stopped_by_ = prepared.gate_outage;
    return;
  }
  const bool unsent = !stopped_by_.ok();
  job.results = unsent ? absl::UnavailableError(absl::StrCat("not sent: an earlier batch's store step failed (",
                                                             stopped_by_.message(), ")"))
                       : service_.CallStore(prepared);
  if (!prepared.gate_outage.ok()) {
    stopped_by_ = prepared.gate_outage;
  } else if (absl::Status failed = UndecidedFailure(prepared, job.results); !failed.ok()) {
    if (!unsent) stopped_by_ = failed;  // unsent: the first failure, not a chain of "not sent"
  } else {
    stopped_by_ = absl::OkStatus();
  }
}

}  // namespace tact::decision
