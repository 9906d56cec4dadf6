// Pipeline: the batches being decided (Deciding), submitted to the decision::BatchSequencer.
#include "daemon/pipeline/pipeline.h"

namespace tact::pipeline {

void Pipeline::StartDeciding(std::vector<Input> batch) {
  stats_.kafka_batches_total.Inc({});
  // Nothing deciding: every earlier batch was processed, what an outage left undecided is held (and retried).
  const auto follows = deciding_.empty() ? decision::BatchSequencer::Follows::kNothing
                                         : decision::BatchSequencer::Follows::kPrevious;
  Deciding& d = deciding_.emplace_back();  // a deque: the elements before it stay where the sequencer reads them
  d.batch = std::move(batch);
  d.request_of.assign(d.batch.size(), SIZE_MAX);
  for (size_t i = 0; i < d.batch.size(); ++i) {
    if (d.batch[i].event.ok()) {
      d.request_of[i] = d.requests.size();
      d.requests.push_back({.event = &*d.batch[i].event,
                            .options = {.source = "kafka", .source_position = d.batch[i].position}});
    }
  }
  // ONE store round-trip for the whole batch, off the pipeline thread, after the previous batch's.
  d.results = sequencer_.Submit(d.requests, follows);
}

Pipeline::DecidedInputs Pipeline::TakeDecided() {
  Deciding& d = deciding_.front();
  decision::DecidedBatch results = d.results.get();  // the sequencer is done with the batch
  DecidedInputs out{.batch = std::move(d.batch), .request_of = std::move(d.request_of), .results = std::move(results)};
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
