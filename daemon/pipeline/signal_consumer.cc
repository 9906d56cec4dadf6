#include "daemon/pipeline/signal_consumer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/core/outage.h"

namespace tact::pipeline {

using ops::Log;
using ops::LogLevel;

absl::StatusOr<std::unique_ptr<SignalConsumer>> SignalConsumer::Create(SignalConsumerOptions options,
                                                                       decision::SignalIntake& intake,
                                                                       const Clock& clock) {
  std::unique_ptr<SignalConsumer> c(new SignalConsumer(std::move(options), intake, clock));
  if (absl::Status s = c->Init(); !s.ok()) {
    return s;
  }
  return c;
}

SignalConsumer::SignalConsumer(SignalConsumerOptions options, decision::SignalIntake& intake, const Clock& clock)
    : InputWorker(options.kafka),
      signal_options_(std::move(options)),
      own_registry_(signal_options_.stats == nullptr ? std::make_unique<prometheus::Registry>() : nullptr),
      own_stats_(own_registry_ ? std::make_unique<SignalStats>(*own_registry_) : nullptr),
      stats_(signal_options_.stats != nullptr ? *signal_options_.stats : *own_stats_),
      intake_(intake),
      clock_(clock) {}

void SignalConsumer::OnMessage(RdKafka::Message& message) {
  Pending p;
  p.tp = {message.topic_name(), message.partition()};
  p.offset = message.offset();
  if (message.key() != nullptr) {
    p.key = *message.key();
  }
  p.value.assign(static_cast<const char*>(message.payload()), message.len());
  p.headers = CopyHeaders(message.headers());
  Begin(p.tp, p.offset);
  waiting_.push_back(std::move(p));
  Work();
}

void SignalConsumer::OnTick() {
  if (!waiting_.empty()) {
    Work();
  }
}

void SignalConsumer::OnRevoked(const std::vector<TopicPartition>& partitions) {
  std::erase_if(waiting_, [&](const Pending& p) {
    return std::find(partitions.begin(), partitions.end(), p.tp) != partitions.end();
  });
}

void SignalConsumer::OnKafkaError(std::string_view what) { stats_.signals_kafka_errors_total.Inc({what}); }

void SignalConsumer::Work() {
  while (!waiting_.empty()) {
    if (store_down_ && clock_.Monotonic() < next_attempt_) {
      return;
    }
    if (!Handle(waiting_.front())) {
      stats_.signals_store_retries_total.Inc({});
      if (!store_down_) {
        store_down_ = true;
        stats_.signals_store_waiting.Set({}, 1);
        SetPaused(true);  // stop fetching; the signal in hand is retried, nothing behind it is skipped
      }
      next_attempt_ = clock_.Monotonic() + absl::ToChronoNanoseconds(backoff_);
      backoff_ = std::min(backoff_ * 2, absl::Seconds(1));
      return;
    }
    waiting_.pop_front();
    if (store_down_) {
      store_down_ = false;
      backoff_ = absl::Milliseconds(50);
      stats_.signals_store_waiting.Set({}, 0);
      Log(LogLevel::kInfo, "signals.store_recovered");
      SetPaused(false);
    }
  }
}

bool SignalConsumer::Handle(const Pending& p) {
  const std::string position = Position(p.tp, p.offset);
  auto dead_letter = [&](std::string_view label, const std::string& reason) {
    stats_.signals_dlq_total.Inc({label});
    Output out{.topic = signal_options_.dlq_topic, .key = p.key, .value = p.value, .headers = p.headers};
    AddDeadLetterHeaders(out.headers, reason, p.tp, p.offset);
    Log(LogLevel::kWarning, "signals.dead_letter", {{"position", position}, {"reason", reason}});
    std::vector<Output> outs;
    outs.push_back(std::move(out));
    Complete(p.tp, p.offset, std::move(outs));
  };
  const std::string* content_type = FindHeader(p.headers, "content-type");
  absl::StatusOr<v1::Signal> signal = DecodeSignal(p.value, content_type != nullptr ? *content_type : "");
  if (!signal.ok()) {
    dead_letter("undecodable", std::string(signal.status().message()));
    return true;
  }
  const absl::Time now = clock_.Now();
  const absl::Status s = intake_.Put(*signal, now, now + signal_options_.store_deadline, /*field_prefix=*/"");
  if (IsOutage(s)) {
    if (!store_down_) {
      Log(LogLevel::kWarning, "signals.store_unavailable", {{"position", position}, {"error", std::string(s.message())}});
    }
    return false;
  }
  if (absl::IsInvalidArgument(s)) {
    dead_letter("invalid", std::string(s.message()));
    return true;
  }
  if (!s.ok()) {
    dead_letter("failed", absl::StrCat("signal failed: ", std::string(s.message())));
    return true;
  }
  stats_.signals_consumed_total.Inc({v1::SignalKind_Name(signal->kind())});
  Complete(p.tp, p.offset, {});
  return true;
}

}  // namespace tact::pipeline
