#include "daemon/pipeline/pipeline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/commit_strategies.h"
#include "daemon/pipeline/kafka_clients.h"
#include "daemon/pipeline/kafka_stats.h"
#include "daemon/core/outage.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

const SystemClock kSystemClock;  // log intervals, the outage backoff, transaction ages
constexpr absl::Duration kLogInterval = absl::Seconds(10);

std::vector<TopicPartition> ToTps(const std::vector<RdKafka::TopicPartition*>& parts) {
  std::vector<TopicPartition> out;
  for (const RdKafka::TopicPartition* p : parts) {
    out.push_back({p->topic(), p->partition()});
  }
  return out;
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

  KafkaSettings producer_extra;
  if (p->exactly_once()) {
    if (o.transactional_id.empty()) {
      return absl::InvalidArgumentError("exactly_once needs a transactional id");
    }
    producer_extra.emplace_back("transactional.id", o.transactional_id);
  }
  if (absl::Status s = p->engine_.Init(o.brokers, o.client_id, o.kafka_security, p.get(), producer_extra); !s.ok()) {
    return s;
  }
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
  if (absl::Status s = p->MakeCommit(); !s.ok()) {
    return s;
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
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(&engine_.producer(), name, nullptr, err));
    if (topic == nullptr) {
      Log(LogLevel::kWarning, "kafka.output_topic", {{"topic", name}, {"error", err}});
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode e =
        left.count() > 0 ? engine_.producer().metadata(false, topic.get(), &raw, static_cast<int>(left.count()))
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
      router_(options_.topics),
      engine_({.dlq_topic = options_.topics.dlq, .limits = options_.limits}, *this),
      log_limiter_(kSystemClock, kLogInterval),
      outage_{.gate = OutageGate(options_.outage_backoff_min, options_.outage_backoff_max, kSystemClock)} {}

Pipeline::~Pipeline() {
  commit_.reset();
  consumer_.reset();  // the consumer first, then the producer (engine_, after its topic handles)
  output_topics_.clear();
}

absl::Status Pipeline::MakeCommit() {
  if (!exactly_once()) {
    commit_ = std::make_unique<AtLeastOnceCommit>(engine_, *consumer_, options_.topics.outbound);
    engine_.SetCommit(commit_.get());
    return absl::OkStatus();
  }
  auto txn = std::make_unique<TransactionalCommit>(
      engine_, *consumer_,
      TransactionOptions{.transactional_id = options_.transactional_id,
                         .max_events = options_.transaction_max_events,
                         .max_age = options_.transaction_max_age},
      [this](const std::vector<TopicPartition>& tps) { DropUndecided(tps); }, kSystemClock);
  absl::Status s = txn->Init();
  commit_ = std::move(txn);
  engine_.SetCommit(commit_.get());
  return s;
}

void Pipeline::Run() {
  Log(LogLevel::kInfo, "pipeline.started", {{"topic", options_.topics.outbound}, {"group", options_.group_id},
                                            {"batch_max_events", absl::StrCat(options_.batch_max_events)}});
  while (!stop_.load()) {
    engine_.producer().poll(0);
    engine_.RetryDue();
    if (outage_.active()) {
      ServePaused();
    } else {
      Advance();
    }
    stats_.kafka_in_flight.Set({}, static_cast<double>(engine_.ledger().InFlight()));
    commit_->Tick();  // stores the offsets done, or commits a transaction that is due
  }
  Shutdown();
}

void Pipeline::Advance() {
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
    if (outage_.active()) {
      HoldDeciding();
    }
  }
}

void Pipeline::Shutdown() {
  while (!deciding_.empty()) {
    Process(TakeDecided());  // decided already: produce it (or hold it, when the store failed)
    if (outage_.active()) {
      HoldDeciding();
    }
  }
  commit_->Finish();  // what was decided is committed before the group is left
  if (outage_.active()) {
    // Undecided: their offsets were never stored, so they are redelivered after a restart.
    Log(LogLevel::kWarning, "pipeline.stopping_paused", {{"held", absl::StrCat(outage_.held.size())}});
    outage_.held.clear();
    stats_.pipeline_held_events.Set({}, 0);
  }
  // Stop fetching, finish in-flight, flush, store, close (commits the stored offsets).
  Log(LogLevel::kInfo, "pipeline.draining", {{"in_flight", absl::StrCat(engine_.ledger().Unfinished())}});
  const bool drained = engine_.Drain(nullptr, options_.drain_budget, 100);
  commit_->Tick();
  if (!drained) {
    Log(LogLevel::kWarning, "pipeline.drain_incomplete", {{"in_flight", absl::StrCat(engine_.ledger().InFlight())}});
  }
  consumer_->close();
  Log(LogLevel::kInfo, "pipeline.stopped");
}

void Pipeline::HandleBatch(std::vector<Input> batch) {
  StartDeciding(std::move(batch));
  Process(TakeDecided());
}

void Pipeline::Process(DecidedInputs done) {
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
        Log(outage_.active() ? LogLevel::kDebug : LogLevel::kWarning, "store.unavailable",
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
    Emit(in, request_of[i] == SIZE_MAX ? nullptr : &decided[request_of[i]]);
  }
  if (!held.empty()) {
    stats_.store_retries_total.Inc({});
    if (!outage_.active()) {
      outage_.held = std::move(held);
      Pause(outage_reason);
    } else {
      outage_.held.insert(outage_.held.end(), std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()));
    }
    stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
  } else if (outage_.active() && outage_.held.empty()) {
    Resume("store available");
  }
}

void Pipeline::Emit(Input& in, const absl::StatusOr<decision::Decided>* decided) {
  std::vector<OutputRecord> outputs;
  auto dead_letter = [&](const std::string& reason) {
    OutputRecord out =
        DeadLetterForm(OutputRecord{.key = std::move(in.key), .value = std::move(in.value), .headers = std::move(in.headers)},
                       reason, in.tp, in.offset, options_.topics.dlq, options_.limits);
    Log(LogLevel::kWarning, "pipeline.dead_letter",
        {{"position", in.position}, {"reason", reason}, {"stub", IsDeadLetterStub(out) ? "true" : "false"}});
    outputs.push_back(std::move(out));
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
    outputs = router_.Route((*decided)->decision(), (*decided)->record(), absl::StrCat(event.tenant, ":", event.customer_id),
                            std::move(in.value), std::move(in.headers));
  }
  engine_.Begin(in.tp, in.offset);
  engine_.Complete(in.tp, in.offset, std::move(outputs));
}

void Pipeline::Pause(const std::string& reason) {
  std::vector<RdKafka::TopicPartition*> parts;
  consumer_->assignment(parts);
  if (RdKafka::ErrorCode err = consumer_->pause(parts); err != RdKafka::ERR_NO_ERROR) {
    Log(LogLevel::kError, "kafka.pause_failed", {{"error", RdKafka::err2str(err)}});
  }
  outage_.gate.Pause(reason);
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
  const OutageGate::Summary outage = outage_.gate.Resume();
  Log(LogLevel::kInfo, "pipeline.resumed", {{"reason", why}, {"partitions", absl::StrCat(parts.size())},
                                            {"paused_ms", absl::StrCat(absl::ToInt64Milliseconds(outage.paused))},
                                            {"retries", absl::StrCat(outage.probes)}});
  RdKafka::TopicPartition::destroy(parts);
  outage_.held.clear();
  stats_.pipeline_store_waiting.Set({}, 0);
  stats_.kafka_paused_partitions.Set({}, 0);
  stats_.pipeline_held_events.Set({}, 0);
}

void Pipeline::ServePaused() {
  // Heartbeats, rebalances and statistics are served by consume(); the partitions are paused, so a message
  // here was fetched before the pause took effect: it follows every held input of its partition.
  std::unique_ptr<RdKafka::Message> msg(consumer_->consume(outage_.gate.WaitMs(std::min(100, ConsumeTimeoutMs()))));
  if (msg->err() == RdKafka::ERR_NO_ERROR) {
    stats_.kafka_consumed_total.Inc({options_.topics.outbound});
    outage_.held.push_back(Decode(*msg));
    stats_.pipeline_held_events.Set({}, static_cast<double>(outage_.held.size()));
  }
  if (outage_.held.empty()) {  // a rebalance or an abort dropped them: the next batch probes the store
    Resume("held inputs dropped");
    return;
  }
  if (stop_.load() || !outage_.gate.ProbeDue()) {
    return;
  }
  HandleBatch(std::exchange(outage_.held, {}));  // the probe: decided → resumed; still failing → held again
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

void Pipeline::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                            std::vector<RdKafka::TopicPartition*>& partitions) {
  std::unique_ptr<RdKafka::Error> e;
  const std::vector<TopicPartition> tps = ToTps(partitions);
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    e.reset(consumer->incremental_assign(partitions));
    assigned_partitions_ += static_cast<int>(partitions.size());
    group_joined_.store(true);
    if (outage_.active()) {  // the store is still down: new partitions start paused too
      if (RdKafka::ErrorCode p = consumer->pause(partitions); p != RdKafka::ERR_NO_ERROR) {
        Log(LogLevel::kError, "kafka.pause_failed", {{"error", RdKafka::err2str(p)}});
      }
    }
  } else {
    DropUndecided(tps);
    commit_->Revoke(tps, consumer->assignment_lost());
    e.reset(consumer->incremental_unassign(partitions));
    assigned_partitions_ -= static_cast<int>(partitions.size());
  }
  if (outage_.active()) {
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

void Pipeline::OnProduced(const std::string& topic) {
  auto [it, added] = produced_.try_emplace(topic, nullptr);
  if (added) it->second = &stats_.kafka_produced_total.With({topic});
  it->second->Increment();
}

void Pipeline::OnDeliveryFailed(const std::string& topic) {
  stats_.kafka_delivery_failures_total.Inc({topic});
  stats_.kafka_errors_total.Inc({"delivery"});
}

void Pipeline::OnTooLarge(const std::string& topic) {
  if (topic != options_.topics.dlq) {
    stats_.dlq_total.Inc({"too_large"});
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
