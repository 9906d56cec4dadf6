#include "daemon/decision/decision_service.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/decision/marker.h"

namespace tact::decision {
namespace {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1'000'000'000);
  ts.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return ts;
}

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
  d.set_rule_id(v.rule_id);
  d.set_policy_version(std::string(version));
  d.set_policy_digest(std::string(digest));
  if (v.verdict == policy::Verdict::kDefer && v.defer_until != absl::InfinitePast()) {
    *d.mutable_defer_until() = ToProto(v.defer_until);
  }
  for (const policy::CounterView& c : v.counters) {
    v1::Counter* pc = d.add_counters();
    pc->set_rule_id(c.rule_id);
    pc->set_used(c.used);
    pc->set_limit(c.limit);
    pc->set_window(c.window);
  }
  for (const std::string& r : v.matched_rules) {
    d.add_matched_rules(r);
  }
  d.set_shadow(!v.shadow_hits.empty() && v.verdict == policy::Verdict::kRelease);
  return d;
}

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

absl::StatusOr<Decided> DecisionService::Decide(const Event& event, const DecideOptions& opts) {
  const std::shared_ptr<const policy::Policy> pol = policies_.Get();
  if (pol == nullptr) {
    return absl::FailedPreconditionError("no policy loaded");
  }
  const absl::Time now = clock_.Now();
  const policy::Plan plan = policy::Evaluate(*pol, event);

  Decided out;
  if (plan.limits.empty()) {  // nothing to count: no store round-trip, no store dependency
    out.decision = ToProto(policy::Decide(plan, {}), pol->version, pol->digest);
  } else {
    const absl::Time deadline =
        opts.deadline == absl::InfiniteFuture() ? now + options_.store_deadline : opts.deadline;
    const store::CustomerCheck check{.tenant = event.tenant,
                                     .customer_id = event.customer_id,
                                     .event_id = event.event_id,
                                     .now = now,
                                     .plan = &plan,
                                     .dry_run = opts.dry_run,
                                     .marker = EncodeMarker({pol->version, pol->digest, plan})};
    absl::StatusOr<std::vector<store::CheckResult>> results = store_.CheckAndReserve({&check, 1}, deadline);
    if (!results.ok()) {
      if (!options_.fail_open_classes.contains(event.message_class)) {
        return results.status();
      }
      out.decision.set_decision(v1::RELEASE);
      out.decision.set_reason(absl::StrCat("store unavailable; ", AsAbsl(ClassName(event.message_class)),
                                           " fails open"));
      out.decision.set_degraded(true);
      out.decision.set_policy_version(pol->version);
      out.decision.set_policy_digest(pol->digest);
      for (const std::string& r : plan.matched_rules) {
        out.decision.add_matched_rules(r);
      }
    } else if (const store::CheckResult& r = results->front(); r.duplicate) {
      absl::StatusOr<Marker> earlier = DecodeMarker(r.marker);
      if (!earlier.ok()) {
        return earlier.status();
      }
      out.decision = ToProto(policy::Decide(earlier->plan, r.outcome), earlier->policy_version, earlier->policy_digest);
      out.decision.set_duplicate(true);
    } else {
      out.decision = ToProto(policy::Decide(plan, r.outcome), pol->version, pol->digest);
    }
  }

  v1::DecisionRecord& rec = out.record;
  rec.set_event_id(event.event_id);
  rec.set_tenant(event.tenant);
  rec.set_customer_hash(hasher_.Hash(event.tenant, event.customer_id));
  rec.set_channel(event.channel);
  rec.set_message_class(event.message_class);
  rec.set_campaign_id(event.campaign_id);
  *rec.mutable_decision() = out.decision;
  *rec.mutable_decided_at() = ToProto(now);
  rec.set_source(opts.source);
  rec.set_source_position(opts.source_position);
  return out;
}

}  // namespace tact::decision
