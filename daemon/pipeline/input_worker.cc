#include "daemon/pipeline/input_worker.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/kafka_clients.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

const SystemClock kLogClock;  // the log limiter's intervals only
constexpr absl::Duration kLogInterval = absl::Seconds(10);

std::vector<RdKafka::TopicPartition*> ToRdKafka(const std::set<TopicPartition>& tps) {
  std::vector<RdKafka::TopicPartition*> out;
  for (const TopicPartition& tp : tps) {
    out.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
  }
  return out;
}

}  // namespace

HeaderList CopyHeaders(const RdKafka::Headers* headers) {
  HeaderList out;
  if (headers == nullptr) {
    return out;
  }
  for (const RdKafka::Headers::Header& h : headers->get_all()) {
    out.emplace_back(h.key(), h.value() == nullptr
                                  ? std::string()
                                  : std::string(static_cast<const char*>(h.value()), h.value_size()));
  }
  return out;
}

InputWorker::InputWorker(InputWorkerOptions options)
    : options_(std::move(options)),
      engine_({.dlq_topic = options_.dlq_topic, .limits = options_.limits}, *this),
      log_limiter_(kLogClock, kLogInterval) {}

InputWorker::~InputWorker() {
  commit_.reset();
  consumer_.reset();  // the consumer first, then the producer (engine_)
}

absl::Status InputWorker::Init() {
  const InputWorkerOptions& o = options_;
  if (absl::Status s = engine_.Init(o.brokers, o.client_id, o.kafka_security, this); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> consumer = CreateConsumer(
      {.brokers = o.brokers, .client_id = o.client_id, .group_id = o.group_id,
       .session_timeout_ms = o.session_timeout_ms, .security = o.kafka_security},
      this, this);
  if (!consumer.ok()) return consumer.status();
  consumer_ = *std::move(consumer);
  commit_ = std::make_unique<AtLeastOnceCommit>(engine_, *consumer_, o.topic);
  engine_.SetCommit(commit_.get());
  const RdKafka::ErrorCode sub = consumer_->subscribe({o.topic});
  if (sub != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka subscribe: ", RdKafka::err2str(sub)));
  }
  return absl::OkStatus();
}

void InputWorker::Run() {
  Log(LogLevel::kInfo, "kafka.worker_started", {{"topic", options_.topic}, {"group", options_.group_id}});
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(100));
    engine_.producer().poll(0);
    engine_.RetryDue();
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR:
        if (assigned_.contains({msg->topic_name(), msg->partition()})) {
          OnMessage(*msg);
        }
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        break;
      default:
        OnKafkaError("consume");
        log_limiter_.Log(LogLevel::kWarning, "kafka.consume_error", RdKafka::err2str(msg->err()),
                         {{"topic", options_.topic}, {"error", msg->errstr()}});
        break;
    }
    OnTick();
    commit_->Tick();
  }
  Log(LogLevel::kInfo, "kafka.worker_draining", {{"topic", options_.topic}, {"in_flight", absl::StrCat(in_flight())}});
  if (!engine_.Drain(nullptr, options_.drain_budget, 100)) {
    Log(LogLevel::kWarning, "kafka.worker_drain_incomplete",
        {{"topic", options_.topic}, {"in_flight", absl::StrCat(in_flight())}});
  }
  commit_->Finish();
  consumer_->close();  // commits the stored offsets
  Log(LogLevel::kInfo, "kafka.worker_stopped", {{"topic", options_.topic}});
}

void InputWorker::SetPaused(bool paused) {
  if (paused == paused_) {
    return;
  }
  paused_ = paused;
  std::vector<RdKafka::TopicPartition*> parts = ToRdKafka(assigned_);
  const RdKafka::ErrorCode err = paused ? consumer_->pause(parts) : consumer_->resume(parts);
  RdKafka::TopicPartition::destroy(parts);
  Log(err == RdKafka::ERR_NO_ERROR ? LogLevel::kInfo : LogLevel::kWarning, paused ? "kafka.paused" : "kafka.resumed",
      {{"topic", options_.topic}, {"partitions", absl::StrCat(assigned_.size())}, {"error", RdKafka::err2str(err)}});
}

void InputWorker::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                               std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> tps;
  for (const RdKafka::TopicPartition* p : partitions) {
    tps.push_back({p->topic(), p->partition()});
  }
  std::unique_ptr<RdKafka::Error> e;
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    e.reset(consumer->incremental_assign(partitions));
    assigned_.insert(tps.begin(), tps.end());
    group_joined_.store(true);
    if (paused_) {
      (void)consumer->pause(partitions);
    }
  } else {
    // Finish what is in flight and commit it before the partitions go: a clean handoff redelivers only what
    // this instance still held (not yet due, not yet written), which the next owner handles again.
    commit_->Revoke(tps, consumer->assignment_lost());
    OnRevoked(tps);
    for (const TopicPartition& tp : tps) {
      assigned_.erase(tp);
    }
    e.reset(consumer->incremental_unassign(partitions));
  }
  Log(LogLevel::kInfo, err == RdKafka::ERR__ASSIGN_PARTITIONS ? "kafka.assigned" : "kafka.revoked",
      {{"topic", options_.topic}, {"partitions", absl::StrCat(partitions.size())}});
  if (e) {
    Log(LogLevel::kError, "kafka.rebalance_failed", {{"topic", options_.topic}, {"error", e->str()}});
  }
}

void InputWorker::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      OnKafkaError("client");
      if (LogKafkaSecurityFailure(event.err(), event.str())) break;  // once per process, with what to check
      log_limiter_.Log(event.fatal() ? LogLevel::kError : LogLevel::kWarning, "kafka.error",
                       RdKafka::err2str(event.err()),
                       {{"topic", options_.topic}, {"code", RdKafka::err2str(event.err())}, {"error", event.str()}});
      break;
    case RdKafka::Event::EVENT_LOG:
      LogKafkaLine(event);
      break;
    default:
      break;
  }
}

}  // namespace tact::pipeline
