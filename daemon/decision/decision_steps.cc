#include "daemon/decision/decision_steps.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/outage.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/decision/earlier_decision.h"
#include "daemon/decision/evidence.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/store_spec.h"

namespace tact::decision {
namespace {

const std::set<MessageClass>& FailOpen(const BatchContext& context) {
  static const std::set<MessageClass>* const kNone = new std::set<MessageClass>();
  return context.fail_open_classes == nullptr ? *kNone : *context.fail_open_classes;
}

v1::DecisionKind ToProto(policy::Verdict v) {
  switch (v) {
    case policy::Verdict::kRelease: return v1::RELEASE;
    case policy::Verdict::kDefer: return v1::DEFER;
    case policy::Verdict::kSuppress: return v1::SUPPRESS;
  }
  return v1::DECISION_UNSPECIFIED;
}

// `d` (cleared first) as the verdicts say: filled in place, where it lives (on its record's arena, when there is one).
void FillDecision(const policy::Verdicts& v, std::string_view version, std::string_view digest, v1::Decision& d) {
  d.Clear();
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
}

// Evaluates request `i` and, unless it is refused or its gate failed, appends its store check.
void PrepareOne(PreparedBatch& p, size_t i) {
  const policy::Policy& pol = *p.context.policy;
  const Event& event = *p.requests[i].event;
  const DecideOptions& o = p.requests[i].options;
  const absl::Time now = p.context.now;
  if (!event.customer_timezone.empty() && !IsKnownTimeZone(event.customer_timezone)) {
    // EventFromProto refuses it already; an Event built otherwise (policy tests) is refused here, so the
    // policy never evaluates an unknown zone (it would have no zone to use).
    p.out[i] = absl::InvalidArgumentError(absl::StrCat(o.field_prefix, "customer_timezone: unknown time zone"));
    p.plans.emplace_back();
    return;
  }
  p.plans.push_back(policy::PlanEvent(pol, event, now));
  const policy::Plan& plan = p.plans.back();
  bool gate_held = false;
  if (absl::Status error; p.gates->DecidedByGate(i, pol, event, now, o.dry_run, &p.out[i]->decision(), &error)) {
    if (!error.ok()) {  // the gate could not decide
      if (p.gate_outage.ok() && IsOutage(error)) p.gate_outage = error;
      p.out[i] = error;
      return;
    }
    // Deferred by its campaign's gate; a redelivered event still gets its earlier final decision: a dry run
    // finds it.
    gate_held = true;
  }
  // The store's deadline: the request's, but never more than one store round-trip's (redis.deadline_ms).
  p.deadline = std::min(p.deadline, std::min(o.deadline, now + p.context.store_deadline));
  const bool look_only = o.dry_run || gate_held;
  p.checks.push_back(store::CustomerCheck{
      .tenant = event.tenant,
      .customer_id = event.customer_id,
      .event_id = event.event_id,
      .now = now,
      .spec = ToCheckSpec(plan),
      .dry_run = look_only,
      // a dry run stores nothing: no marker to encode. "m4;": the plan is planned again from `now` on a redelivery.
      .marker = look_only ? std::string()
                          : EncodeMarker({.policy_version = pol.version,
                                          .policy_digest = pol.digest,
                                          .plan = plan,
                                          .fingerprint = FingerprintOf(event),
                                          .decided_at_ms = absl::ToUnixMillis(now),
                                          .plan_hash = p.plan_hashes.Hash(plan)})});
  p.check_of.push_back({.request = i, .gate_held = gate_held, .dedupe_only = !plan.NeedsStore()});
}

// The evidence of a decision for its audit record (only when one is built, and only for a deciding rule).
void AddEvidence(const PreparedBatch& p, const DecisionRequest& request, const policy::Plan& plan,
                 const policy::StoreOutcome& outcome, const policy::Verdicts& v, Decided& out) {
  if (!request.options.record || v.decided_by == policy::DecidedBy::kNone) return;
  BuildEvidence(plan, outcome, v, p.context.now, out.record().mutable_evidence());
}

// The decision of check `c` when its store call failed with `failure`.
void DecideWithoutStore(PreparedBatch& p, const PreparedBatch::CheckOf& c, const absl::Status& failure) {
  const policy::Policy& pol = *p.context.policy;
  const Event& event = *p.requests[c.request].event;
  absl::StatusOr<Decided>& out = p.out[c.request];
  if (c.gate_held) return;  // keeps the gate's DEFER
  if (c.dedupe_only) {      // nothing to count or read: decided from the plan alone, without the dedupe
    const policy::Verdicts v = policy::Decide(p.plans[c.request], {});
    FillDecision(v, pol.version, pol.digest, out->decision());
    out->decision().set_degraded(true);
    AddEvidence(p, p.requests[c.request], p.plans[c.request], {}, v, *out);
    return;
  }
  if (!FailOpen(p.context).contains(event.message_class)) {
    out = failure;
    return;
  }
  v1::Decision& d = out->decision();
  d.set_decision(v1::RELEASE);
  d.set_reason(absl::StrCat("store unavailable; ", AsAbsl(ClassName(event.message_class)), " fails open"));
  d.set_degraded(true);
  d.set_policy_version(pol.version);
  d.set_policy_digest(pol.digest);
  for (const std::string_view r : p.plans[c.request].matched_rules) {
    d.add_matched_rules(std::string(r));
  }
}

// The decision of check `c` from its store result `r`.
void DecideFromStore(PreparedBatch& p, const PreparedBatch::CheckOf& c, const store::CheckResult& r) {
  const DecisionRequest& request = p.requests[c.request];
  absl::StatusOr<Decided>& out = p.out[c.request];
  if (r.duplicate) {
    absl::StatusOr<Marker> earlier = DecodeMarker(r.marker);
    if (!earlier.ok()) {
      out = earlier.status();
      return;
    }
    if (absl::Status same = CheckSameMessage(*earlier, *request.event, request.options.field_prefix); !same.ok()) {
      out = same;  // the event_id was decided for another message
      return;
    }
    const std::optional<policy::Plan> plan =
        EarlierPlan(*earlier, *request.event, p.context.policy, p.context.archive);
    if (!plan) {  // its policy is not available here: the same verdict, without its rules
      FillDecision(FallbackVerdicts(*earlier, r.outcome), earlier->policy_version, earlier->policy_digest,
                   out->decision());
      out->decision().set_duplicate(true);
      return;
    }
    const policy::Verdicts v = policy::Decide(*plan, r.outcome);
    FillDecision(v, earlier->policy_version, earlier->policy_digest, out->decision());
    out->decision().set_duplicate(true);
    AddEvidence(p, request, *plan, r.outcome, v, *out);
  } else if (!c.gate_held) {
    const policy::Policy& pol = *p.context.policy;
    const policy::Verdicts v = policy::Decide(p.plans[c.request], r.outcome);
    FillDecision(v, pol.version, pol.digest, out->decision());
    AddEvidence(p, request, p.plans[c.request], r.outcome, v, *out);
  }
}

void AddRecord(const BatchContext& context, const DecisionRequest& request, Decided& decided) {
  const Event& event = *request.event;
  v1::DecisionRecord& rec = decided.record();  // its decision is set already (Decided)
  (void)rec.mutable_decision();               // present, as every record's
  rec.set_event_id(event.event_id);
  rec.set_tenant(event.tenant);
  rec.set_customer_hash(context.hasher->Hash(event.tenant, event.customer_id));
  rec.set_channel(event.channel);
  rec.set_message_class(event.message_class);
  rec.set_campaign_id(event.campaign_id);
  *rec.mutable_decided_at() = TimeToProto(context.now);
  rec.set_source(request.options.source);
  rec.set_source_position(request.options.source_position);
  rec.set_client(request.options.client);
  rec.set_customer_hash_key_id(context.hasher->KeyId());
}

}  // namespace

Decided::Decided() : Decided(nullptr) {}

Decided::Decided(std::shared_ptr<google::protobuf::Arena> arena)
    : arena_(std::move(arena)),
      owned_(arena_ == nullptr ? std::make_unique<v1::DecisionRecord>() : nullptr),
      record_(arena_ == nullptr ? owned_.get()
                                : google::protobuf::Arena::CreateMessage<v1::DecisionRecord>(arena_.get())) {}

Decided::Decided(const Decided& other) : Decided(other.arena_) { *record_ = *other.record_; }

Decided& Decided::operator=(const Decided& other) {
  if (this != &other) *this = Decided(other);  // also onto one moved from (its record is gone)
  return *this;
}

namespace {

// A batch's answers before they are decided: each a Decided, on one arena from kArenaBatch requests on.
DecidedBatch NewAnswers(size_t n) {
  std::shared_ptr<google::protobuf::Arena> arena;
  if (n >= kArenaBatch) {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 64 * 1024;  // a released PROMOTION's record and its strings: ~2 KB
    o.max_block_size = 256 * 1024;
    arena = std::make_shared<google::protobuf::Arena>(o);
  }
  DecidedBatch out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.emplace_back(Decided(arena));
  return out;
}

}  // namespace

PreparedBatch::PreparedBatch(BatchContext batch_context, std::span<const DecisionRequest> batch_requests)
    : context(std::move(batch_context)),
      requests(batch_requests),
      out(NewAnswers(batch_requests.size())),
      gates(std::make_unique<GateBatch>(context.campaign_gate, batch_requests.size(), FailOpen(context))) {}

PreparedBatch PrepareBatch(BatchContext context, std::span<const DecisionRequest> requests) {
  PreparedBatch p(std::move(context), requests);
  if (p.context.policy == nullptr) {
    p.out.assign(requests.size(), absl::FailedPreconditionError("no policy loaded"));
    return p;
  }
  p.plans.reserve(requests.size());  // never reallocates: checks point into it
  p.checks.reserve(requests.size());  // a check is ~1 KB (its spec's inline vectors): moved once, not at every growth
  p.check_of.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    PrepareOne(p, i);
  }
  return p;
}

namespace {
// True when check `c` cannot be decided without the store (DecideWithoutStore leaves its failure).
bool NeedsStore(const PreparedBatch& prepared, const PreparedBatch::CheckOf& c) {
  return !c.gate_held && !c.dedupe_only &&
         !FailOpen(prepared.context).contains(prepared.requests[c.request].event->message_class);
}
}  // namespace

bool LeavesUndecided(const PreparedBatch& prepared, const absl::Status& failure) {
  if (!IsOutage(failure)) return false;
  for (const PreparedBatch::CheckOf& c : prepared.check_of) {
    if (NeedsStore(prepared, c)) return true;
  }
  return false;
}

absl::Status UndecidedFailure(const PreparedBatch& prepared, const StoreResults& results) {
  if (!results.ok()) return LeavesUndecided(prepared, results.status()) ? results.status() : absl::OkStatus();
  for (size_t c = 0; c < prepared.check_of.size() && c < results->size(); ++c) {
    const absl::Status& s = (*results)[c].status;
    if (!s.ok() && IsOutage(s) && NeedsStore(prepared, prepared.check_of[c])) return s;
  }
  return absl::OkStatus();
}

DecidedBatch FinishBatch(PreparedBatch& p, StoreResults results) {
  if (p.context.policy == nullptr) {
    return std::move(p.out);
  }
  if (!p.checks.empty()) {
    for (size_t c = 0; c < p.checks.size(); ++c) {
      if (results.ok() && (*results)[c].status.ok()) {
        DecideFromStore(p, p.check_of[c], (*results)[c]);
      } else {  // the call failed, or only this check (its Redis Cluster node): the class's fail mode
        DecideWithoutStore(p, p.check_of[c], results.ok() ? (*results)[c].status : results.status());
      }
    }
  }
  for (size_t i = 0; i < p.requests.size(); ++i) {
    const DecisionRequest& request = p.requests[i];
    p.gates->Settle(i, *request.event, request.options.dry_run, p.out[i].ok() ? &p.out[i]->decision() : nullptr);
    if (p.out[i].ok() && request.options.record) {
      AddRecord(p.context, request, *p.out[i]);
    }
  }
  return std::move(p.out);
}

std::string_view DecisionName(v1::DecisionKind kind) {
  switch (kind) {
    case v1::RELEASE: return "RELEASE";
    case v1::DEFER: return "DEFER";
    case v1::SUPPRESS: return "SUPPRESS";
    case v1::EXPIRED: return "EXPIRED";
    default: return "DECISION_UNSPECIFIED";
  }
}

}  // namespace tact::decision
