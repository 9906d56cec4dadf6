#pragma once

// The bookkeeping of every tact producer (the pipeline, the signals consumer, the deferred scheduler), without
// Kafka: which outputs of which input are still unacknowledged, which input offsets may be stored or committed,
// and which failed outputs wait for their next attempt. Pure; the time is passed in.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "daemon/pipeline/output_record.h"

namespace tact::pipeline {

// When the n-th retry (1, 2, …) of a failed output may run: min·2^(n-1), at most max. Pure.
absl::Duration RetryDelay(int attempt, absl::Duration min, absl::Duration max);

// Backoff of the retries of failed outputs (pipeline and input workers).
inline constexpr absl::Duration kOutputRetryMin = absl::Milliseconds(100);
inline constexpr absl::Duration kOutputRetryMax = absl::Seconds(5);

// Failed outputs waiting for their next attempt, each on its own backoff. Not thread-safe.
template <typename T>
class RetryQueue {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  RetryQueue(absl::Duration min, absl::Duration max) : min_(min), max_(max) {}
  // `attempt`: how many times the item has failed (1 after its first failure).
  void Push(T item, int attempt, TimePoint now) {
    items_.emplace(now + absl::ToChronoNanoseconds(RetryDelay(attempt, min_, max_)), std::move(item));
  }
  // Pushes to be retried at `now` (no backoff: it was rewritten, not refused).
  void PushNow(T item, TimePoint now) { items_.emplace(now, std::move(item)); }
  std::vector<T> PopDue(TimePoint now) {
    std::vector<T> due;
    while (!items_.empty() && items_.begin()->first <= now) {
      due.push_back(std::move(items_.begin()->second));
      items_.erase(items_.begin());
    }
    return due;
  }
  std::optional<TimePoint> NextDue() const {
    return items_.empty() ? std::nullopt : std::optional<TimePoint>(items_.begin()->first);
  }
  template <typename Pred>
  void EraseIf(Pred pred) {
    std::erase_if(items_, [&](const auto& kv) { return pred(kv.second); });
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  void clear() { items_.clear(); }

 private:
  absl::Duration min_;
  absl::Duration max_;
  std::multimap<TimePoint, T> items_;
};

struct LedgerInput;  // delivery_ledger.cc

// One output of an input, owned by the ledger from Add() until it is delivered (its address is stable: the
// producer carries it as the message's opaque).
struct PendingOutput : OutputRecord {
  TopicPartition source;  // the input it belongs to
  int64_t offset = 0;
  int attempts = 0;       // failed attempts so far

 private:
  friend class DeliveryLedger;
  LedgerInput* input_ = nullptr;
};

// In-flight outputs per input (partition, offset) and what of the inputs may be committed. An input is Begun when
// it is taken in and Added with its outputs once they are known (at once or much later); it is done when its last
// output is Delivered (or at Add when it has none). Per partition, the offset to store is the last of a contiguous
// run of done inputs + 1 (outputs are acknowledged out of order, and Kafka commits only greater offsets).
// Not thread-safe: the producer's owning thread only.
class DeliveryLedger {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  DeliveryLedger(absl::Duration retry_min = kOutputRetryMin, absl::Duration retry_max = kOutputRetryMax);
  ~DeliveryLedger();
  DeliveryLedger(const DeliveryLedger&) = delete;
  DeliveryLedger& operator=(const DeliveryLedger&) = delete;

  // An input taken in: neither it nor any later offset of its partition is committable until it is done.
  void Begin(const TopicPartition& tp, int64_t offset);
  // Its outputs, to produce (pointers owned by the ledger). None: the input is done at once.
  using Added = absl::InlinedVector<PendingOutput*, 2>;
  Added Add(const TopicPartition& tp, int64_t offset, std::vector<OutputRecord> outputs);
  // The broker acknowledged `out`. True when it was its input's last (the input is done; `out` is freed).
  bool Delivered(PendingOutput* out);
  // `out` failed: counts the failure and queues it for after its backoff. Returns its failure count.
  int Failed(PendingOutput* out, TimePoint now);
  // `out` was rewritten (its tact.dlq form), not refused: due again at once.
  void RetryNow(PendingOutput* out, TimePoint now);
  std::vector<PendingOutput*> DueRetries(TimePoint now);
  std::optional<TimePoint> NextRetry() const { return retry_.NextDue(); }

  // Per partition, the offset to store (last contiguous done + 1) that advanced since the last call.
  std::map<TopicPartition, int64_t> TakeCommittable();
  // The partition is not ours any more: its offsets are forgotten (none of it becomes committable). Outputs it
  // still has in flight stay until delivered: the producer holds their addresses.
  void DropPartition(const TopicPartition& tp);
  // Forgets every input and output (an aborted transaction, once the producer has reported on all of them).
  void Clear();

  // Inputs with outputs not yet acknowledged: all, or of one partition.
  size_t InFlight() const { return inputs_.size(); }
  size_t InFlight(const TopicPartition& tp) const;
  // Begun inputs not yet done (a held input counts), of every partition still ours.
  size_t Unfinished() const;

 private:
  void Done(const TopicPartition& tp, int64_t offset);

  // Per partition: begun offsets → done (a B-tree: one node per many offsets, not one allocation each).
  std::map<TopicPartition, absl::btree_map<int64_t, bool>> parts_;
  std::map<TopicPartition, int64_t> committable_;
  absl::flat_hash_map<LedgerInput*, std::unique_ptr<LedgerInput>> inputs_;
  RetryQueue<PendingOutput*> retry_;
};

}  // namespace tact::pipeline
