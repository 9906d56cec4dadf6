#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/pipeline/commit_strategies.h"
#include "daemon/pipeline/delivery_engine.h"
#include "daemon/pipeline/output_limits.h"

namespace tact::pipeline {

HeaderList CopyHeaders(const RdKafka::Headers* headers);
struct InputWorkerOptions {
  std::string brokers;
  ops::KafkaSecurity kafka_security;  // security.protocol, SASL, TLS: its consumer's and producer's
  std::string group_id;   // its own group: e.g. "<kafka.group_id>-signals"
  std::string client_id;
  std::string topic;      // the one input topic
  int session_timeout_ms = 10000;
  absl::Duration drain_budget = absl::Seconds(20);
  // Where an output too large for its topic goes instead (output_limits.h), and the topics' limits.
  std::string dlq_topic = "tact.dlq";
  TopicLimits limits;
};

// The Kafka plumbing shared by tactd's secondary consumers (tact.signals, tact.deferred): one input topic in
// its own consumer group (cooperative-sticky, auto-commit of stored offsets), one idempotent producer
// (DeliveryEngine), and at-least-once bookkeeping (AtLeastOnceCommit): an input's offset is stored only after every
// output of it, and every earlier input of its partition, is acknowledged. Subclasses see each message once (OnMessage), call Begin()
// for it and, when they are done with it (at once or much later), Complete() with its outputs. An output that is
// too large for its topic is replaced by its tact.dlq form (DeadLetterForm) and the input moves on; any other
// failed output is retried with backoff (100 ms doubling to 5 s, per output), its failures logged at most once per
// 10 s per topic and error (ops::LogLimiter).
// Thread-safety: Run() on one thread, which owns the consumer and the producer and is the only caller of
// poll(): delivery reports, rebalances and the subclass hooks run on it. RequestStop() from any thread.
class InputWorker : public RdKafka::RebalanceCb, public RdKafka::EventCb, private DeliveryObserver {
 public:
  using Output = OutputRecord;

  ~InputWorker() override;

  // Runs until RequestStop(); then finishes in-flight outputs (within the drain budget), stores and commits.
  void Run();
  void RequestStop() { stop_.store(true); }
  bool GroupJoined() const { return group_joined_.load(); }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;

 protected:
  explicit InputWorker(InputWorkerOptions options);
  // Creates the clients and subscribes. Call once from the subclass's factory.
  absl::Status Init();

  // Hooks, all on the worker thread.
  virtual void OnMessage(RdKafka::Message& message) = 0;
  // After every consume() (at least every 100 ms): time-driven work.
  virtual void OnTick() {}
  // The partitions are no longer ours: forget what is held for them (their inputs are redelivered elsewhere).
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions) { (void)partitions; }
  // A failed delivery (retried) or a consumer error, for the subclass's metrics.
  // what ∈ {consume, produce, delivery, client, too_large (an output replaced by its tact.dlq form)}.
  virtual void OnKafkaError(std::string_view what) { (void)what; }
  void OnProduced(const std::string& topic) override { (void)topic; }

  // Input bookkeeping: Begin() when a message is taken in, Complete() once its outputs are known.
  void Begin(const TopicPartition& tp, int64_t offset) { engine_.Begin(tp, offset); }
  void Complete(const TopicPartition& tp, int64_t offset, std::vector<Output> outputs) {
    engine_.Complete(tp, offset, std::move(outputs));
  }
  // Stops (or restarts) fetching from every assigned partition; new assignments follow the current state.
  void SetPaused(bool paused);
  bool paused() const { return paused_; }
  bool stopping() const { return stop_.load(); }
  // Serves delivery reports (and nothing else) for up to `ms`.
  void PollProducer(int ms) { engine_.producer().poll(ms); }
  const InputWorkerOptions& options() const { return options_; }
  size_t in_flight() const { return engine_.ledger().InFlight(); }

 private:
  // DeliveryObserver: the engine's outcomes as OnKafkaError.
  void OnProduceError() override { OnKafkaError("produce"); }
  void OnDeliveryFailed(const std::string&) override { OnKafkaError("delivery"); }
  void OnTooLarge(const std::string&) override { OnKafkaError("too_large"); }

  const InputWorkerOptions options_;
  DeliveryEngine engine_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<AtLeastOnceCommit> commit_;
  ops::LogLimiter log_limiter_;
  std::set<TopicPartition> assigned_;
  bool paused_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> group_joined_{false};
};

}  // namespace tact::pipeline
