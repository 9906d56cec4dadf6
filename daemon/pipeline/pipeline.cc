#include "daemon/pipeline/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <span>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/deferred_scheduler.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/input_worker.h"
#include "daemon/pipeline/kafka_clients.h"
#include "daemon/pipeline/kafka_stats.h"
#include "daemon/core/outage.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

const SystemClock kLogClock;  // the log limiter's intervals only
constexpr absl::Duration kLogInterval = absl::Seconds(10);

std::vector<TopicPartition> ToTps(const std::vector<RdKafka::TopicPartition*>& parts) {
  std::vector<TopicPartition> out;
  for (const RdKafka::TopicPartition* p : parts) {
    out.push_back({p->topic(), p->partition()});
  }
  return out;
}

constexpr int kTxnAttempts = 3;

// A transactional call, repeated while its error is retriable. nullptr = success.
std::unique_ptr<RdKafka::Error> TxnCall(const std::function<RdKafka::Error*()>& call) {
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<RdKafka::Error> e(call());
    if (e == nullptr || !e->is_retriable() || attempt == kTxnAttempts) {
      return e;
    }
    Log(LogLevel::kWarning, "kafka.txn_retry", {{"error", e->str()}, {"attempt", absl::StrCat(attempt)}});
  }
}

// A copy: Headers::get() returns Header objects by value, each owning a copy of its value, so a view into one
// dangles once the returned vector is gone (every message with a content-type header was read from freed memory).
std::string HeaderValue(const RdKafka::Headers* headers, const std::string& key) {
  if (headers == nullptr) {
    return {};
  }
  for (const RdKafka::Headers::Header& h : headers->get(key)) {
    if (h.value() != nullptr) {
      return std::string(static_cast<const char*>(h.value()), h.value_size());
    }
  }
  return {};
}

std::pair<std::string, int64_t> SmallestRouted(const PipelineOptions& o) {
  const std::string* smallest = &o.topics.released;
  for (const std::string* topic : {&o.topics.deferred, &o.topics.suppressed}) {
    if (o.limits.Limit(*topic) < o.limits.Limit(*smallest)) smallest = topic;
  }
  return {*smallest, o.limits.Limit(*smallest)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(PipelineOptions options,
                                                           decision::DecisionService& decider) {
  std::unique_ptr<Pipeline> p(new Pipeline(std::move(options), decider));
  const PipelineOptions& o = p->options_;

  KafkaSettings producer_extra = ProducerSizeSettings(o.limits);
  if (p->exactly_once()) {
    if (o.transactional_id.empty()) {
      return absl::InvalidArgumentError("exactly_once needs a transactional id");
    }
    producer_extra.emplace_back("transactional.id", o.transactional_id);
  }
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> made_producer =
      CreateProducer(o.brokers, o.client_id, o.kafka_security, p.get(), p.get(), producer_extra);
  if (!made_producer.ok()) return made_producer.status();
  p->producer_ = *std::move(made_producer);

  ConsumerSettings consumer_settings{.brokers = o.brokers,
                                     .client_id = o.client_id,
                                     .group_id = o.group_id,
                                     .session_timeout_ms = o.session_timeout_ms,
                                     // exactly_once: offsets are committed inside the producer's transactions.
                                     .auto_commit = !p->exactly_once(),
                                     .extra = {{"statistics.interval.ms", absl::StrCat(o.statistics_interval_ms)}},
                                     .security = o.kafka_security};
  if (!o.group_instance_id.empty()) consumer_settings.extra.emplace_back("group.instance.id", o.group_instance_id);
  absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> made_consumer =
      CreateConsumer(consumer_settings, p.get(), p.get());
  if (!made_consumer.ok()) return made_consumer.status();
  p->consumer_ = *std::move(made_consumer);
  if (p->exactly_once()) {
    // Fences an earlier producer with the same transactional.id and aborts its open transaction.
    RdKafka::Producer* producer = p->producer_.get();
    if (std::unique_ptr<RdKafka::Error> e = TxnCall([&] { return producer->init_transactions(60000); })) {
      return absl::UnavailableError(absl::StrCat("kafka init_transactions: ", e->str()));
    }
    Log(LogLevel::kInfo, "kafka.transactions_ready", {{"transactional_id", o.transactional_id}});
  }
  p->LearnOutputTopics();
  const RdKafka::ErrorCode sub = p->consumer_->subscribe({o.topics.outbound});
  if (sub != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka subscribe: ", RdKafka::err2str(sub)));
  }
  return p;
}

void Pipeline::LearnOutputTopics() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  const Topics& t = options_.topics;
  for (const std::string& name : {t.released, t.deferred, t.suppressed, t.decisions, t.dlq}) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer_.get(), name, nullptr, err));
    if (topic == nullptr) {
      Log(LogLevel::kWarning, "kafka.output_topic", {{"topic", name}, {"error", err}});
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode e =
        left.count() > 0 ? producer_->metadata(false, topic.get(), &raw, static_cast<int>(left.count()))
                         : RdKafka::ERR__TIMED_OUT;
    const std::unique_ptr<RdKafka::Metadata> md(raw);
    RdKafka::ErrorCode topic_error = e;
    if (e == RdKafka::ERR_NO_ERROR && md != nullptr) {
      for (const RdKafka::TopicMetadata* tm : *md->topics()) {
        if (tm->topic() == name) topic_error = tm->err();
      }
    }
    if (topic_error != RdKafka::ERR_NO_ERROR) {  // not fatal: the first produce asks again
      Log(LogLevel::kWarning, "kafka.output_topic", {{"topic", name}, {"error", RdKafka::err2str(topic_error)}});
    }
    output_topics_.push_back(std::move(topic));
  }
}

Pipeline::Pipeline(PipelineOptions options, decision::DecisionService& decider)
    : options_(std::move(options)),
      smallest_routed_(SmallestRouted(options_)),
      own_registry_(options_.stats == nullptr ? std::make_unique<prometheus::Registry>() : nullptr),
      own_stats_(own_registry_ ? std::make_unique<PipelineStats>(*own_registry_) : nullptr),
      stats_(options_.stats != nullptr ? *options_.stats : *own_stats_),
      decider_(decider),
      log_limiter_(kLogClock, kLogInterval) {}

Pipeline::~Pipeline() {
  consumer_.reset();  // the consumer first, then the producer (after its topic handles)
  output_topics_.clear();
  producer_.reset();
}

void Pipeline::Run() {
  Log(LogLevel::kInfo, "pipeline.started", {{"topic", options_.topics.outbound}, {"group", options_.group_id},
                                            {"batch_max_events", absl::StrCat(options_.batch_max_events)}});
  while (!stop_.load()) {
    producer_->poll(0);
    if (!exactly_once()) {
      RetryFailedOutputs();
      FlushOffsetStores();
    }
    if (outage_.active) {
      ServePaused();
    } else {
      // Overlap: while batch N is in the store, batch N+1 is collected, decoded and evaluated (its store call
      // waits for N's), and batch N-1's outputs are produced. A store outage in N stops N+1's store call, so it
      // never lets a later event of a customer be decided before an earlier one.
      bool collected = false;
      if (deciding_.size() < kDecidingDepth) {
        ConsumeBatch();  // only what is already fetched while a batch is deciding
        collected = !batch_.empty();
        if (collected) {
          StartDeciding(std::exchange(batch_, {}));
        }
      }
      if (!deciding_.empty() && (deciding_.size() == kDecidingDepth || !collected)) {
        Process(TakeDecided());
        if (outage_.active) {
          HoldDeciding();
        }
      }
    }
    stats_.kafka_in_flight.Set({}, static_cast<double>(in_flight_.size()));
    if (exactly_once() && TransactionDue()) {
      CommitTransaction();
    }
  }
  while (!deciding_.empty()) {
    Process(TakeDecided());  // decided already: produce it (or hold it, when the store failed)
    if (outage_.active) {
      HoldDeciding();
    }
  }
  if (exactly_once()) {
    CommitTransaction();  // what was decided is committed before the group is left
  }
  if (outage_.active) {
    // Undecided: their offsets were never stored, so they are redelivered after a restart.
    Log(LogLevel::kWarning, "pipeline.stopping_paused", {{"held", absl::StrCat(outage_.held.size())}});
    outage_.held.clear();
    stats_.pipeline_held_events.Set({}, 0);
  }
  // Shutdown: stop fetching, finish in-flight, flush, store, close (commits the stored offsets).
  Log(LogLevel::kInfo, "pipeline.draining", {{"in_flight", absl::StrCat(tracker_.InFlight())}});
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.drain_budget);
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
    RetryFailedOutputs();
    WaitForProducer(*producer_, retry_.NextDue(), 100);
  }
  FlushOffsetStores();
  if (!in_flight_.empty()) {
    Log(LogLevel::kWarning, "pipeline.drain_incomplete", {{"in_flight", absl::StrCat(in_flight_.size())}});
  }
  consumer_->close();
  Log(LogLevel::kInfo, "pipeline.stopped");
}

void Pipeline::ConsumeBatch() {
  const size_t max = static_cast<size_t>(std::max(1, options_.batch_max_events));
  // While a batch is being decided, take only what is already fetched: its results are waited for next.
  int timeout_ms = deciding_.empty() ? ConsumeTimeoutMs() : 0;
  std::chrono::steady_clock::time_point until;
  while (batch_.size() < max && !stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout_ms));  // may run rebalance_cb
    if (msg->err() == RdKafka::ERR_NO_ERROR) {
      stats_.kafka_consumed_total.Inc({options_.topics.outbound});
      if (batch_.empty()) {
        until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.batch_max_wait);
      }
      batch_.push_back(Decode(*msg));
    } else if (msg->err() == RdKafka::ERR__TIMED_OUT) {
      return;
    } else if (msg->err() != RdKafka::ERR__PARTITION_EOF) {
      stats_.kafka_consume_errors_total.Inc({});
      log_limiter_.Log(LogLevel::kWarning, "kafka.consume_error", RdKafka::err2str(msg->err()),
                       {{"error", msg->errstr()}});
      return;
    }
    if (batch_.empty()) {
      return;
    }
    timeout_ms = static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count()));
  }
}

Pipeline::Input Pipeline::Decode(RdKafka::Message& msg) const {
  Input in;
  in.tp = {msg.topic_name(), msg.partition()};
  in.offset = msg.offset();
  in.position = absl::StrCat(in.tp.topic, "[", in.tp.partition, "]@", msg.offset());
  if (const RdKafka::Headers* h = msg.headers(); h != nullptr) {
    for (const RdKafka::Headers::Header& hd : h->get_all()) {
      in.headers.emplace_back(hd.key(), hd.value() == nullptr
                                            ? std::string()
                                            : std::string(static_cast<const char*>(hd.value()), hd.value_size()));
    }
  }
  in.value.assign(static_cast<const char*>(msg.payload()), msg.len());
  if (msg.key() != nullptr) {
    in.key = *msg.key();
  }
  absl::StatusOr<v1::OutboundEvent> proto = DecodeOutboundEvent(in.value, HeaderValue(msg.headers(), "content-type"));
  in.undecodable = !proto.ok();
  in.event = proto.ok() ? EventFromProto(*proto) : absl::StatusOr<Event>(proto.status());
  if (in.event.ok()) {
    if (absl::Status s = CheckCreatedAt(*in.event, decider_.clock().Now()); !s.ok()) {
      in.event = s;  // the same rule as the gRPC API's
    }
  }
  if (in.event.ok()) {
    // Refused before deciding when its routed output could not be produced: nothing is reserved or recorded.
    const auto& [topic, limit] = smallest_routed_;
    const int64_t bytes = RecordWireSize(in.event->tenant.size() + 1 + in.event->customer_id.size(), in.value.size(),
                                         in.headers) +
                          kDecisionHeadersAllowance;
    if (bytes > limit) {
      in.too_large = true;
      in.event = absl::InvalidArgumentError(TooLargeReason(bytes, topic, limit));
    }
  }
  return in;
}

void Pipeline::StartDeciding(std::vector<Input> batch) {
  stats_.kafka_batches_total.Inc({});
  // Nothing deciding: every earlier batch was processed, what an outage left undecided is held (and retried).
  const auto follows = deciding_.empty() ? decision::BatchSequencer::Follows::kNothing
                                         : decision::BatchSequencer::Follows::kPrevious;
  Deciding& d = deciding_.emplace_back();  // a deque: the elements before it stay where the sequencer reads them
  d.batch = std::move(batch);
  d.request_of.assign(d.batch.size(), SIZE_MAX);
  for (size_t i = 0; i < d.batch.size(); ++i) {
    if (d.batch[i].event.ok()) {
      d.request_of[i] = d.requests.size();
      d.requests.push_back({.event = &*d.batch[i].event,
                            .options = {.source = "kafka", .source_position = d.batch[i].position}});
    }
  }
  // ONE store round-trip for the whole batch, off the pipeline thread, after the previous batch's.
  d.results = sequencer_.Submit(d.requests, follows);
}

Pipeline::Decided Pipeline::TakeDecided() {
  Deciding& d = deciding_.front();
  decision::DecidedBatch results = d.results.get();  // the sequencer is done with the batch
  Decided out{.batch = std::move(d.batch), .request_of = std::move(d.request_of), .results = std::move(results)};
  deciding_.pop_front();
  return out;
}

void Pipeline::HoldDeciding() {
  // Their decisions, if any were made, are not used: retried with the held inputs, a decided event is found by
  // its marker and gets the same decision.
  while (!deciding_.empty()) {
    for (Input& in : TakeDecided().batch) {
      if (!in.dropped) {
        outage_.held.push_back(std::move(in));
      }
    }
  }
  // Consumed after the held inputs: held behind them.
  outage_.held.insert(outage_.held.end(), std::make_move_iterator(batch_.begin()),
                      std::make_move_iterator(batch_.end()));
  batch_.clear();
  stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
}

void Pipeline::HandleBatch(std::vector<Input> batch) {
  StartDeciding(std::move(batch));
  Process(TakeDecided());
}

void Pipeline::Process(Decided done) {
  std::vector<Input>& batch = done.batch;
  const std::vector<size_t>& request_of = done.request_of;
  std::vector<absl::StatusOr<decision::Decided>>& decided = done.results;
  // Per partition, the first input the store outage left undecided: it and every later input of its partition
  // stay undecided (held), so a partition's outputs and stored offsets never pass an undecided input.
  std::map<TopicPartition, int64_t> first_undecided;
  std::string outage_reason;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (request_of[i] != SIZE_MAX && !batch[i].dropped && !decided[request_of[i]].ok() &&
        IsOutage(decided[request_of[i]].status())) {
      first_undecided.try_emplace(batch[i].tp, batch[i].offset);  // consume order: the first is the lowest
      if (outage_reason.empty()) {
        outage_reason = ops::StatusCodeLabel(decided[request_of[i]].status().code());
        // Once per outage at warning level; the retries while paused at debug level.
        Log(outage_.active ? LogLevel::kDebug : LogLevel::kWarning, "store.unavailable",
            {{"position", batch[i].position}, {"error", std::string(decided[request_of[i]].status().message())}});
      }
    }
  }
  std::vector<Input> held;
  for (size_t i = 0; i < batch.size(); ++i) {
    Input& in = batch[i];
    if (in.dropped) {
      continue;  // revoked or rewound meanwhile: redelivered from the committed offset (the store dedupes)
    }
    if (auto u = first_undecided.find(in.tp); u != first_undecided.end() && in.offset >= u->second) {
      held.push_back(std::move(in));
      continue;
    }
    if (exactly_once()) {
      BeginTransaction();
    }
    Emit(in, request_of[i] == SIZE_MAX ? nullptr : &decided[request_of[i]]);
  }
  if (!held.empty()) {
    stats_.store_retries_total.Inc({});
    if (!outage_.active) {
      outage_.held = std::move(held);
      Pause(outage_reason);
    } else {
      outage_.held.insert(outage_.held.end(), std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()));
    }
    stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
  } else if (outage_.active && outage_.held.empty()) {
    Resume("store available");
  }
}

void Pipeline::Emit(Input& in, const absl::StatusOr<decision::Decided>* decided) {
  auto flight = std::make_unique<InFlight>();
  flight->tp = in.tp;
  flight->offset = in.offset;

  auto dead_letter = [&](const std::string& reason) {
    auto out = std::make_unique<Output>();
    static_cast<OutputRecord&>(*out) =
        DeadLetterForm(OutputRecord{.key = std::move(in.key), .value = std::move(in.value), .headers = std::move(in.headers)},
                       reason, in.tp, in.offset, options_.topics.dlq, options_.limits);
    Log(LogLevel::kWarning, "pipeline.dead_letter",
        {{"position", in.position}, {"reason", reason}, {"stub", IsDeadLetterStub(*out) ? "true" : "false"}});
    flight->outputs.push_back(std::move(out));
  };

  if (!in.event.ok()) {
    stats_.dlq_total.Inc({in.too_large ? "too_large" : in.undecodable ? "undecodable" : "invalid"});
    dead_letter(std::string(in.event.status().message()));
  } else if (!decided->ok() && absl::IsInvalidArgument(decided->status())) {
    // Refused by the decision path (an event_id already used for a different message): an invalid event.
    stats_.dlq_total.Inc({"invalid"});
    dead_letter(std::string(decided->status().message()));
  } else if (!decided->ok()) {
    stats_.dlq_total.Inc({"decision_failed"});
    dead_letter(absl::StrCat("decision failed: ", decided->status().message()));
  } else {
    const Event& event = *in.event;
    const v1::Decision& d = (*decided)->decision;
    auto routed = std::make_unique<Output>();
    switch (d.decision()) {
      case v1::RELEASE: routed->topic = options_.topics.released; break;
      case v1::DEFER: routed->topic = options_.topics.deferred; break;
      default: routed->topic = options_.topics.suppressed; break;
    }
    routed->key = absl::StrCat(event.tenant, ":", event.customer_id);
    routed->value = std::move(in.value);
    routed->headers = std::move(in.headers);
    routed->headers.emplace_back("tact-decision", std::string(decision::DecisionName(d.decision())));
    routed->headers.emplace_back("tact-rule", d.rule_id());
    routed->headers.emplace_back("tact-policy-version", d.policy_version());
    if (d.decision() == v1::DEFER) {  // the deferred scheduler's due time (README "Deferred delivery")
      AddDeferralHeaders(routed->headers, d, TimeFromProto((*decided)->record.decided_at()));
    }
    flight->outputs.push_back(std::move(routed));

    auto record = std::make_unique<Output>();
    record->topic = options_.topics.decisions;
    record->key = (*decided)->record.customer_hash();
    record->value = EncodeDecisionRecord((*decided)->record);
    record->headers.emplace_back("content-type", "application/json");
    flight->outputs.push_back(std::move(record));
  }

  if (exactly_once()) {
    txn_.next_offsets[in.tp] = in.offset + 1;
    ++txn_.events;
  }
  tracker_.Begin(in.tp, in.offset);
  InFlight* raw = flight.get();
  raw->pending = static_cast<int>(raw->outputs.size());
  in_flight_[{in.tp, in.offset}] = std::move(flight);
  for (auto& out : raw->outputs) {
    out->parent = raw;
    Produce(out.get());
  }
}

void Pipeline::Pause(const std::string& reason) {
  std::vector<RdKafka::TopicPartition*> parts;
  consumer_->assignment(parts);
  if (RdKafka::ErrorCode err = consumer_->pause(parts); err != RdKafka::ERR_NO_ERROR) {
    Log(LogLevel::kError, "kafka.pause_failed", {{"error", RdKafka::err2str(err)}});
  }
  const auto now = std::chrono::steady_clock::now();
  outage_.active = true;
  outage_.reason = reason;
  outage_.since = now;
  outage_.backoff = options_.outage_backoff_min;
  outage_.next_try = now + absl::ToChronoNanoseconds(outage_.backoff);
  outage_.attempts = 0;
  stats_.pipeline_pauses_total.Inc({reason});
  stats_.pipeline_store_waiting.Set({}, 1);
  stats_.kafka_paused_partitions.Set({}, static_cast<double>(parts.size()));
  Log(LogLevel::kWarning, "pipeline.paused", {{"reason", std::string("store ") + reason},
                                              {"partitions", absl::StrCat(parts.size())},
                                              {"held", absl::StrCat(outage_.held.size())}});
  RdKafka::TopicPartition::destroy(parts);
}

void Pipeline::Resume(const std::string& why) {
  std::vector<RdKafka::TopicPartition*> parts;
  consumer_->assignment(parts);
  if (RdKafka::ErrorCode err = consumer_->resume(parts); err != RdKafka::ERR_NO_ERROR) {
    Log(LogLevel::kError, "kafka.resume_failed", {{"error", RdKafka::err2str(err)}});
  }
  const auto paused_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - outage_.since).count();
  Log(LogLevel::kInfo, "pipeline.resumed", {{"reason", why}, {"partitions", absl::StrCat(parts.size())},
                                            {"paused_ms", absl::StrCat(paused_ms)},
                                            {"retries", absl::StrCat(outage_.attempts)}});
  RdKafka::TopicPartition::destroy(parts);
  outage_ = Outage{};
  stats_.pipeline_store_waiting.Set({}, 0);
  stats_.kafka_paused_partitions.Set({}, 0);
  stats_.pipeline_held_events.Set({}, 0);
}

void Pipeline::ServePaused() {
  // Heartbeats, rebalances and statistics are served by consume(); the partitions are paused, so a message
  // here was fetched before the pause took effect: it follows every held input of its partition.
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(outage_.next_try -
                                                                          std::chrono::steady_clock::now());
  std::unique_ptr<RdKafka::Message> msg(consumer_->consume(static_cast<int>(std::clamp<int64_t>(
      wait.count(), 0, std::min(100, ConsumeTimeoutMs())))));
  if (msg->err() == RdKafka::ERR_NO_ERROR) {
    stats_.kafka_consumed_total.Inc({options_.topics.outbound});
    outage_.held.push_back(Decode(*msg));
    stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
  }
  if (outage_.held.empty()) {  // a rebalance or an abort dropped them: the next batch probes the store
    Resume("held inputs dropped");
    return;
  }
  if (std::chrono::steady_clock::now() < outage_.next_try || stop_.load()) {
    return;
  }
  ++outage_.attempts;
  outage_.backoff = std::min(outage_.backoff * 2, options_.outage_backoff_max);
  outage_.next_try = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(outage_.backoff);
  HandleBatch(std::exchange(outage_.held, {}));  // the probe: decided → resumed; still failing → held again
}

void Pipeline::FlushOffsetStores() {
  if (to_store_.empty()) {
    return;
  }
  std::vector<RdKafka::TopicPartition*> tps;
  for (const auto& [tp, next] : to_store_) {
    tps.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, next));
  }
  to_store_.clear();
  const RdKafka::ErrorCode err = consumer_->offsets_store(tps);
  for (const RdKafka::TopicPartition* p : tps) {
    if (err != RdKafka::ERR_NO_ERROR || p->err() != RdKafka::ERR_NO_ERROR) {
      // ERR__STATE: revoked meanwhile, not ours any more; the new owner re-decides (idempotent).
      Log(LogLevel::kDebug, "kafka.offset_store_skipped",
          {{"topic", p->topic()}, {"partition", absl::StrCat(p->partition())}, {"error", RdKafka::err2str(p->err())}});
    }
  }
  RdKafka::TopicPartition::destroy(tps);
}

void Pipeline::Produce(Output* out) {
  const InFlight& in = *out->parent;
  if (!options_.limits.Fits(*out)) {
    (void)DeadLetterTooLarge(out, options_.limits.Limit(out->topic), RdKafka::ERR_MSG_SIZE_TOO_LARGE);
  } else if (exactly_once() && too_large_on_redo_.contains({in.tp, in.offset, out->topic})) {
    (void)DeadLetterTooLarge(out, 0, RdKafka::ERR_MSG_SIZE_TOO_LARGE);  // refused by the broker before the abort
  }
  for (;;) {
    const RdKafka::ErrorCode err = ProduceCopy(*producer_, out->topic, out->key, out->value, out->headers, out);
    if (err == RdKafka::ERR_NO_ERROR) {
      return;
    }
    stats_.kafka_errors_total.Inc({"produce"});
    if (IsTooLarge(err) && DeadLetterTooLarge(out, 0, err)) {
      continue;  // nothing was queued: its tact.dlq form goes in the same place (and transaction)
    }
    ++out->attempts;
    log_limiter_.Log(LogLevel::kError, "kafka.produce_failed", absl::StrCat(out->topic, " ", RdKafka::err2str(err)),
                     {{"topic", out->topic}, {"error", RdKafka::err2str(err)}, {"attempt", absl::StrCat(out->attempts)}});
    if (exactly_once()) {
      txn_.failed = true;  // the transaction cannot commit without this output: abort and redo it
      return;
    }
    retry_.Push(out, out->attempts, std::chrono::steady_clock::now());
    return;
  }
}

bool Pipeline::DeadLetterTooLarge(Output* out, int64_t limit, RdKafka::ErrorCode err) {
  const std::string topic = out->topic;
  const std::optional<int64_t> bytes = RewriteTooLarge(*out, limit, out->parent->tp, out->parent->offset,
                                                       options_.topics.dlq, options_.limits);
  if (!bytes) {
    return false;  // a stub already: retried with backoff
  }
  if (topic != options_.topics.dlq) {
    stats_.dlq_total.Inc({"too_large"});
  }
  log_limiter_.Log(LogLevel::kWarning, "kafka.output_too_large", topic,
                   {{"topic", topic}, {"position", Position(out->parent->tp, out->parent->offset)},
                    {"bytes", absl::StrCat(*bytes)}, {"error", RdKafka::err2str(err)},
                    {"stub", IsDeadLetterStub(*out) ? "true" : "false"}});
  return true;
}

void Pipeline::dr_cb(RdKafka::Message& message) {
  auto* out = static_cast<Output*>(message.msg_opaque());
  if (out == nullptr) {
    return;
  }
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    stats_.kafka_delivery_failures_total.Inc({out->topic});
    stats_.kafka_errors_total.Inc({"delivery"});
    if (exactly_once()) {
      // Aborted and redone as a whole; purged outputs of an abort also land here. A record the broker refused as
      // too large is sent in its tact.dlq form by the redo.
      if (IsTooLarge(message.err()) && !IsDeadLetterStub(*out)) {
        too_large_on_redo_.insert({out->parent->tp, out->parent->offset, out->topic});
      }
      log_limiter_.Log(LogLevel::kWarning, "kafka.delivery_failed", absl::StrCat(out->topic, " ", message.errstr()),
                       {{"topic", out->topic}, {"error", message.errstr()}});
      txn_.failed = true;
      return;
    }
    if (IsTooLarge(message.err()) && DeadLetterTooLarge(out, 0, message.err())) {
      retry_.PushNow(out, std::chrono::steady_clock::now());  // produced by RetryFailedOutputs, outside poll()
      return;
    }
    ++out->attempts;
    log_limiter_.Log(LogLevel::kWarning, "kafka.delivery_failed", absl::StrCat(out->topic, " ", message.errstr()),
                     {{"topic", out->topic}, {"error", message.errstr()}, {"attempt", absl::StrCat(out->attempts)}});
    // The input's offset cannot advance until this output is delivered: retried with backoff.
    retry_.Push(out, out->attempts, std::chrono::steady_clock::now());
    return;
  }
  stats_.kafka_produced_total.Inc({out->topic});
  InFlight* in = out->parent;
  if (--in->pending > 0) {
    return;
  }
  if (std::optional<int64_t> next = tracker_.Ack(in->tp, in->offset); next && !exactly_once()) {
    to_store_[in->tp] = *next;  // stored by FlushOffsetStores, once per loop turn for all partitions
  }
  if (!too_large_on_redo_.empty()) {
    std::erase_if(too_large_on_redo_, [&](const auto& k) { return std::get<0>(k) == in->tp && std::get<1>(k) == in->offset; });
  }
  in_flight_.erase({in->tp, in->offset});
}

void Pipeline::RetryFailedOutputs() {
  for (Output* out : retry_.PopDue(std::chrono::steady_clock::now())) {
    Produce(out);
  }
}

void Pipeline::DropUndecided(const std::vector<TopicPartition>& tps) {
  auto revoked = [&](const Input& in) { return std::find(tps.begin(), tps.end(), in.tp) != tps.end(); };
  std::erase_if(batch_, revoked);
  for (Deciding& d : deciding_) {
    for (Input& in : d.batch) {
      in.dropped |= revoked(in);  // the worker reads only `event`; erasing would move it under the worker
    }
  }
  const size_t held = outage_.held.size();
  std::erase_if(outage_.held, revoked);
  if (held != outage_.held.size()) {
    Log(LogLevel::kInfo, "pipeline.held_dropped", {{"events", absl::StrCat(held - outage_.held.size())}});
    stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
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
    WaitForProducer(*producer_, retry_.NextDue(), 50);
  }
}

void Pipeline::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                            std::vector<RdKafka::TopicPartition*>& partitions) {
  std::unique_ptr<RdKafka::Error> e;
  const std::vector<TopicPartition> tps = ToTps(partitions);
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    e.reset(consumer->incremental_assign(partitions));
    assigned_partitions_ += static_cast<int>(partitions.size());
    group_joined_.store(true);
    if (outage_.active) {  // the store is still down: new partitions start paused too
      if (RdKafka::ErrorCode p = consumer->pause(partitions); p != RdKafka::ERR_NO_ERROR) {
        Log(LogLevel::kError, "kafka.pause_failed", {{"error", RdKafka::err2str(p)}});
      }
    }
  } else if (exactly_once()) {
    DropUndecided(tps);
    // Commit what was decided while the partitions are still ours; a lost assignment can no longer commit.
    if (consumer->assignment_lost()) {
      AbortTransaction("assignment lost");
    } else {
      CommitTransaction();
    }
    for (const TopicPartition& tp : tps) {
      tracker_.Forget(tp);
    }
    e.reset(consumer->incremental_unassign(partitions));
    assigned_partitions_ -= static_cast<int>(partitions.size());
  } else {
    // Store what is done, then commit it synchronously before unassigning: the next owner starts from the
    // committed offset, so a clean handoff redelivers nothing (auto-commit alone would race the new owner).
    DropUndecided(tps);
    if (!consumer->assignment_lost()) {
      DrainPartitions(tps, absl::Seconds(5));
      FlushOffsetStores();
      const RdKafka::ErrorCode c = consumer->commitSync();
      if (c != RdKafka::ERR_NO_ERROR && c != RdKafka::ERR__NO_OFFSET) {
        Log(LogLevel::kWarning, "kafka.revoke_commit_failed", {{"error", RdKafka::err2str(c)}});
      }
    }
    for (const TopicPartition& tp : tps) {
      tracker_.Forget(tp);
      to_store_.erase(tp);
    }
    e.reset(consumer->incremental_unassign(partitions));
    assigned_partitions_ -= static_cast<int>(partitions.size());
  }
  if (outage_.active) {
    stats_.kafka_paused_partitions.Set({}, assigned_partitions_.load());
  }
  if (err != RdKafka::ERR__ASSIGN_PARTITIONS) {
    for (const TopicPartition& tp : tps) {
      stats_.kafka_consumer_lag.Remove({tp.topic, absl::StrCat(tp.partition)});
      lag_series_.erase({tp.topic, tp.partition});
    }
  }
  stats_.kafka_assigned_partitions.Set({}, assigned_partitions_.load());
  Log(LogLevel::kInfo, err == RdKafka::ERR__ASSIGN_PARTITIONS ? "kafka.assigned" : "kafka.revoked",
      {{"partitions", absl::StrCat(partitions.size())}});
  if (e) {
    Log(LogLevel::kError, "kafka.rebalance_failed", {{"error", e->str()}});
  }
}

int Pipeline::ConsumeTimeoutMs() const {
  constexpr int kIdlePollMs = 100;
  if (!txn_.open) {
    return kIdlePollMs;
  }
  const auto left = txn_.begun + absl::ToChronoNanoseconds(options_.transaction_max_age) -
                    std::chrono::steady_clock::now();
  return static_cast<int>(std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(left).count(), 0, kIdlePollMs));
}

void Pipeline::BeginTransaction() {
  if (txn_.open) {
    return;
  }
  if (std::unique_ptr<RdKafka::Error> e(producer_->begin_transaction()); e != nullptr) {
    TransactionFatal("begin_transaction", *e);  // only a fenced or misused producer fails here
  }
  txn_.open = true;
  txn_.begun = std::chrono::steady_clock::now();
}

bool Pipeline::TransactionDue() const {
  return txn_.open && (txn_.failed || txn_.events >= options_.transaction_max_events ||
                       std::chrono::steady_clock::now() - txn_.begun >=
                           absl::ToChronoNanoseconds(options_.transaction_max_age));
}

void Pipeline::CommitTransaction() {
  if (!txn_.open) {
    return;
  }
  if (txn_.failed) {
    AbortTransaction("an output failed");
    return;
  }
  std::unique_ptr<RdKafka::Error> e;
  if (!txn_.next_offsets.empty()) {
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, next] : txn_.next_offsets) {
      offsets.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, next));
    }
    std::unique_ptr<RdKafka::ConsumerGroupMetadata> group(consumer_->groupMetadata());
    e = TxnCall([&] { return producer_->send_offsets_to_transaction(offsets, group.get(), -1); });
    RdKafka::TopicPartition::destroy(offsets);
  }
  if (e == nullptr) {
    e = TxnCall([&] { return producer_->commit_transaction(-1); });  // flushes: every dr_cb has run
  }
  if (e == nullptr && !txn_.failed) {
    Log(LogLevel::kDebug, "kafka.txn_committed", {{"events", absl::StrCat(txn_.events)}});
    txn_ = Transaction{};
    return;
  }
  if (e != nullptr && e->is_fatal()) {
    TransactionFatal("commit_transaction", *e);
  }
  AbortTransaction(e != nullptr ? e->str() : "an output failed");
}

void Pipeline::AbortTransaction(const std::string& why) {
  if (!txn_.open) {
    return;
  }
  Log(LogLevel::kWarning, "kafka.txn_aborting", {{"reason", why}, {"events", absl::StrCat(txn_.events)}});
  if (std::unique_ptr<RdKafka::Error> e = TxnCall([&] { return producer_->abort_transaction(-1); })) {
    TransactionFatal("abort_transaction", *e);
  }
  // The abort purged what was still queued; serve those delivery reports before freeing their outputs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (producer_->outq_len() > 0 && std::chrono::steady_clock::now() < deadline) {
    producer_->poll(10);
  }
  in_flight_.clear();
  retry_.clear();
  // Rewind each input partition of the transaction to its committed offset: its inputs are decided again
  // (the store returns the earlier decisions, so nothing is counted twice) in the next transaction.
  std::vector<RdKafka::TopicPartition*> parts;
  std::vector<TopicPartition> rewound;
  for (const auto& [tp, next] : txn_.next_offsets) {
    rewound.push_back(tp);
  }
  DropUndecided(rewound);  // fetched again from the committed offset
  for (const auto& [tp, next] : txn_.next_offsets) {
    tracker_.Forget(tp);
    parts.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
  }
  if (!parts.empty() && consumer_->committed(parts, 10000) == RdKafka::ERR_NO_ERROR) {
    for (RdKafka::TopicPartition* p : parts) {
      if (p->err() != RdKafka::ERR_NO_ERROR) {
        continue;
      }
      if (p->offset() < 0) {
        p->set_offset(RdKafka::Topic::OFFSET_BEGINNING);  // nothing committed yet: auto.offset.reset=earliest
      }
      if (const RdKafka::ErrorCode err = consumer_->seek(*p, 10000); err != RdKafka::ERR_NO_ERROR) {
        Log(LogLevel::kWarning, "kafka.rewind_failed",
            {{"topic", p->topic()}, {"partition", absl::StrCat(p->partition())}, {"error", RdKafka::err2str(err)}});
      }
    }
  } else if (!parts.empty()) {
    Log(LogLevel::kError, "kafka.rewind_failed", {{"error", "committed offsets unavailable"}});
  }
  RdKafka::TopicPartition::destroy(parts);
  txn_ = Transaction{};
}

void Pipeline::TransactionFatal(const std::string& what, const RdKafka::Error& error) {
  // Fenced (another instance took this transactional.id) or the producer is in a fatal state: nothing this
  // instance still has may be committed. Stop hard; a restart fences and aborts what was open.
  Log(LogLevel::kError, "kafka.txn_fatal", {{"call", what}, {"error", error.str()}});
  std::abort();
}

void Pipeline::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_STATS:
      OnStatistics(event.str());
      break;
    case RdKafka::Event::EVENT_ERROR:
      stats_.kafka_errors_total.Inc({"client"});
      if (LogKafkaSecurityFailure(event.err(), event.str())) break;  // once per process, with what to check
      log_limiter_.Log(event.fatal() ? LogLevel::kError : LogLevel::kWarning, "kafka.error",
                       RdKafka::err2str(event.err()),
                       {{"code", RdKafka::err2str(event.err())}, {"error", event.str()},
                        {"fatal", event.fatal() ? "true" : "false"}});
      break;
    case RdKafka::Event::EVENT_LOG:
      LogKafkaLine(event);
      break;
    default:
      break;
  }
}

void Pipeline::OnStatistics(const std::string& json) {
  absl::StatusOr<ConsumerStats> parsed = ParseConsumerStats(json);
  if (!parsed.ok()) {
    return;  // the producer's statistics are off; anything else unparsable is librdkafka's bug, not an outage
  }
  Log(LogLevel::kDebug, "kafka.statistics", {{"group_state", parsed->group_state}, {"join_state", parsed->join_state},
                                             {"partitions_with_lag", absl::StrCat(parsed->lags.size())}});
  if (parsed->Joined()) {
    group_joined_.store(true);
  }
  std::set<std::pair<std::string, int32_t>> seen;
  for (const PartitionLag& l : parsed->lags) {
    if (l.topic != options_.topics.outbound) {
      continue;
    }
    stats_.kafka_consumer_lag.Set({l.topic, absl::StrCat(l.partition)}, static_cast<double>(l.lag));
    seen.insert({l.topic, l.partition});
  }
  for (const auto& [topic, partition] : lag_series_) {
    if (!seen.contains({topic, partition})) {
      stats_.kafka_consumer_lag.Remove({topic, absl::StrCat(partition)});
    }
  }
  lag_series_ = std::move(seen);
}

}  // namespace tact::pipeline
