#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/core/clock.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/ops/metrics.h"
#include "daemon/pipeline/input_worker.h"

namespace tact::pipeline {

// Label values: kind = a tact.v1.SignalKind name (valid signals only); reason ∈ {undecodable, invalid, failed};
// what ∈ {consume, produce, delivery, client, too_large}.
#define TACT_SIGNAL_STATS(COUNTER, GAUGE, HISTOGRAM)                                                           \
  COUNTER(signals_consumed_total, "Signals read from tact.signals and recorded", (kind))                       \
  COUNTER(signals_dlq_total, "Signals sent to the dead-letter topic", (reason))                                \
  COUNTER(signals_store_retries_total, "Signal writes retried because the store was unavailable", ())          \
  COUNTER(signals_kafka_errors_total, "Kafka errors of the signals consumer (retried)", (what))                 \
  GAUGE(signals_store_waiting, "1 while the signals consumer is paused waiting for the store to come back", ())
TACT_STATS_STRUCT(SignalStats, TACT_SIGNAL_STATS);

struct SignalConsumerOptions {
  InputWorkerOptions kafka;  // topic: tact.signals; group: "<kafka.group_id>-signals"
  std::string dlq_topic = "tact.dlq";
  absl::Duration store_deadline = absl::Milliseconds(250);
  SignalStats* stats = nullptr;  // borrowed; nullptr = a private registry nobody scrapes
};

// Consumes tact.signals (tact.v1.Signal, binary protobuf or proto3 JSON: the same content-type rule as
// tact.outbound, see DecodeInput) and hands each signal to decision::SignalIntake, the one way a signal is
// validated and stored (Signals.PutSignal uses it too). An undecodable or invalid signal goes to tact.dlq with
// the pipeline's headers (AddDeadLetterHeaders). When the store is unavailable the consumer pauses its
// partitions and retries the same signal with backoff: nothing is skipped, and an offset is stored only after its
// signal is written (or dead-lettered and acknowledged). Signal writes are idempotent, so a redelivery is harmless.
// Thread-safety: as InputWorker (Run() on its own thread; RequestStop() from any thread).
class SignalConsumer final : public InputWorker {
 public:
  static absl::StatusOr<std::unique_ptr<SignalConsumer>> Create(SignalConsumerOptions options,
                                                                 decision::SignalIntake& intake, const Clock& clock);

 private:
  struct Pending {
    TopicPartition tp;
    int64_t offset = 0;
    std::string key;
    std::string value;
    HeaderList headers;
  };

  SignalConsumer(SignalConsumerOptions options, decision::SignalIntake& intake, const Clock& clock);
  void OnMessage(RdKafka::Message& message) override;
  void OnTick() override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;
  void OnKafkaError(std::string_view what) override;
  // Works through `waiting_` in order until it is empty or the store is unavailable.
  void Work();
  // False when the store was unavailable (the signal stays first in line).
  bool Handle(const Pending& p);

  const SignalConsumerOptions signal_options_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  std::unique_ptr<SignalStats> own_stats_;
  SignalStats& stats_;
  decision::SignalIntake& intake_;
  const Clock& clock_;
  std::deque<Pending> waiting_;
  bool store_down_ = false;
  absl::Duration backoff_ = absl::Milliseconds(50);
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace tact::pipeline
