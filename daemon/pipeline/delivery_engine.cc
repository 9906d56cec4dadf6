#include "daemon/pipeline/delivery_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/pipeline/output_record.h"
#include "daemon/pipeline/kafka_clients.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

const SystemClock kSystemClock;
constexpr absl::Duration kLogInterval = absl::Seconds(10);

}  // namespace

DeliveryEngine::DeliveryEngine(DeliveryEngineOptions options, DeliveryObserver& observer)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : kSystemClock),
      observer_(observer),
      log_limiter_(kSystemClock, kLogInterval) {}

DeliveryEngine::~DeliveryEngine() = default;

absl::Status DeliveryEngine::Init(const std::string& brokers, const std::string& client_id,
                                  const ops::KafkaSecurity& security, RdKafka::EventCb* events,
                                  const KafkaSettings& extra) {
  KafkaSettings settings = ProducerSizeSettings(options_.limits);
  settings.insert(settings.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> made =
      CreateProducer(brokers, client_id, security, this, events, settings);
  if (!made.ok()) return made.status();
  producer_ = *std::move(made);
  topics_ = std::make_unique<TopicHandles>(producer_->c_ptr());
  return absl::OkStatus();
}

void DeliveryEngine::Complete(const TopicPartition& tp, int64_t offset, std::vector<OutputRecord> outputs) {
  commit_->OnInput(tp, offset);
  for (PendingOutput* out : ledger_.Add(tp, offset, std::move(outputs))) {
    Produce(out);
  }
}

void DeliveryEngine::Produce(PendingOutput* out) {
  if (!options_.limits.Fits(*out)) {
    (void)DeadLetterTooLarge(out, options_.limits.Limit(out->topic), RdKafka::ERR_MSG_SIZE_TOO_LARGE);
  } else if (commit_->ForceDeadLetter(*out)) {
    (void)DeadLetterTooLarge(out, 0, RdKafka::ERR_MSG_SIZE_TOO_LARGE);  // refused by the broker before an abort
  }
  for (;;) {
    rd_kafka_topic_t* topic = topics_->Get(out->topic);
    const RdKafka::ErrorCode err =
        topic == nullptr ? static_cast<RdKafka::ErrorCode>(rd_kafka_last_error())
                         : ProduceCopy(*producer_, topic, out->key, out->value, out->headers, out);
    if (err == RdKafka::ERR_NO_ERROR) {
      return;
    }
    observer_.OnProduceError();
    if (IsTooLarge(err) && DeadLetterTooLarge(out, 0, err)) {
      continue;  // nothing was queued: its tact.dlq form goes in the same place (and transaction)
    }
    Fail(out, LogLevel::kError, "kafka.produce_failed", err, RdKafka::err2str(err));
    return;
  }
}

bool DeliveryEngine::DeadLetterTooLarge(PendingOutput* out, int64_t limit, RdKafka::ErrorCode err) {
  const std::string topic = out->topic;
  const std::optional<int64_t> bytes =
      RewriteTooLarge(*out, limit, out->source, out->offset, options_.dlq_topic, options_.limits);
  if (!bytes) {
    return false;  // a stub already: retried with backoff
  }
  observer_.OnTooLarge(topic);
  log_limiter_.Log(LogLevel::kWarning, "kafka.output_too_large", topic,
                   {{"topic", topic}, {"position", Position(out->source, out->offset)},
                    {"bytes", absl::StrCat(*bytes)}, {"error", RdKafka::err2str(err)},
                    {"stub", IsDeadLetterStub(*out) ? "true" : "false"}});
  return true;
}

void DeliveryEngine::Fail(PendingOutput* out, LogLevel level, std::string_view event, RdKafka::ErrorCode err,
                          const std::string& error) {
  int attempt = out->attempts + 1;
  if (commit_->RetriesFailures()) {
    // The input's offset cannot advance until this output is delivered: retried with backoff.
    attempt = ledger_.Failed(out, clock_.Monotonic());
  } else {
    ++out->attempts;
    commit_->Failed(*out, IsTooLarge(err));
  }
  log_limiter_.Log(level, event, absl::StrCat(out->topic, " ", error),
                   {{"topic", out->topic}, {"error", error}, {"attempt", absl::StrCat(attempt)}});
}

void DeliveryEngine::dr_cb(RdKafka::Message& message) {
  auto* out = static_cast<PendingOutput*>(message.msg_opaque());
  if (out == nullptr) {
    return;
  }
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    observer_.OnDeliveryFailed(out->topic);
    if (commit_->RetriesFailures() && IsTooLarge(message.err()) && DeadLetterTooLarge(out, 0, message.err())) {
      ledger_.RetryNow(out, clock_.Monotonic());  // produced by RetryDue, outside this callback
      return;
    }
    Fail(out, LogLevel::kWarning, "kafka.delivery_failed", message.err(), message.errstr());
    return;
  }
  observer_.OnProduced(out->topic);
  const TopicPartition tp = out->source;
  const int64_t offset = out->offset;
  if (ledger_.Delivered(out)) {
    commit_->OnInputDone(tp, offset);
  }
}

void DeliveryEngine::RetryDue() {
  for (PendingOutput* out : ledger_.DueRetries(clock_.Monotonic())) {
    Produce(out);
  }
}

bool DeliveryEngine::Drain(const std::vector<TopicPartition>* tps, absl::Duration budget, int cap_ms) {
  const auto deadline = clock_.Monotonic() + absl::ToChronoNanoseconds(budget);
  auto busy = [&] {
    if (tps == nullptr) {
      return ledger_.InFlight() > 0;
    }
    return std::any_of(tps->begin(), tps->end(), [&](const TopicPartition& tp) { return ledger_.InFlight(tp) > 0; });
  };
  while (busy() && clock_.Monotonic() < deadline) {
    RetryDue();
    WaitForProducer(*producer_, ledger_.NextRetry(), cap_ms);
  }
  return !busy();
}

void DeliveryEngine::ServeQueued(absl::Duration budget) {
  const auto deadline = clock_.Monotonic() + absl::ToChronoNanoseconds(budget);
  while (producer_->outq_len() > 0 && clock_.Monotonic() < deadline) {
    producer_->poll(10);
  }
}

}  // namespace tact::pipeline
