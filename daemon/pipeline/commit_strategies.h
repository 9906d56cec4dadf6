#pragma once

// The two ways tactd commits its inputs' offsets (CommitStrategy, delivery_engine.h).
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/pipeline/delivery_engine.h"

namespace tact::pipeline {

// At-least-once: an input's offset is stored (offsets_store, auto-committed by the consumer) only after every
// output of it, and of every earlier input of its partition, is acknowledged; a failed output is retried with
// backoff. A restart may send an output again (downstream dedupes by event_id).
class AtLeastOnceCommit final : public CommitStrategy {
 public:
  // `topic`: the consumer's input topic, in its log lines.
  AtLeastOnceCommit(DeliveryEngine& engine, RdKafka::KafkaConsumer& consumer, std::string topic)
      : engine_(engine), consumer_(consumer), topic_(std::move(topic)) {}

  void OnInput(const TopicPartition&, int64_t) override {}
  bool RetriesFailures() const override { return true; }
  void Tick() override { StoreOffsets(); }
  // Finishes what is in flight for them (within 5 s), stores and commits it synchronously before the partitions
  // go: the next owner starts from the committed offset, so a clean handoff redelivers nothing (auto-commit alone
  // would race the new owner).
  void Revoke(const std::vector<TopicPartition>& tps, bool lost) override;
  void Finish() override { StoreOffsets(); }

 private:
  void StoreOffsets();

  DeliveryEngine& engine_;
  RdKafka::KafkaConsumer& consumer_;
  const std::string topic_;
};

struct TransactionOptions {
  std::string transactional_id;  // unique per instance, stable across its restarts
  int max_events = 500;          // committed after this many inputs…
  absl::Duration max_age = absl::Milliseconds(100);  // …or this age
};

// Exactly-once: the outputs of a batch of inputs and the inputs' offsets are committed in one Kafka transaction
// (send_offsets_to_transaction). A failed output fails the transaction: it is aborted, and the inputs' partitions
// are rewound to their committed offsets (`on_rewind` first, to drop what of them is not decided yet), so they
// are decided again (the store returns the earlier decisions). An output the broker refused as too large goes in
// its tact.dlq form in the redo. A fenced or fatally failed producer stops the process (std::abort): a restart
// fences and aborts what was open.
class TransactionalCommit final : public CommitStrategy {
 public:
  using Rewind = std::function<void(const std::vector<TopicPartition>&)>;
  TransactionalCommit(DeliveryEngine& engine, RdKafka::KafkaConsumer& consumer, TransactionOptions options,
                      Rewind on_rewind, const Clock& clock);

  // init_transactions: fences an earlier producer with the same transactional.id and aborts its transaction.
  absl::Status Init();

  void OnInput(const TopicPartition& tp, int64_t offset) override;
  bool RetriesFailures() const override { return false; }
  void Failed(const PendingOutput& out, bool too_large) override;
  bool ForceDeadLetter(const PendingOutput& out) const override;
  void OnInputDone(const TopicPartition& tp, int64_t offset) override;
  void Tick() override;
  int WaitMs(int idle_ms) const override;
  // Commits what was decided while the partitions are still ours; a lost assignment can no longer commit: aborted.
  void Revoke(const std::vector<TopicPartition>& tps, bool lost) override;
  void Finish() override { Commit(); }

 private:
  bool Due() const;
  // Commits the open transaction (outputs + offsets); on failure aborts it and rewinds.
  void Commit();
  void Abort(const std::string& why);
  void RewindToCommitted(const std::vector<TopicPartition>& tps);

  DeliveryEngine& engine_;
  RdKafka::KafkaConsumer& consumer_;
  const TransactionOptions options_;
  const Rewind on_rewind_;
  const Clock& clock_;
  // The open transaction. Every input emitted since it began is in it.
  bool open_ = false;
  bool failed_ = false;  // an output failed: the commit would fail, abort instead
  int events_ = 0;
  std::chrono::steady_clock::time_point begun_;
  std::map<TopicPartition, int64_t> next_offsets_;  // per input partition: last emitted + 1
  // Outputs (input partition, offset, topic) the broker refused as too large; the redo sends their tact.dlq form.
  std::set<std::tuple<TopicPartition, int64_t, std::string>> too_large_on_redo_;
};

}  // namespace tact::pipeline
