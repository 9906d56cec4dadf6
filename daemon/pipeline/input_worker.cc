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

const std::string* FindHeader(const HeaderList& headers, std::string_view key) {
  for (const auto& [k, v] : headers) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

std::string Position(const TopicPartition& tp, int64_t offset) {
  return absl::StrCat(tp.topic, "[", tp.partition, "]@", offset);
}

void AddDeadLetterHeaders(HeaderList& headers, std::string_view reason, const TopicPartition& tp, int64_t offset) {
  headers.emplace_back("tact-dlq-reason", std::string(reason));
  headers.emplace_back("tact-source-topic", tp.topic);
  headers.emplace_back("tact-source-partition", absl::StrCat(tp.partition));
  headers.emplace_back("tact-source-offset", absl::StrCat(offset));
}

InputWorker::InputWorker(InputWorkerOptions options)
    : options_(std::move(options)), log_limiter_(kLogClock, kLogInterval) {}

InputWorker::~InputWorker() {
  consumer_.reset();  // the consumer first, then the producer
  producer_.reset();
}

absl::Status InputWorker::Init() {
  const InputWorkerOptions& o = options_;
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> producer =
      CreateProducer(o.brokers, o.client_id, o.kafka_security, this, this, ProducerSizeSettings(o.limits));
  if (!producer.ok()) return producer.status();
  producer_ = *std::move(producer);
  absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> consumer = CreateConsumer(
      {.brokers = o.brokers, .client_id = o.client_id, .group_id = o.group_id,
       .session_timeout_ms = o.session_timeout_ms, .security = o.kafka_security},
      this, this);
  if (!consumer.ok()) return consumer.status();
  consumer_ = *std::move(consumer);
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
    producer_->poll(0);
    RetryFailed();
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
  }
  Log(LogLevel::kInfo, "kafka.worker_draining", {{"topic", options_.topic}, {"in_flight", absl::StrCat(in_flight_.size())}});
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.drain_budget);
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
    RetryFailed();
    WaitForProducer(*producer_, retry_.NextDue(), 100);
  }
  if (!in_flight_.empty()) {
    Log(LogLevel::kWarning, "kafka.worker_drain_incomplete",
        {{"topic", options_.topic}, {"in_flight", absl::StrCat(in_flight_.size())}});
  }
  consumer_->close();  // commits the stored offsets
  Log(LogLevel::kInfo, "kafka.worker_stopped", {{"topic", options_.topic}});
}

void InputWorker::Complete(const TopicPartition& tp, int64_t offset, std::vector<Output> outputs) {
  if (outputs.empty()) {
    Done(tp, offset);
    return;
  }
  auto in = std::make_unique<Input>();
  in->tp = tp;
  in->offset = offset;
  in->pending = static_cast<int>(outputs.size());
  for (Output& o : outputs) {
    auto p = std::make_unique<PendingOutput>();
    p->parent = in.get();
    p->out = std::move(o);
    in->outputs.push_back(std::move(p));
  }
  Input* raw = in.get();
  in_flight_[{tp, offset}] = std::move(in);
  for (auto& p : raw->outputs) {
    Produce(p.get());
  }
}

void InputWorker::Produce(PendingOutput* p) {
  if (!options_.limits.Fits(p->out)) {
    (void)DeadLetterTooLarge(p, options_.limits.Limit(p->out.topic), RdKafka::ERR_MSG_SIZE_TOO_LARGE);
  }
  for (;;) {
    const Output& out = p->out;
    const RdKafka::ErrorCode err = ProduceCopy(*producer_, out.topic, out.key, out.value, out.headers, p);
    if (err == RdKafka::ERR_NO_ERROR) {
      return;
    }
    OnKafkaError("produce");
    if (IsTooLarge(err) && DeadLetterTooLarge(p, 0, err)) {
      continue;  // its tact.dlq form, produced at once
    }
    Failed(p, "kafka.produce_failed", err);
    return;
  }
}

bool InputWorker::DeadLetterTooLarge(PendingOutput* p, int64_t limit, RdKafka::ErrorCode err) {
  const std::string topic = p->out.topic;
  const std::optional<int64_t> bytes =
      RewriteTooLarge(p->out, limit, p->parent->tp, p->parent->offset, options_.dlq_topic, options_.limits);
  if (!bytes) {
    return false;  // a stub already: retried with backoff
  }
  OnKafkaError("too_large");
  log_limiter_.Log(LogLevel::kWarning, "kafka.output_too_large", topic,
                   {{"topic", topic}, {"position", Position(p->parent->tp, p->parent->offset)},
                    {"bytes", absl::StrCat(*bytes)}, {"error", RdKafka::err2str(err)},
                    {"stub", IsDeadLetterStub(p->out) ? "true" : "false"}});
  return true;
}

void InputWorker::Failed(PendingOutput* p, std::string_view event, RdKafka::ErrorCode err) {
  ++p->attempts;
  log_limiter_.Log(LogLevel::kWarning, event, absl::StrCat(p->out.topic, " ", RdKafka::err2str(err)),
                   {{"topic", p->out.topic}, {"error", RdKafka::err2str(err)},
                    {"attempt", absl::StrCat(p->attempts)}});
  // The input's offset cannot advance until this output is delivered: retried with backoff.
  retry_.Push(p, p->attempts, std::chrono::steady_clock::now());
}

void InputWorker::dr_cb(RdKafka::Message& message) {
  auto* p = static_cast<PendingOutput*>(message.msg_opaque());
  if (p == nullptr) {
    return;
  }
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    OnKafkaError("delivery");
    if (IsTooLarge(message.err()) && DeadLetterTooLarge(p, 0, message.err())) {
      retry_.PushNow(p, std::chrono::steady_clock::now());  // produced by RetryFailed, outside this callback
      return;
    }
    Failed(p, "kafka.delivery_failed", message.err());
    return;
  }
  OnProduced(p->out.topic);
  Input* in = p->parent;
  if (--in->pending > 0) {
    return;
  }
  const TopicPartition tp = in->tp;
  const int64_t offset = in->offset;
  in_flight_.erase({tp, offset});
  Done(tp, offset);
}

void InputWorker::Done(const TopicPartition& tp, int64_t offset) {
  const std::optional<int64_t> next = tracker_.Ack(tp, offset);
  if (!next) {
    return;
  }
  std::vector<RdKafka::TopicPartition*> tps{RdKafka::TopicPartition::create(tp.topic, tp.partition, *next)};
  const RdKafka::ErrorCode err = consumer_->offsets_store(tps);
  if (err != RdKafka::ERR_NO_ERROR || tps[0]->err() != RdKafka::ERR_NO_ERROR) {
    // ERR__STATE: revoked meanwhile; the new owner reads it again (outputs are idempotent downstream).
    Log(LogLevel::kDebug, "kafka.offset_store_skipped",
        {{"topic", tp.topic}, {"partition", absl::StrCat(tp.partition)}, {"error", RdKafka::err2str(tps[0]->err())}});
  }
  RdKafka::TopicPartition::destroy(tps);
}

void InputWorker::RetryFailed() {
  for (PendingOutput* p : retry_.PopDue(std::chrono::steady_clock::now())) {
    Produce(p);
  }
}

void InputWorker::Drain(const std::vector<TopicPartition>& tps, absl::Duration budget) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(budget);
  auto busy = [&] {
    for (const auto& [key, in] : in_flight_) {
      if (std::find(tps.begin(), tps.end(), key.first) != tps.end()) {
        return true;
      }
    }
    return false;
  };
  while (busy() && std::chrono::steady_clock::now() < deadline) {
    RetryFailed();
    WaitForProducer(*producer_, retry_.NextDue(), 50);
  }
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
    if (!consumer->assignment_lost()) {
      Drain(tps, absl::Seconds(5));
      const RdKafka::ErrorCode c = consumer->commitSync();
      if (c != RdKafka::ERR_NO_ERROR && c != RdKafka::ERR__NO_OFFSET) {
        Log(LogLevel::kWarning, "kafka.revoke_commit_failed", {{"topic", options_.topic}, {"error", RdKafka::err2str(c)}});
      }
    }
    OnRevoked(tps);
    for (const TopicPartition& tp : tps) {
      tracker_.Forget(tp);
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
