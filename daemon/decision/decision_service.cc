#include "daemon/decision/decision_service.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/marker.h"

namespace tact::decision {
namespace {

v1::DecisionKind ToProto(policy::Verdict v) {
  switch (v) {
    case policy::Verdict::kRelease: return v1::RELEASE;
    case policy::Verdict::kDefer: return v1::DEFER;
    case policy::Verdict::kSuppress: return v1::SUPPRESS;
  }
  return v1::DECISION_UNSPECIFIED;
}

v1::Decision ToProto(const policy::Verdicts& v, std::string_view version, std::string_view digest) {
  v1::Decision d;
  d.set_decision(ToProto(v.verdict));
  d.set_reason(v.reason);
  d.set_rule_id(std::string(v.rule_id));
  d.set_policy_version(std::string(version));
  d.set_policy_digest(std::string(digest));
  if (v.verdict == policy::Verdict::kDefer && v.defer_until != absl::InfinitePast()) {
    *d.mutable_defer_until() = TimeToProto(v.defer_until);
  }
  for (const policy::CounterView& c : v.counters) {
    v1::Counter* pc = d.add_counters();
    pc->set_rule_id(std::string(c.rule_id));
    pc->set_used(c.used);
    pc->set_limit(c.limit);
    pc->set_window(std::string(c.window));
  }
  for (const std::string_view r : v.matched_rules) {
    d.add_matched_rules(std::string(r));
  }
  d.set_shadow(!v.shadow.empty() && v.verdict == policy::Verdict::kRelease);
  for (const policy::ShadowOutcome& s : v.shadow) {
    v1::ShadowOutcome* ps = d.add_shadow_outcomes();
    ps->set_rule_id(std::string(s.rule_id));
    ps->set_decision(ToProto(s.verdict));
    ps->set_reason(s.reason);
  }
  return d;
}

// One batch's place in a DecisionService::BatchOrder: waits for the previous batch, and settles `done` exactly once,
// never before the previous batch settled (as soon as the store step is over, so the next batch's call goes out
// while this one finishes; at the latest when the batch returns).
class OrderTurn {
 public:
  explicit OrderTurn(DecisionService::BatchOrder* order) : order_(order) {}
  OrderTurn(const OrderTurn&) = delete;
  OrderTurn& operator=(const OrderTurn&) = delete;
  ~OrderTurn() {  // not settled: no store step, the previous batch's outcome is passed on
    if (!settled_) Settle(Previous());
  }

  // Waits for the previous batch: OK, or its outage.
  absl::Status Previous() const {
    return order_ == nullptr || !order_->after.valid() ? absl::OkStatus() : order_->after.get();
  }
  // Waits for the previous batch: OK, or the UNAVAILABLE this batch's store call returns unsent.
  absl::Status Wait() const {
    const absl::Status previous = Previous();
    return previous.ok() ? previous
                         : absl::UnavailableError(absl::StrCat("not sent: an earlier batch's store step failed (",
                                                               previous.message(), ")"));
  }
  // `outcome`: OK, or the outage that stops the batches after this one.
  void Settle(const absl::Status& outcome) {
    if (order_ == nullptr || settled_) return;
    settled_ = true;
    (void)Previous();  // never ahead of the batch before
    order_->done.set_value(outcome);
  }

 private:
  DecisionService::BatchOrder* const order_;
  bool settled_ = false;
};

}  // namespace

std::string_view DecisionName(v1::DecisionKind kind) {
  switch (kind) {
    case v1::RELEASE: return "RELEASE";
    case v1::DEFER: return "DEFER";
    case v1::SUPPRESS: return "SUPPRESS";
    case v1::EXPIRED: return "EXPIRED";
    default: return "DECISION_UNSPECIFIED";
  }
}

DecisionService::DecisionService(const PolicyHolder& policies, store::CounterStore& store, const Clock& clock,
                                 const CustomerHasher& hasher, DecisionServiceOptions options)
    : policies_(policies), store_(store), clock_(clock), hasher_(hasher), options_(options) {}

absl::StatusOr<Decided> DecisionService::Decide(const Event& event, const DecideOptions& options) {
  const Request request{&event, options};
  return std::move(DecideBatch({&request, 1}).front());
}

std::vector<absl::StatusOr<Decided>> DecisionService::DecideBatch(std::span<const Request> requests,
                                                                  BatchOrder* order) {
  if (options_.stats == nullptr) {
    return DecideBatchUnmeasured(requests, order);
  }
  const auto start = clock_.Monotonic();
  std::vector<absl::StatusOr<Decided>> out = DecideBatchUnmeasured(requests, order);
  // Every event of a batch waited for the whole batch: that is its decision latency.
  const double seconds = std::chrono::duration<double>(clock_.Monotonic() - start).count();
  for (size_t i = 0; i < requests.size() && i < out.size(); ++i) {
    Measure(requests[i], out[i], seconds);
  }
  return out;
}

void DecisionService::Measure(const Request& request, const absl::StatusOr<Decided>& result, double seconds) {
  DecisionStats& stats = *options_.stats;
  const DecideOptions& opts = request.options;
  const std::string_view source = opts.source.empty() ? std::string_view("unknown") : opts.source;
  stats.decision_duration_seconds.Observe({source}, seconds);
  if (!result.ok()) {
    stats.decision_errors_total.Inc({source, ops::StatusCodeLabel(result.status().code())});
    return;
  }
  if (opts.dry_run) {
    return;
  }
  const v1::Decision& d = result->decision;
  stats.decisions_total.Inc({source, DecisionName(d.decision()), d.rule_id().empty() ? "none" : d.rule_id()});
  if (d.duplicate()) {
    stats.duplicate_decisions_total.Inc({source});
  }
  if (d.degraded() && request.event != nullptr) {
    stats.fail_open_total.Inc({ClassName(request.event->message_class)});
  }
}

absl::StatusOr<v1::ExplainResponse> DecisionService::Explain(const Event& event, absl::Time deadline,
                                                             std::string_view field_prefix) {
  // The decision: exactly what Decide does (campaign gate, duplicates, fail-open), as a dry run.
  const Request request{&event,
                        {.dry_run = true,
                         .source = "explain",
                         .deadline = deadline,
                         .record = false,
                         .field_prefix = std::string(field_prefix)}};
  absl::StatusOr<Decided> decided = std::move(DecideBatchUnmeasured({&request, 1}, nullptr).front());
  if (!decided.ok()) {
    return decided.status();
  }
  const std::shared_ptr<const policy::Policy> pol = policies_.Get();
  if (pol == nullptr) {
    return absl::FailedPreconditionError("no policy loaded");
  }
  v1::ExplainResponse out;
  *out.mutable_decision() = std::move(decided->decision);

  // The trace: the plan and what the store holds for it now (another dry-run read; an event decided before is
  // traced with the plan and outcome stored with that decision).
  const absl::Time now = clock_.Now();
  policy::Plan plan = policy::PlanEvent(*pol, event, now);
  policy::StoreOutcome outcome;
  bool unread = false;
  if (plan.NeedsStore()) {
    const store::CustomerCheck check{.tenant = event.tenant,
                                     .customer_id = event.customer_id,
                                     .event_id = event.event_id,
                                     .now = now,
                                     .plan = &plan,
                                     .dry_run = true};
    absl::StatusOr<std::vector<store::CheckResult>> results = store_.CheckAndReserve(
        {&check, 1}, std::min(deadline, now + options_.store_deadline));
    if (!results.ok()) {
      unread = true;  // the decision above failed open (degraded); the trace says what could not be read
    } else if (store::CheckResult& r = (*results)[0]; r.duplicate) {
      if (absl::StatusOr<Marker> earlier = DecodeMarker(r.marker); earlier.ok()) {
        plan = std::move(earlier->plan);
      }
      outcome = std::move(r.outcome);
    } else {
      outcome = std::move(r.outcome);
    }
  }
  const policy::Verdicts verdicts = policy::Decide(plan, outcome);
  // policy::Explain gives one line per matched rule, in evaluation order; every other rule says why not.
  const std::vector<policy::TraceLine> matched = policy::Explain(*pol, plan, outcome, verdicts);
  size_t next = 0;
  for (const policy::Rule& rule : pol->rules) {
    v1::TraceLine* line = out.add_trace();
    line->set_rule_id(rule.id);
    line->set_shadow(rule.mode == policy::Mode::kShadow);
    line->set_effect(rule.limit ? "limit" : rule.suppress_if ? "suppress_if" : rule.quiet_hours ? "quiet_hours" : "");
    if (next < matched.size() && matched[next].rule_id == rule.id) {
      const policy::TraceLine& t = matched[next++];
      const bool needs_store = line->effect() != "quiet_hours";
      line->set_matched(true);
      line->set_check(unread && needs_store ? "not checked: store unavailable" : t.check);
      line->set_applies(!(unread && needs_store) && t.applies);
      line->set_decided(out.decision().rule_id() == rule.id);
      continue;
    }
    std::string why = policy::WhyNoMatch(rule, event);
    line->set_why_not(why.empty() ? "not selected for this message" : std::move(why));
  }
  return out;
}

std::vector<absl::StatusOr<Decided>> DecisionService::DecideBatchUnmeasured(std::span<const Request> requests,
                                                                            BatchOrder* order) {
  OrderTurn turn(order);
  std::vector<absl::StatusOr<Decided>> out(requests.size(), absl::StatusOr<Decided>(Decided{}));
  const std::shared_ptr<const policy::Policy> pol = policies_.Get();
  if (pol == nullptr) {
    out.assign(requests.size(), absl::FailedPreconditionError("no policy loaded"));
    return out;
  }
  const absl::Time now = clock_.Now();

  // Evaluate every event (pure); only events with counters to check go to the store, in one call.
  std::vector<policy::Plan> plans;
  plans.reserve(requests.size());  // never reallocates: checks point into it
  std::vector<store::CustomerCheck> checks;
  std::vector<size_t> check_of;  // checks[i] belongs to requests[check_of[i]]
  std::vector<bool> held;        // checks[i] is of an event its campaign's gate defers: look, don't decide
  std::vector<bool> dedupe_only;  // checks[i]'s plan counts and reads nothing: the store only dedupes it
  absl::Time deadline = absl::InfiniteFuture();
  GateBatch gates(options_.campaign_gate, requests.size(), options_.fail_open_classes);
  for (size_t i = 0; i < requests.size(); ++i) {
    const Event& event = *requests[i].event;
    const DecideOptions& o = requests[i].options;
    if (!event.customer_timezone.empty() && !IsKnownTimeZone(event.customer_timezone)) {
      // EventFromProto refuses it already; an Event built otherwise (policy tests) is refused here, so the
      // policy never evaluates an unknown zone (it would have no zone to use).
      out[i] = absl::InvalidArgumentError(absl::StrCat(o.field_prefix, "customer_timezone: unknown time zone"));
      plans.emplace_back();
      continue;
    }
    plans.push_back(policy::PlanEvent(*pol, event, now));
    bool gate_held = false;
    if (absl::Status error; gates.Admit(i, *pol, event, now, o.dry_run, &out[i]->decision, &error)) {
      if (!error.ok()) {  // the gate could not decide
        out[i] = error;
        continue;
      }
      // Deferred by its campaign's gate; a redelivered event still gets its earlier final decision: a dry run
      // finds it.
      gate_held = true;
    }
    // The store's deadline: the request's, but never more than one store round-trip's (redis.deadline_ms).
    deadline = std::min(deadline, std::min(o.deadline, now + options_.store_deadline));
    dedupe_only.push_back(!plans.back().NeedsStore());
    checks.push_back(store::CustomerCheck{.tenant = event.tenant,
                                          .customer_id = event.customer_id,
                                          .event_id = event.event_id,
                                          .now = now,
                                          .plan = &plans.back(),
                                          .dry_run = o.dry_run || gate_held,
                                          // a dry run stores nothing: no marker to encode
                                          .marker = o.dry_run || gate_held
                                                        ? std::string()
                                                        : EncodeMarker({.policy_version = pol->version,
                                                                        .policy_digest = pol->digest,
                                                                        .plan = plans.back(),
                                                                        .fingerprint = FingerprintOf(event)})});
    check_of.push_back(i);
    held.push_back(gate_held);
  }
  // What stops the batches after this one: an outage that leaves a fail-closed event of it undecided (the Kafka
  // path holds that event, and every later one of its partition, until the store is back). Fail-open events
  // are decided even then (degraded), so a batch of only those stops nothing.
  absl::Status undecided;
  for (const absl::StatusOr<Decided>& o : out) {  // so far, only the campaign gate's failures
    if (!o.ok() && store::IsOutage(o.status())) {
      undecided = o.status();
      break;
    }
  }
  if (checks.empty()) {
    turn.Settle(undecided.ok() ? turn.Previous() : undecided);  // no store step: the previous outcome passes on
  } else {
    bool unsent = false;
    absl::StatusOr<std::vector<store::CheckResult>> results = store_.CheckAndReserveAfter(checks, deadline, [&] {
      absl::Status s = turn.Wait();
      unsent = !s.ok();
      return s;
    });
    if (undecided.ok() && !results.ok() && store::IsOutage(results.status())) {
      for (size_t c = 0; c < checks.size(); ++c) {
        if (!held[c] && !dedupe_only[c] &&
            !options_.fail_open_classes.contains(requests[check_of[c]].event->message_class)) {
          undecided = unsent ? turn.Previous() : results.status();  // the first failure, not a chain of "not sent"
          break;
        }
      }
    }
    turn.Settle(undecided);
    for (size_t c = 0; c < checks.size(); ++c) {
      const size_t i = check_of[c];
      const Event& event = *requests[i].event;
      if (!results.ok()) {
        if (held[c]) continue;  // keeps the gate's DEFER
        if (dedupe_only[c]) {  // nothing to count or read: decided from the plan alone, without the dedupe
          out[i]->decision = ToProto(policy::Decide(plans[i], {}), pol->version, pol->digest);
          out[i]->decision.set_degraded(true);
          continue;
        }
        if (!options_.fail_open_classes.contains(event.message_class)) {
          out[i] = results.status();
          continue;
        }
        v1::Decision& d = out[i]->decision;
        d.set_decision(v1::RELEASE);
        d.set_reason(absl::StrCat("store unavailable; ", AsAbsl(ClassName(event.message_class)), " fails open"));
        d.set_degraded(true);
        d.set_policy_version(pol->version);
        d.set_policy_digest(pol->digest);
        for (const std::string_view r : plans[i].matched_rules) {
          d.add_matched_rules(std::string(r));
        }
      } else if (const store::CheckResult& r = (*results)[c]; r.duplicate) {
        absl::StatusOr<Marker> earlier = DecodeMarker(r.marker);
        if (!earlier.ok()) {
          out[i] = earlier.status();
          continue;
        }
        if (absl::Status same = CheckSameMessage(*earlier, event, requests[i].options.field_prefix); !same.ok()) {
          out[i] = same;  // the event_id was decided for another message
          continue;
        }
        out[i]->decision =
            ToProto(policy::Decide(earlier->plan, r.outcome), earlier->policy_version, earlier->policy_digest);
        out[i]->decision.set_duplicate(true);
      } else if (!held[c]) {
        out[i]->decision = ToProto(policy::Decide(plans[i], r.outcome), pol->version, pol->digest);
      }
    }
  }

  for (size_t i = 0; i < requests.size(); ++i) {
    gates.Settle(i, *requests[i].event, requests[i].options.dry_run, out[i].ok() ? &out[i]->decision : nullptr);
    if (!out[i].ok() || !requests[i].options.record) {
      continue;
    }
    const Event& event = *requests[i].event;
    v1::DecisionRecord& rec = out[i]->record;
    rec.set_event_id(event.event_id);
    rec.set_tenant(event.tenant);
    rec.set_customer_hash(hasher_.Hash(event.tenant, event.customer_id));
    rec.set_channel(event.channel);
    rec.set_message_class(event.message_class);
    rec.set_campaign_id(event.campaign_id);
    *rec.mutable_decision() = out[i]->decision;
    *rec.mutable_decided_at() = TimeToProto(now);
    rec.set_source(requests[i].options.source);
    rec.set_source_position(requests[i].options.source_position);
  }
  return out;
}

}  // namespace tact::decision
