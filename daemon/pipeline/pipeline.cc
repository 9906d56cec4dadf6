#include "daemon/pipeline/pipeline.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

absl::Status Set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka config ", key, ": ", err));
  }
  return absl::OkStatus();
}

template <typename Cb>
absl::Status SetCb(RdKafka::Conf& conf, const std::string& key, Cb* cb) {
  std::string err;
  if (conf.set(key, cb, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka config ", key, ": ", err));
  }
  return absl::OkStatus();
}

std::vector<TopicPartition> ToTps(const std::vector<RdKafka::TopicPartition*>& parts) {
  std::vector<TopicPartition> out;
  for (const RdKafka::TopicPartition* p : parts) {
    out.push_back({p->topic(), p->partition()});
  }
  return out;
}

std::string_view HeaderValue(const RdKafka::Headers* headers, const std::string& key) {
  if (headers == nullptr) {
    return {};
  }
  for (const RdKafka::Headers::Header& h : headers->get(key)) {
    if (h.value() != nullptr) {
      return std::string_view(static_cast<const char*>(h.value()), h.value_size());
    }
  }
  return {};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(PipelineOptions options,
                                                           decision::DecisionService& decider) {
  std::unique_ptr<Pipeline> p(new Pipeline(std::move(options), decider));
  const PipelineOptions& o = p->options_;
  std::string err;

  std::unique_ptr<RdKafka::Conf> pconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", o.brokers},
           {"client.id", o.client_id},
           {"enable.idempotence", "true"},  // implies acks=all and ordered retries
           {"linger.ms", "5"},
           {"message.timeout.ms", "30000"}}) {
    if (absl::Status s = Set(*pconf, k, v); !s.ok()) return s;
  }
  if (absl::Status s = SetCb(*pconf, "dr_cb", static_cast<RdKafka::DeliveryReportCb*>(p.get())); !s.ok()) return s;
  p->producer_.reset(RdKafka::Producer::create(pconf.get(), err));
  if (!p->producer_) {
    return absl::InternalError(absl::StrCat("kafka producer: ", err));
  }

  std::unique_ptr<RdKafka::Conf> cconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", o.brokers},
           {"client.id", o.client_id},
           {"group.id", o.group_id},
           {"partition.assignment.strategy", "cooperative-sticky"},
           {"enable.auto.commit", "true"},
           {"enable.auto.offset.store", "false"},
           {"auto.commit.interval.ms", "1000"},
           {"auto.offset.reset", "earliest"},
           {"session.timeout.ms", absl::StrCat(o.session_timeout_ms)},
           {"heartbeat.interval.ms", absl::StrCat(std::max(100, o.session_timeout_ms / 3))}}) {
    if (absl::Status s = Set(*cconf, k, v); !s.ok()) return s;
  }
  if (absl::Status s = SetCb(*cconf, "rebalance_cb", static_cast<RdKafka::RebalanceCb*>(p.get())); !s.ok()) {
    return s;
  }
  p->consumer_.reset(RdKafka::KafkaConsumer::create(cconf.get(), err));
  if (!p->consumer_) {
    return absl::InternalError(absl::StrCat("kafka consumer: ", err));
  }
  const RdKafka::ErrorCode sub = p->consumer_->subscribe({o.topics.outbound});
  if (sub != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka subscribe: ", RdKafka::err2str(sub)));
  }
  return p;
}

Pipeline::Pipeline(PipelineOptions options, decision::DecisionService& decider)
    : options_(std::move(options)), decider_(decider) {}

Pipeline::~Pipeline() {
  consumer_.reset();  // the consumer first, then the producer
  producer_.reset();
}

void Pipeline::Run() {
  Log(LogLevel::kInfo, "pipeline.started", {{"topic", options_.topics.outbound}, {"group", options_.group_id}});
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(100));
    producer_->poll(0);
    RetryFailedOutputs();
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR:
        Handle(*msg);
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        break;
      default:
        Log(LogLevel::kWarning, "kafka.consume_error", {{"error", msg->errstr()}});
        break;
    }
  }
  // Shutdown: stop fetching, finish in-flight, flush, store, close (commits the stored offsets).
  Log(LogLevel::kInfo, "pipeline.draining", {{"in_flight", absl::StrCat(tracker_.InFlight())}});
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.drain_budget);
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
    RetryFailedOutputs();
    producer_->flush(100);
  }
  if (!in_flight_.empty()) {
    Log(LogLevel::kWarning, "pipeline.drain_incomplete", {{"in_flight", absl::StrCat(in_flight_.size())}});
  }
  consumer_->close();
  Log(LogLevel::kInfo, "pipeline.stopped");
}

void Pipeline::Handle(RdKafka::Message& msg) {
  const TopicPartition tp{msg.topic_name(), msg.partition()};
  auto in = std::make_unique<InFlight>();
  in->tp = tp;
  in->offset = msg.offset();
  const std::string position = absl::StrCat(tp.topic, "[", tp.partition, "]@", msg.offset());

  std::vector<std::pair<std::string, std::string>> headers;
  if (const RdKafka::Headers* h = msg.headers(); h != nullptr) {
    for (const RdKafka::Headers::Header& hd : h->get_all()) {
      headers.emplace_back(hd.key(), hd.value() == nullptr
                                         ? std::string()
                                         : std::string(static_cast<const char*>(hd.value()), hd.value_size()));
    }
  }
  const std::string_view bytes(static_cast<const char*>(msg.payload()), msg.len());
  const std::string original(bytes);
  const std::string original_key = msg.key() != nullptr ? *msg.key() : std::string();

  auto dead_letter = [&](const std::string& reason) {
    auto out = std::make_unique<Output>();
    out->topic = options_.topics.dlq;
    out->key = original_key;
    out->value = original;
    out->headers = headers;
    out->headers.emplace_back("tact-dlq-reason", reason);
    out->headers.emplace_back("tact-source-topic", tp.topic);
    out->headers.emplace_back("tact-source-partition", absl::StrCat(tp.partition));
    out->headers.emplace_back("tact-source-offset", absl::StrCat(msg.offset()));
    in->outputs.push_back(std::move(out));
    Log(LogLevel::kWarning, "pipeline.dead_letter", {{"position", position}, {"reason", reason}});
  };

  absl::StatusOr<v1::OutboundEvent> proto =
      DecodeOutboundEvent(bytes, HeaderValue(msg.headers(), "content-type"));
  absl::StatusOr<Event> event = proto.ok() ? EventFromProto(*proto) : absl::StatusOr<Event>(proto.status());
  if (!event.ok()) {
    dead_letter(std::string(event.status().message()));
  } else {
    absl::StatusOr<decision::Decided> decided;
    absl::Duration backoff = absl::Milliseconds(50);
    bool outage_logged = false;
    for (;;) {
      decided = decider_.Decide(*event, {.source = "kafka", .source_position = position});
      if (decided.ok() || !(absl::IsUnavailable(decided.status()) || absl::IsDeadlineExceeded(decided.status()))) {
        break;
      }
      if (!outage_logged) {
        Log(LogLevel::kWarning, "store.unavailable", {{"position", position}, {"error", std::string(decided.status().message())}});
        outage_logged = true;
      }
      if (stop_.load()) {  // undecided: its offset is never stored, so it is redelivered after restart
        return;
      }
      producer_->poll(0);
      std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));  // retry pacing, not synchronization
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    if (outage_logged) {
      Log(LogLevel::kInfo, "store.recovered", {{"position", position}});
    }
    if (!decided.ok()) {
      dead_letter(absl::StrCat("decision failed: ", decided.status().message()));
    } else {
      const v1::Decision& d = decided->decision;
      auto routed = std::make_unique<Output>();
      switch (d.decision()) {
        case v1::RELEASE: routed->topic = options_.topics.released; break;
        case v1::DEFER: routed->topic = options_.topics.deferred; break;
        default: routed->topic = options_.topics.suppressed; break;
      }
      routed->key = absl::StrCat(event->tenant, ":", event->customer_id);
      routed->value = original;
      routed->headers = headers;
      routed->headers.emplace_back("tact-decision", std::string(decision::DecisionName(d.decision())));
      routed->headers.emplace_back("tact-rule", d.rule_id());
      routed->headers.emplace_back("tact-policy-version", d.policy_version());
      in->outputs.push_back(std::move(routed));

      auto record = std::make_unique<Output>();
      record->topic = options_.topics.decisions;
      record->key = decided->record.customer_hash();
      record->value = EncodeDecisionRecord(decided->record);
      record->headers.emplace_back("content-type", "application/json");
      in->outputs.push_back(std::move(record));
    }
  }

  tracker_.Begin(tp, msg.offset());
  InFlight* raw = in.get();
  raw->pending = static_cast<int>(raw->outputs.size());
  in_flight_[{tp, msg.offset()}] = std::move(in);
  for (auto& out : raw->outputs) {
    out->parent = raw;
    Produce(out.get());
  }
}

void Pipeline::Produce(Output* out) {
  for (;;) {
    RdKafka::Headers* headers = RdKafka::Headers::create();
    for (const auto& [k, v] : out->headers) {
      headers->add(k, v);
    }
    const RdKafka::ErrorCode err = producer_->produce(
        out->topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(out->value.data()), out->value.size(), out->key.data(), out->key.size(), 0, headers, out);
    if (err == RdKafka::ERR_NO_ERROR) {
      return;  // librdkafka owns `headers` now
    }
    delete headers;  // not taken on failure
    if (err != RdKafka::ERR__QUEUE_FULL) {
      Log(LogLevel::kError, "kafka.produce_failed", {{"topic", out->topic}, {"error", RdKafka::err2str(err)}});
      retry_.push_back(out);
      return;
    }
    producer_->poll(100);
  }
}

void Pipeline::dr_cb(RdKafka::Message& message) {
  auto* out = static_cast<Output*>(message.msg_opaque());
  if (out == nullptr) {
    return;
  }
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    Log(LogLevel::kWarning, "kafka.delivery_failed", {{"topic", out->topic}, {"error", message.errstr()}});
    retry_.push_back(out);  // the input's offset cannot advance until this output is delivered
    return;
  }
  InFlight* in = out->parent;
  if (--in->pending > 0) {
    return;
  }
  if (std::optional<int64_t> next = tracker_.Ack(in->tp, in->offset)) {
    StoreOffset(in->tp, *next);
  }
  in_flight_.erase({in->tp, in->offset});
}

void Pipeline::StoreOffset(const TopicPartition& tp, int64_t next) {
  std::vector<RdKafka::TopicPartition*> tps{RdKafka::TopicPartition::create(tp.topic, tp.partition, next)};
  const RdKafka::ErrorCode err = consumer_->offsets_store(tps);
  if (err != RdKafka::ERR_NO_ERROR || tps[0]->err() != RdKafka::ERR_NO_ERROR) {
    // ERR__STATE: revoked meanwhile, not ours any more; the new owner re-decides (idempotent).
    Log(LogLevel::kDebug, "kafka.offset_store_skipped",
        {{"topic", tp.topic}, {"partition", absl::StrCat(tp.partition)}, {"error", RdKafka::err2str(tps[0]->err())}});
  }
  RdKafka::TopicPartition::destroy(tps);
}

void Pipeline::RetryFailedOutputs() {
  std::deque<Output*> again;
  again.swap(retry_);
  for (Output* out : again) {
    Produce(out);
  }
}

void Pipeline::DrainPartitions(const std::vector<TopicPartition>& tps, absl::Duration budget) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(budget);
  auto busy = [&] {
    for (const TopicPartition& tp : tps) {
      if (tracker_.InFlight(tp) > 0) {
        return true;
      }
    }
    return false;
  };
  while (busy() && std::chrono::steady_clock::now() < deadline) {
    RetryFailedOutputs();
    producer_->flush(50);
  }
}

void Pipeline::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                            std::vector<RdKafka::TopicPartition*>& partitions) {
  std::unique_ptr<RdKafka::Error> e;
  const std::vector<TopicPartition> tps = ToTps(partitions);
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    e.reset(consumer->incremental_assign(partitions));
    assigned_partitions_ += static_cast<int>(partitions.size());
  } else {
    // Store what is done before unassigning: auto-commit commits the stored offsets of revoked partitions.
    if (!consumer->assignment_lost()) {
      DrainPartitions(tps, absl::Seconds(5));
    }
    for (const TopicPartition& tp : tps) {
      tracker_.Forget(tp);
    }
    e.reset(consumer->incremental_unassign(partitions));
    assigned_partitions_ -= static_cast<int>(partitions.size());
  }
  Log(LogLevel::kInfo, err == RdKafka::ERR__ASSIGN_PARTITIONS ? "kafka.assigned" : "kafka.revoked",
      {{"partitions", absl::StrCat(partitions.size())}});
  if (e) {
    Log(LogLevel::kError, "kafka.rebalance_failed", {{"error", e->str()}});
  }
}

}  // namespace tact::pipeline
