#include "daemon/pipeline/deferred_scheduler.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

// The decision headers of a routed output; a re-injected event carries none of them into its next decision.
constexpr std::string_view kDecisionHeaders[] = {"tact-decision",    "tact-rule",       "tact-policy-version",
                                                 kDeferUntilHeader,  kDecidedAtHeader,  kDeferralsHeader,
                                                 kFirstDeferredAtHeader};

bool IsDecisionHeader(std::string_view key) {
  return std::find(std::begin(kDecisionHeaders), std::end(kDecisionHeaders), key) != std::end(kDecisionHeaders);
}

HeaderList WithoutDecisionHeaders(const HeaderList& headers) {
  HeaderList out;
  for (const auto& kv : headers) {
    if (!IsDecisionHeader(kv.first)) {
      out.push_back(kv);
    }
  }
  return out;
}

std::string HeaderOr(const HeaderList& headers, std::string_view key, std::string fallback) {
  const std::string* v = FindHeader(headers, key);
  return v != nullptr ? *v : fallback;
}

absl::Time TimeHeader(const HeaderList& headers, std::string_view key, absl::Time fallback) {
  absl::Time t;
  const std::string* v = FindHeader(headers, key);
  return v != nullptr && ParseHeaderTime(*v, &t) ? t : fallback;
}

}  // namespace

std::string FormatHeaderTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

bool ParseHeaderTime(std::string_view text, absl::Time* out) {
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, std::string(text), out, &err);
}

MaxAges DefaultMaxAges() {
  return {{v1::PROMOTION, absl::Hours(24)},
          {v1::PROACTIVE_SERVICE, absl::Hours(48)},
          {v1::SERVICE, absl::Hours(72)},
          {v1::TRANSACTIONAL, absl::Hours(72)}};
}

void AddDeferralHeaders(HeaderList& headers, const v1::Decision& decision, absl::Time decided_at) {
  if (decision.has_defer_until()) {
    headers.emplace_back(kDeferUntilHeader, FormatHeaderTime(TimeFromProto(decision.defer_until())));
  }
  headers.emplace_back(kDecidedAtHeader, FormatHeaderTime(decided_at));
}

DeferredTiming TimeDeferred(const HeaderList& headers, absl::Time created_at, MessageClass message_class,
                            absl::Time now, const DeferredSchedulerOptions& options) {
  DeferredTiming t;
  int before = 0;
  if (const std::string* v = FindHeader(headers, kDeferralsHeader); v != nullptr) {
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), before);
    if (ec != std::errc() || before < 0) {
      before = 0;
    }
  }
  t.deferrals = before + 1;
  const absl::Time decided_at = TimeHeader(headers, kDecidedAtHeader, now);
  t.first_deferred = TimeHeader(headers, kFirstDeferredAtHeader, decided_at);
  const absl::Time until = TimeHeader(headers, kDeferUntilHeader, decided_at + options.retry_interval);
  t.due = std::max(until, decided_at + options.min_delay);
  const absl::Time origin = created_at != absl::InfinitePast() ? created_at : t.first_deferred;
  auto limit = options.max_age.find(message_class);
  t.stale_at = origin + (limit != options.max_age.end() ? limit->second : options.default_max_age);
  return t;
}

bool DeferredQueue::Add(std::unique_ptr<DeferredRecord> record) {
  const std::string& id = record->event.event_id;
  if (auto done = acted_.find(id); done != acted_.end() && done->second >= record->timing.deferrals) {
    return false;
  }
  auto& [max_deferrals, count] = latest_[id];
  max_deferrals = std::max(max_deferrals, record->timing.deferrals);
  ++count;
  const absl::Time at = record->timing.act_at();
  held_.emplace(at, std::move(record));  // after equal keys: copies act in arrival order
  return true;
}

std::optional<DeferredQueue::Due> DeferredQueue::PopDue(absl::Time now) {
  if (held_.empty() || held_.begin()->first > now) {
    return std::nullopt;
  }
  Due due{.record = std::move(held_.extract(held_.begin()).mapped())};
  const DeferredRecord& r = *due.record;
  const auto [max_deferrals, count] = latest_[r.event.event_id];
  due.superseded = max_deferrals > r.timing.deferrals || (max_deferrals == r.timing.deferrals && count > 1);
  Release(r);
  if (!due.superseded) {
    RememberActed(r.event.event_id, r.timing.deferrals);
  }
  return due;
}

void DeferredQueue::RemovePartitions(const std::vector<TopicPartition>& partitions) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (std::find(partitions.begin(), partitions.end(), it->second->tp) != partitions.end()) {
      Release(*it->second);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void DeferredQueue::Release(const DeferredRecord& r) {
  auto it = latest_.find(r.event.event_id);
  if (it != latest_.end() && --it->second.second <= 0) {
    latest_.erase(it);
  }
}

void DeferredQueue::RememberActed(const std::string& event_id, int deferrals) {
  auto [it, inserted] = acted_.try_emplace(event_id, deferrals);
  if (!inserted) {
    it->second = std::max(it->second, deferrals);
    return;
  }
  acted_order_.push_back(event_id);
  while (acted_order_.size() > remember_) {
    acted_.erase(acted_order_.front());
    acted_order_.pop_front();
  }
}

absl::StatusOr<std::unique_ptr<DeferredScheduler>> DeferredScheduler::Create(DeferredSchedulerOptions options,
                                                                             const Clock& clock,
                                                                             const CustomerHasher& hasher) {
  std::unique_ptr<DeferredScheduler> s(new DeferredScheduler(std::move(options), clock, hasher));
  if (absl::Status st = s->Init(); !st.ok()) {
    return st;
  }
  return s;
}

DeferredScheduler::DeferredScheduler(DeferredSchedulerOptions options, const Clock& clock,
                                     const CustomerHasher& hasher)
    : InputWorker(options.kafka),
      sched_options_(std::move(options)),
      own_registry_(sched_options_.stats == nullptr ? std::make_unique<prometheus::Registry>() : nullptr),
      own_stats_(own_registry_ ? std::make_unique<DeferredStats>(*own_registry_) : nullptr),
      stats_(sched_options_.stats != nullptr ? *sched_options_.stats : *own_stats_),
      clock_(clock),
      hasher_(hasher),
      router_(Topics{.outbound = sched_options_.outbound_topic,
                     .suppressed = sched_options_.suppressed_topic,
                     .decisions = sched_options_.decisions_topic,
                     .dlq = sched_options_.dlq_topic}),
      queue_(sched_options_.max_held) {}

void DeferredScheduler::OnMessage(RdKafka::Message& message) {
  auto h = std::make_unique<DeferredRecord>();
  h->tp = {message.topic_name(), message.partition()};
  h->offset = message.offset();
  if (message.key() != nullptr) {
    h->key = *message.key();
  }
  h->value.assign(static_cast<const char*>(message.payload()), message.len());
  h->headers = CopyHeaders(message.headers());
  Begin(h->tp, h->offset);

  const std::string* content_type = FindHeader(h->headers, "content-type");
  absl::StatusOr<v1::OutboundEvent> proto = DecodeOutboundEvent(h->value, content_type != nullptr ? *content_type : "");
  absl::StatusOr<Event> event = proto.ok() ? EventFromProto(*proto) : absl::StatusOr<Event>(proto.status());
  if (!event.ok()) {
    // Not an event the pipeline deferred: nothing to decide again. Kept, with the reason, on the DLQ.
    stats_.deferred_outcomes_total.Inc({"dead_letter", "MESSAGE_CLASS_UNSPECIFIED"});
    Output out{.topic = sched_options_.dlq_topic, .key = h->key, .value = h->value, .headers = h->headers};
    const std::string reason = absl::StrCat("deferred record: ", std::string(event.status().message()));
    AddDeadLetterHeaders(out.headers, reason, h->tp, h->offset);
    Log(LogLevel::kWarning, "deferred.dead_letter", {{"position", Position(h->tp, h->offset)}, {"reason", reason}});
    std::vector<Output> outs;
    outs.push_back(std::move(out));
    Complete(h->tp, h->offset, std::move(outs));
    return;
  }
  h->event = *std::move(event);
  const absl::Time now = clock_.Now();
  h->timing = TimeDeferred(h->headers, h->event.created_at, h->event.message_class, now, sched_options_);
  const TopicPartition tp = h->tp;
  const int64_t offset = h->offset;
  const std::string class_name(ClassName(h->event.message_class));
  if (!queue_.Add(std::move(h))) {  // a copy of a deferral already acted on
    stats_.deferred_outcomes_total.Inc({"superseded", class_name});
    Complete(tp, offset, {});
    return;
  }
  if (queue_.size() >= sched_options_.max_held && !paused()) {
    Log(LogLevel::kWarning, "deferred.full", {{"held", absl::StrCat(queue_.size())}});
    stats_.deferred_paused.Set({}, 1);
    SetPaused(true);
  }
  UpdateGauges(now);
}

void DeferredScheduler::OnTick() {
  const absl::Time now = clock_.Now();
  while (!stopping()) {
    std::optional<DeferredQueue::Due> due = queue_.PopDue(now);
    if (!due) {
      break;
    }
    if (due->superseded) {  // a newer deferral of the same event is held, or an identical copy comes after
      stats_.deferred_outcomes_total.Inc({"superseded", ClassName(due->record->event.message_class)});
      Complete(due->record->tp, due->record->offset, {});
      continue;
    }
    Act(std::move(due->record), now);
  }
  if (paused() && queue_.size() < sched_options_.max_held - sched_options_.max_held / 10) {
    stats_.deferred_paused.Set({}, 0);
    SetPaused(false);
  }
  UpdateGauges(now);
}

void DeferredScheduler::Act(std::unique_ptr<DeferredRecord> h, absl::Time now) {
  const Event& ev = h->event;
  const std::string class_name(ClassName(ev.message_class));
  stats_.deferred_due_lag_seconds.Observe({}, std::max(0.0, absl::ToDoubleSeconds(now - h->timing.act_at())));
  const std::string key = h->key.empty() ? absl::StrCat(ev.tenant, ":", ev.customer_id) : h->key;
  std::vector<Output> outs;
  if (now >= h->timing.stale_at) {
    const std::string rule = HeaderOr(h->headers, "tact-rule", "");
    const std::string version = HeaderOr(h->headers, "tact-policy-version", "");
    auto limit = sched_options_.max_age.find(ev.message_class);
    const absl::Duration max_age =
        limit != sched_options_.max_age.end() ? limit->second : sched_options_.default_max_age;
    v1::DecisionRecord rec;
    rec.set_event_id(ev.event_id);
    rec.set_tenant(ev.tenant);
    rec.set_customer_hash(hasher_.Hash(ev.tenant, ev.customer_id));
    rec.set_customer_hash_key_id(hasher_.KeyId());
    rec.set_channel(ev.channel);
    rec.set_message_class(ev.message_class);
    rec.set_campaign_id(ev.campaign_id);
    v1::Decision* d = rec.mutable_decision();
    d->set_decision(v1::EXPIRED);
    d->set_reason(absl::StrCat("deferred past the staleness limit of ", absl::FormatDuration(max_age), " for ",
                               class_name, " (", ev.created_at != absl::InfinitePast() ? "created " : "first deferred ",
                               FormatHeaderTime(ev.created_at != absl::InfinitePast() ? ev.created_at
                                                                                      : h->timing.first_deferred),
                               ", deferred ", h->timing.deferrals, "x)"));
    d->set_rule_id(rule);
    d->set_policy_version(version);
    *rec.mutable_decided_at() = TimeToProto(now);
    rec.set_source("kafka");
    rec.set_source_position(Position(h->tp, h->offset));

    outs = router_.Route(rec.decision(), rec, key, std::move(h->value), WithoutDecisionHeaders(h->headers));
    outs[0].headers.emplace_back(kDeferralsHeader, absl::StrCat(h->timing.deferrals));
    stats_.deferred_outcomes_total.Inc({"expired", class_name});
    Log(LogLevel::kInfo, "deferred.expired",
        {{"cust_h", rec.customer_hash()}, {"class", class_name}, {"position", Position(h->tp, h->offset)},
         {"deferrals", absl::StrCat(h->timing.deferrals)}});
  } else {
    Output again{.topic = sched_options_.outbound_topic, .key = key, .value = std::move(h->value),
                 .headers = WithoutDecisionHeaders(h->headers)};
    again.headers.emplace_back(kDeferralsHeader, absl::StrCat(h->timing.deferrals));
    again.headers.emplace_back(kFirstDeferredAtHeader, FormatHeaderTime(h->timing.first_deferred));
    outs.push_back(std::move(again));
    stats_.deferred_outcomes_total.Inc({"reinjected", class_name});
    Log(LogLevel::kDebug, "deferred.reinjected",
        {{"class", class_name}, {"position", Position(h->tp, h->offset)}, {"deferrals", absl::StrCat(h->timing.deferrals)}});
  }
  Complete(h->tp, h->offset, std::move(outs));
}

void DeferredScheduler::OnRevoked(const std::vector<TopicPartition>& partitions) {
  queue_.RemovePartitions(partitions);  // not committed: the partitions' next owner reads them again
  UpdateGauges(clock_.Now());
}

void DeferredScheduler::OnKafkaError(std::string_view what) { stats_.deferred_kafka_errors_total.Inc({what}); }

void DeferredScheduler::UpdateGauges(absl::Time now) {
  if (sched_options_.pipeline_stats != nullptr) {
    sched_options_.pipeline_stats->deferred_backlog.Set({}, static_cast<double>(queue_.size()));
  }
  stats_.deferred_next_due_seconds.Set(
      {}, queue_.next_at() ? std::max(0.0, absl::ToDoubleSeconds(*queue_.next_at() - now)) : 0.0);
}

}  // namespace tact::pipeline
