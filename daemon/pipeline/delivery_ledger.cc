#include "daemon/pipeline/delivery_ledger.h"

#include <algorithm>

namespace tact::pipeline {

// An input and its outputs in one allocation: `outputs` is filled once in Add and never resized, so their addresses
// (the producer's opaques) stay put until the input is erased.
struct LedgerInput {
  TopicPartition tp;
  int64_t offset = 0;
  int pending = 0;
  absl::InlinedVector<PendingOutput, 2> outputs;  // a routed output and a decision record
};

absl::Duration RetryDelay(int attempt, absl::Duration min, absl::Duration max) {
  absl::Duration d = min;
  for (int i = 1; i < attempt && d < max; ++i) {
    d *= 2;
  }
  return std::min(d, max);
}

DeliveryLedger::DeliveryLedger(absl::Duration retry_min, absl::Duration retry_max) : retry_(retry_min, retry_max) {}

DeliveryLedger::~DeliveryLedger() = default;

void DeliveryLedger::Begin(const TopicPartition& tp, int64_t offset) { parts_[tp].emplace(offset, false); }

DeliveryLedger::Added DeliveryLedger::Add(const TopicPartition& tp, int64_t offset, std::vector<OutputRecord> outputs) {
  Added out;
  if (outputs.empty()) {
    Done(tp, offset);
    return out;
  }
  auto in = std::make_unique<LedgerInput>();
  in->tp = tp;
  in->offset = offset;
  in->pending = static_cast<int>(outputs.size());
  in->outputs.reserve(outputs.size());
  for (OutputRecord& r : outputs) {
    PendingOutput& p = in->outputs.emplace_back();
    static_cast<OutputRecord&>(p) = std::move(r);
    p.source = tp;
    p.offset = offset;
    p.input_ = in.get();
    out.push_back(&p);
  }
  LedgerInput* raw = in.get();
  inputs_.emplace(raw, std::move(in));
  return out;
}

bool DeliveryLedger::Delivered(PendingOutput* out) {
  LedgerInput* in = out->input_;
  if (--in->pending > 0) {
    return false;
  }
  const TopicPartition tp = in->tp;
  const int64_t offset = in->offset;
  inputs_.erase(in);
  Done(tp, offset);
  return true;
}

void DeliveryLedger::Done(const TopicPartition& tp, int64_t offset) {
  auto p = parts_.find(tp);
  if (p == parts_.end()) {
    return;  // dropped meanwhile
  }
  auto& begun = p->second;
  if (auto it = begun.find(offset); it != begun.end()) {
    it->second = true;
  }
  std::optional<int64_t> next;
  while (!begun.empty() && begun.begin()->second) {
    next = begun.begin()->first + 1;
    begun.erase(begun.begin());
  }
  if (next) {
    committable_[tp] = *next;
  }
}

int DeliveryLedger::Failed(PendingOutput* out, TimePoint now) {
  ++out->attempts;
  retry_.Push(out, out->attempts, now);
  return out->attempts;
}

void DeliveryLedger::RetryNow(PendingOutput* out, TimePoint now) { retry_.PushNow(out, now); }

std::vector<PendingOutput*> DeliveryLedger::DueRetries(TimePoint now) { return retry_.PopDue(now); }

std::map<TopicPartition, int64_t> DeliveryLedger::TakeCommittable() { return std::exchange(committable_, {}); }

void DeliveryLedger::DropPartition(const TopicPartition& tp) {
  parts_.erase(tp);
  committable_.erase(tp);
}

void DeliveryLedger::Clear() {
  retry_.clear();
  inputs_.clear();
  parts_.clear();
  committable_.clear();
}

size_t DeliveryLedger::InFlight(const TopicPartition& tp) const {
  return static_cast<size_t>(
      std::count_if(inputs_.begin(), inputs_.end(), [&](const auto& kv) { return kv.second->tp == tp; }));
}

size_t DeliveryLedger::Unfinished() const {
  size_t n = 0;
  for (const auto& [tp, begun] : parts_) {
    n += static_cast<size_t>(std::count_if(begun.begin(), begun.end(), [](const auto& kv) { return !kv.second; }));
  }
  return n;
}

}  // namespace tact::pipeline
