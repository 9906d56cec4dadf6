#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "daemon/core/event.h"
#include "daemon/decision/batch_sequencer.h"
#include "daemon/decision/decision_service.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/pipeline/delivery_engine.h"
#include "daemon/pipeline/outage_gate.h"
#include "daemon/pipeline/output_limits.h"
#include "daemon/pipeline/output_router.h"
#include "daemon/pipeline/pipeline_stats.h"

namespace tact::pipeline {

// at_least_once: offsets are committed after the outputs are acknowledged; a restart may send an output again
// (the store's dedupe by event_id keeps counters and decisions stable). exactly_once: the outputs of a batch of
// inputs and the inputs' offsets are committed in one Kafka transaction, so a read_committed consumer of the
// outputs sees each input's outputs exactly once, at the price of a commit per batch.
enum class Guarantee { kAtLeastOnce, kExactlyOnce };

struct PipelineOptions {
  std::string brokers;
  ops::KafkaSecurity kafka_security;  // security.protocol, SASL, TLS: its consumer's and producer's
  std::string group_id = "tactd";
  std::string client_id = "tactd";
  int session_timeout_ms = 10000;
  std::string group_instance_id;        // static membership (group.instance.id); empty = dynamic
  int statistics_interval_ms = 5000;    // librdkafka statistics: consumer lag and group state
  Topics topics;
  absl::Duration drain_budget = absl::Seconds(20);  // SIGTERM: finish in-flight and flush within this
  Guarantee guarantee = Guarantee::kAtLeastOnce;
  // exactly_once only: unique per instance and stable across its restarts (a restart fences the old producer
  // and aborts its open transaction); a transaction is committed after this many inputs or this age.
  std::string transactional_id;
  int transaction_max_events = 500;
  absl::Duration transaction_max_age = absl::Milliseconds(100);
  // Inputs decided together in one store round-trip (DecisionService::DecideBatch): up to batch_max_events
  // messages, collecting for at most batch_max_wait after the first one arrived (0: only what is already fetched).
  int batch_max_events = 500;
  absl::Duration batch_max_wait = absl::Milliseconds(5);
  // Store outage (fail-closed decisions UNAVAILABLE / DEADLINE_EXCEEDED): the partitions are paused and the held
  // inputs retried with this backoff, doubling up to outage_backoff_max.
  absl::Duration outage_backoff_min = absl::Milliseconds(100);
  absl::Duration outage_backoff_max = absl::Seconds(2);
  PipelineStats* stats = nullptr;  // borrowed; nullptr = a private registry nobody scrapes
  // The output topics' max.message.bytes (LearnTopicLimits): sizes the producer and decides what is too large.
  TopicLimits limits;
};

// Consume tact.outbound → decide → produce the event to released/deferred/suppressed and its record to
// tact.decisions (or the original bytes to tact.dlq with the reason). At-least-once: an input offset is stored
// only after every output of it, and of every earlier input of its partition, is acknowledged by the broker.
// Inputs are handled in batches: what is already fetched (up to batch_max_events) is decided in one
// DecideBatch call (one store round-trip, per-customer order kept) and its outputs are produced in input order.
// Back-pressure: when fail-closed decisions of a batch fail because the store is unreachable, every assigned
// partition is paused (librdkafka resumes a paused partition after its last consumed message), the inputs from
// each partition's first undecided one on are held undecided in memory (nothing of them is produced or stored)
// and retried with backoff while consume() keeps serving heartbeats and rebalances; once they are decided the
// partitions resume. A rebalance drops the held inputs of revoked partitions (their new owner starts from the
// committed offset) and pauses newly assigned ones while the outage lasts; a stop drops them all (redelivered
// after a restart).
// Thread-safety: Run() on one thread (the pipeline thread), which owns the consumer and the producer and is the
// only caller of poll(), so delivery reports and rebalances run on it without locks. RequestStop() from any thread.
// Outputs go through a DeliveryEngine (producer, delivery reports, too-large rewrites, retries, drain); offsets
// are committed by the CommitStrategy of options.guarantee (AtLeastOnceCommit or TransactionalCommit).
// With Guarantee::kExactlyOnce the producer is transactional: inputs are handled in batches inside one
// transaction, whose outputs and input offsets (send_offsets_to_transaction) commit together; on an error the
// transaction is aborted and the inputs' partitions are rewound to their committed offsets.
// librdkafka's own log lines and errors go through ops::Log (event_cb; log lines may come from librdkafka's
// threads); its statistics (served by consume() on the pipeline thread) feed the lag gauges and GroupJoined().
class Pipeline final : public RdKafka::RebalanceCb, public RdKafka::EventCb, private DeliveryObserver {
 public:
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(PipelineOptions options, decision::DecisionService& decider);
  ~Pipeline() override;

  // Runs until RequestStop(); then stops fetching, finishes in-flight, flushes, stores offsets and closes.
  void Run();
  void RequestStop() { stop_.store(true); }
  bool HasAssignment() const { return assigned_partitions_.load() > 0; }
  // True once this consumer has joined its group (with or without partitions: more members than partitions
  // leaves some idle by design).
  bool GroupJoined() const { return group_joined_.load(); }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;

 private:
  // One consumed input, decoded; the message itself is not kept.
  struct Input {
    TopicPartition tp;
    int64_t offset = 0;
    std::string position;  // topic[partition]@offset
    std::string key;
    std::string value;  // the original bytes
    std::vector<std::pair<std::string, std::string>> headers;
    absl::StatusOr<Event> event;  // not ok: dead-lettered with this message
    bool undecodable = false;     // with !event.ok(): the bytes were not an event at all (else: invalid event)
    bool too_large = false;       // with !event.ok(): its routed output would not fit its topic
    bool dropped = false;         // its partition was revoked or rewound while the batch was being decided
  };
  // A batch being decided by the BatchSequencer while the previous batch's outputs are produced. The sequencer
  // reads only the inputs' events; the pipeline thread may set `dropped` meanwhile.
  struct Deciding {
    std::vector<Input> batch;
    std::vector<decision::DecisionService::Request> requests;
    std::vector<size_t> request_of;  // batch index → requests index (SIZE_MAX: not decided: DLQ)
    std::future<decision::DecidedBatch> results;
  };
  struct DecidedInputs {  // a batch with its decisions (decision::Decided each)
    std::vector<Input> batch;
    std::vector<size_t> request_of;
    std::vector<absl::StatusOr<decision::Decided>> results;
  };
  // Back-pressure while the store is down.
  struct Outage {
    OutageGate gate;           // when to probe the store again
    std::vector<Input> held;   // undecided, in consume order; per partition from its first undecided input on
    bool active() const { return gate.active(); }
  };

  Pipeline(PipelineOptions options, decision::DecisionService& decider);
  // Asks the brokers for the output topics' partitions before the first event (within 2 s; a missing topic is
  // logged): otherwise the first produce to each topic waits for a metadata refresh, which held every decision
  // unacknowledged for ~0.9 s after start on the dev broker.
  void LearnOutputTopics();
  // The commit strategy of options_.guarantee (exactly_once: init_transactions).
  absl::Status MakeCommit();
  bool exactly_once() const { return options_.guarantee == Guarantee::kExactlyOnce; }
  // One turn of Run() while the store answers: collect and start deciding a batch, produce a decided one.
  void Advance();
  // After RequestStop(): produce what is decided, commit, drain, close.
  void Shutdown();
  // Collects up to batch_max_events inputs into batch_ (empty when nothing arrived within the poll timeout).
  void ConsumeBatch();
  Input Decode(RdKafka::Message& msg) const;
  // Submits `batch` to the sequencer (one store round-trip, ordered after the batch before it); TakeDecided
  // waits for the oldest one.
  void StartDeciding(std::vector<Input> batch);
  DecidedInputs TakeDecided();
  // After a Process that paused: the batches still deciding are held behind its held inputs, undecided.
  void HoldDeciding();
  // Produces the outputs of a decided batch in input order; inputs left undecided by a store outage go to
  // outage_.held (and pause the partitions if not paused yet).
  void Process(DecidedInputs decided);
  // StartDeciding + TakeDecided + Process.
  void HandleBatch(std::vector<Input> batch);
  // Builds and produces one input's outputs; `decided` is nullptr for an input that failed decoding.
  void Emit(Input& in, const absl::StatusOr<decision::Decided>* decided);
  void Pause(const std::string& reason);
  void Resume(const std::string& why);
  void ServePaused();  // one turn of the loop while paused
  int ConsumeTimeoutMs() const { return commit_->WaitMs(100); }
  // Drops the held and collected (not yet decided) inputs of these partitions.
  void DropUndecided(const std::vector<TopicPartition>& tps);
  void OnStatistics(const std::string& json);
  // DeliveryObserver: the engine's outcomes in the pipeline's metrics.
  void OnProduceError() override { stats_.kafka_errors_total.Inc({"produce"}); }
  void OnDeliveryFailed(const std::string& topic) override;
  void OnTooLarge(const std::string& topic) override;
  void OnProduced(const std::string& topic) override;

  const PipelineOptions options_;
  // Of tact.released/deferred/suppressed, the topic with the smallest max.message.bytes and that limit: an event
  // whose routed output would not fit it is refused before deciding (Decode). Fixed at start.
  const std::pair<std::string, int64_t> smallest_routed_;
  std::unique_ptr<prometheus::Registry> own_registry_;  // only when options_.stats is nullptr
  std::unique_ptr<PipelineStats> own_stats_;
  PipelineStats& stats_;
  std::set<std::pair<std::string, int32_t>> lag_series_;  // pipeline thread only
  // tact_kafka_produced_total's series by topic, each found once (With() joins the values and locks per call, two
  // calls per event). Pipeline thread only (delivery reports run on it).
  absl::flat_hash_map<std::string, prometheus::Counter*> produced_;
  std::atomic<bool> group_joined_{false};
  decision::DecisionService& decider_;
  const OutputRouter router_;
  DeliveryEngine engine_;  // the producer, what is in flight, retries
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  // At-least-once (stored offsets) or exactly-once (transactions): Guarantee.
  std::unique_ptr<CommitStrategy> commit_;
  std::vector<std::unique_ptr<RdKafka::Topic>> output_topics_;  // the producer's handles, kept with their metadata
  ops::LogLimiter log_limiter_;
  std::vector<Input> batch_;  // the batch being collected (a revoke during collection drops its partitions)
  // The batches being decided, oldest first, at most kDecidingDepth: batch N+1 is decoded and evaluated while
  // batch N's store call runs, and its store call goes out when N's returns (decision::BatchSequencer).
  static constexpr size_t kDecidingDepth = 2;
  std::deque<Deciding> deciding_;
  decision::BatchSequencer sequencer_{decider_};  // after deciding_: stopped before the batches it reads go
  Outage outage_;
  std::atomic<bool> stop_{false};
  std::atomic<int> assigned_partitions_{0};
};

}  // namespace tact::pipeline
