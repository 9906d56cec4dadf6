// Pipeline: the batches being decided (Deciding), moved verbatim from pipeline.cc.
#include <future>
#include <span>

#include "daemon/pipeline/pipeline.h"

namespace tact::pipeline {

void Pipeline::StartDeciding(std::vector<Input> batch) {
  stats_.kafka_batches_total.Inc({});
  std::shared_future<absl::Status> previous = deciding_.empty() ? std::shared_future<absl::Status>()
                                                                : deciding_.back().store_done;
  Deciding& d = deciding_.emplace_back();  // a deque: the elements before it stay where their workers read them
  d.batch = std::move(batch);
  d.request_of.assign(d.batch.size(), SIZE_MAX);
  for (size_t i = 0; i < d.batch.size(); ++i) {
    if (d.batch[i].event.ok()) {
      d.request_of[i] = d.requests.size();
      d.requests.push_back({.event = &*d.batch[i].event,
                            .options = {.source = "kafka", .source_position = d.batch[i].position}});
    }
  }
  if (d.requests.empty()) {
    std::promise<std::vector<absl::StatusOr<decision::Decided>>> none;
    none.set_value({});
    d.results = none.get_future();
    d.store_done = std::move(previous);  // no store call: the next batch's follows the one before this
    return;
  }
  d.order.after = std::move(previous);
  d.store_done = d.order.done.get_future().share();
  // ONE store round-trip for the whole batch, off the pipeline thread (the decision service is thread-safe).
  d.results = std::async(std::launch::async,
                         [this, requests = std::span<const decision::DecisionService::Request>(d.requests),
                          order = &d.order] { return decider_.DecideBatch(requests, order); });
}

Pipeline::Decided Pipeline::TakeDecided() {
  Deciding& d = deciding_.front();
  std::vector<absl::StatusOr<decision::Decided>> results = d.results.get();  // the worker is done with the batch
  Decided out{.batch = std::move(d.batch), .request_of = std::move(d.request_of), .results = std::move(results)};
  deciding_.pop_front();
  return out;
}

void Pipeline::HoldDeciding() {
  // Their decisions, if any were made, are not used: retried with the held inputs, a decided event is found by
  // its marker and gets the same decision.
  while (!deciding_.empty()) {
    for (Input& in : TakeDecided().batch) {
      if (!in.dropped) {
        outage_.held.push_back(std::move(in));
      }
    }
  }
  // Consumed after the held inputs: held behind them.
  outage_.held.insert(outage_.held.end(), std::make_move_iterator(batch_.begin()),
                      std::make_move_iterator(batch_.end()));
  batch_.clear();
  stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
}

}  // namespace tact::pipeline
