#pragma once

// The one Kafka delivery engine of tactd: the producer and its delivery reports for the pipeline, the signals
// consumer and the deferred scheduler. What each input produced is kept in a DeliveryLedger; how input offsets
// are committed is a CommitStrategy (stored offsets for at-least-once, Kafka transactions for exactly-once).
#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/pipeline/delivery_ledger.h"
#include "daemon/pipeline/kafka_clients.h"
#include "daemon/pipeline/output_limits.h"

namespace tact::pipeline {

// What an engine's owner counts (its metrics). On the engine's thread.
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void OnProduceError() {}                          // produce() refused a record
  virtual void OnDeliveryFailed(const std::string& topic) {}  // a failed delivery report
  virtual void OnTooLarge(const std::string& topic) {}        // a record rewritten into its tact.dlq form
  virtual void OnProduced(const std::string& topic) {}
};

// How the inputs' offsets are committed. Every hook runs on the engine's thread.
class CommitStrategy {
 public:
  virtual ~CommitStrategy() = default;
  // An input's outputs are about to be produced (exactly-once: in the open transaction).
  virtual void OnInput(const TopicPartition& tp, int64_t offset) = 0;
  // True: a failed output is retried with backoff. False: the failure is handed to Failed() instead.
  virtual bool RetriesFailures() const = 0;
  // An output failed for good within this unit of commit (`too_large`: the broker refused its size).
  virtual void Failed(const PendingOutput& out, bool too_large) {}
  // Whether `out` goes in its tact.dlq form at once (it was refused as too large before an abort).
  virtual bool ForceDeadLetter(const PendingOutput& out) const { return false; }
  // The last output of this input was acknowledged.
  virtual void OnInputDone(const TopicPartition& tp, int64_t offset) {}
  // Once per turn of the owner's loop: stores the committable offsets, or commits a transaction that is due.
  virtual void Tick() = 0;
  // How long the owner may block (consume()): at most `idle_ms`, less when a commit falls due sooner.
  virtual int WaitMs(int idle_ms) const { return idle_ms; }
  // In rebalance_cb before incremental_unassign: commits what is done for these partitions (when the assignment
  // is not `lost`) and forgets them.
  virtual void Revoke(const std::vector<TopicPartition>& tps, bool lost) = 0;
  // Stopping, everything decided emitted: commits what can be.
  virtual void Finish() = 0;
};

struct DeliveryEngineOptions {
  std::string dlq_topic = "tact.dlq";
  TopicLimits limits;            // each topic's max.message.bytes: sizes the producer, decides what is too large
  const Clock* clock = nullptr;  // the retries' backoff (Monotonic); nullptr = the system clock
};

// Produces each input's outputs and serves their delivery reports: an output too large for its topic (estimated,
// or refused by librdkafka or the broker) is replaced by its tact.dlq form (RewriteTooLarge) and goes at once; any
// other failure is retried with backoff (100 ms doubling to 5 s per output) or, exactly-once, fails the
// transaction. Failures are logged at most once per 10 s per topic and error (ops::LogLimiter).
// Thread-safety: one thread (its owner's), which is the only caller of poll(): delivery reports run on it.
class DeliveryEngine final : public RdKafka::DeliveryReportCb {
 public:
  DeliveryEngine(DeliveryEngineOptions options, DeliveryObserver& observer);
  ~DeliveryEngine() override;

  // Creates the producer (idempotent; `extra`, e.g. transactional.id, added to the size settings).
  absl::Status Init(const std::string& brokers, const std::string& client_id, const ops::KafkaSecurity& security,
                    RdKafka::EventCb* events, const KafkaSettings& extra = {});
  // Before the first Complete().
  void SetCommit(CommitStrategy* commit) { commit_ = commit; }

  RdKafka::Producer& producer() { return *producer_; }
  DeliveryLedger& ledger() { return ledger_; }
  const DeliveryLedger& ledger() const { return ledger_; }
  const TopicLimits& limits() const { return options_.limits; }

  // An input taken in (its offset is not committable until Complete()'s outputs are acknowledged).
  void Begin(const TopicPartition& tp, int64_t offset) { ledger_.Begin(tp, offset); }
  // Its outputs (none: done at once), produced now.
  void Complete(const TopicPartition& tp, int64_t offset, std::vector<OutputRecord> outputs);
  // Produces the failed outputs whose backoff is over.
  void RetryDue();
  // Serves delivery reports and retries until nothing of `tps` (nullptr: of any partition) is in flight, or
  // `budget` is over, waiting at most `cap_ms` at a time. True when nothing is left.
  bool Drain(const std::vector<TopicPartition>* tps, absl::Duration budget, int cap_ms);
  // Serves the delivery reports of everything queued (an abort purged it), within `budget`.
  void ServeQueued(absl::Duration budget);

  void dr_cb(RdKafka::Message& message) override;

 private:
  void Produce(PendingOutput* out);
  // Rewrites an output too large for its topic (`limit`: the topic's known limit, 0 when the producer or the broker
  // refused it with `err`) into its tact.dlq form; false when it is a stub already.
  bool DeadLetterTooLarge(PendingOutput* out, int64_t limit, RdKafka::ErrorCode err);
  void Fail(PendingOutput* out, ops::LogLevel level, std::string_view event, RdKafka::ErrorCode err,
            const std::string& error);

  const DeliveryEngineOptions options_;
  const Clock& clock_;
  DeliveryObserver& observer_;
  CommitStrategy* commit_ = nullptr;
  ops::LogLimiter log_limiter_;
  DeliveryLedger ledger_;                       // before producer_: the producer holds its outputs' addresses
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<TopicHandles> topics_;        // producer_'s, destroyed before it
};

}  // namespace tact::pipeline
