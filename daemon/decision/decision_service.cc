#include "daemon/decision/decision_service.h"

#include "absl/strings/str_cat.h"

#include "daemon/decision/earlier_decision.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/store_spec.h"

namespace tact::decision {

DecisionService::DecisionService(const PolicyHolder& policies, store::CounterStore& store, const Clock& clock,
                                 const CustomerHasher& hasher, DecisionServiceOptions options)
    : policies_(policies), store_(store), clock_(clock), hasher_(hasher), options_(options) {}

absl::StatusOr<Decided> DecisionService::Decide(const Event& event, const DecideOptions& options) {
  const Request request{&event, options};
  return std::move(DecideBatch({&request, 1}).front());
}

DecidedBatch DecisionService::DecideBatch(std::span<const Request> requests) {
  PreparedBatch prepared = Prepare(requests);
  StoreResults results = CallStore(prepared);
  return Finish(prepared, std::move(results));
}

PreparedBatch DecisionService::Prepare(std::span<const Request> requests) {
  const auto started = clock_.Monotonic();
  PreparedBatch prepared = PrepareBatch({.policy = policies_.Get(),
                                         .now = clock_.Now(),
                                         .store_deadline = options_.store_deadline,
                                         .fail_open_classes = &options_.fail_open_classes,
                                         .campaign_gate = options_.campaign_gate,
                                         .hasher = &hasher_,
                                         .archive = options_.archive},
                                        requests);
  prepared.started = started;
  return prepared;
}

StoreResults DecisionService::CallStore(const PreparedBatch& prepared) {
  if (prepared.checks.empty()) {
    return std::vector<store::CheckResult>();
  }
  return store_.CheckAndReserve(prepared.checks, prepared.deadline);
}

DecidedBatch DecisionService::Finish(PreparedBatch& prepared, StoreResults results) {
  const std::span<const Request> requests = prepared.requests;
  DecidedBatch out = FinishBatch(prepared, std::move(results));
  if (options_.stats == nullptr) {
    return out;
  }
  // Every event of a batch waited for the whole batch: that is its decision latency. The two series every event
  // counts in are counted per batch, once per label set (a series lookup per event: ~1-2% of tactd's CPU per event).
  const double seconds = std::chrono::duration<double>(clock_.Monotonic() - prepared.started).count();
  ops::LabelCounts waited;   // (source)
  ops::LabelCounts decided;  // (source, decision, rule)
  for (size_t i = 0; i < requests.size() && i < out.size(); ++i) {
    Measure(requests[i], out[i], waited, decided);
  }
  DecisionStats& stats = *options_.stats;
  for (const ops::LabelCounts::Entry& e : waited.entries()) {
    stats.decision_duration_seconds.ObserveTimes({e.a}, seconds, e.n);
  }
  for (const ops::LabelCounts::Entry& e : decided.entries()) {
    stats.decisions_total.Inc({e.a, e.b, e.c}, static_cast<double>(e.n));
  }
  return out;
}

void DecisionService::Measure(const Request& request, const absl::StatusOr<Decided>& result, ops::LabelCounts& waited,
                              ops::LabelCounts& decided) {
  DecisionStats& stats = *options_.stats;
  const DecideOptions& opts = request.options;
  const std::string_view source = opts.source.empty() ? std::string_view("unknown") : opts.source;
  waited.Add(source);
  if (!result.ok()) {
    stats.decision_errors_total.Inc({source, ops::StatusCodeLabel(result.status().code())});
    return;
  }
  if (opts.dry_run) {
    return;
  }
  const v1::Decision& d = result->decision();
  // views: the counts borrow them until the batch is counted (a ternary of "none" and a std::string is a temporary)
  decided.Add(source, DecisionName(d.decision()),
              d.rule_id().empty() ? std::string_view("none") : std::string_view(d.rule_id()));
  if (d.duplicate()) {
    stats.duplicate_decisions_total.Inc({source});
  }
  if (d.degraded() && request.event != nullptr) {
    stats.fail_open_total.Inc({ClassName(request.event->message_class)});
  }
}

namespace {

// A duplicate's trace: the plan and outcome of its earlier decision, or (its policy is not available here) why not.
void TraceEarlier(store::CheckResult& r, const Event& event, const std::shared_ptr<const policy::Policy>& pol,
                  PolicyArchive* archive, policy::Plan& plan, policy::StoreOutcome& outcome, std::string& unavailable) {
  absl::StatusOr<Marker> earlier = DecodeMarker(r.marker);
  if (!earlier.ok()) {
    outcome = std::move(r.outcome);
    return;
  }
  if (std::optional<policy::Plan> p = EarlierPlan(*earlier, event, pol, archive)) {
    plan = *std::move(p);
    outcome = std::move(r.outcome);
    return;
  }
  unavailable = FallbackVerdicts(*earlier, r.outcome).reason;
}

}  // namespace

absl::StatusOr<v1::ExplainResponse> DecisionService::Explain(const Event& event, absl::Time deadline,
                                                             std::string_view field_prefix) {
  // The decision: exactly what Decide does (campaign gate, duplicates, fail-open), as a dry run.
  const Request request{&event,
                        {.dry_run = true,
                         .source = "explain",
                         .deadline = deadline,
                         .record = false,
                         .field_prefix = std::string(field_prefix)}};
  PreparedBatch prepared = Prepare({&request, 1});
  absl::StatusOr<Decided> decided = std::move(FinishBatch(prepared, CallStore(prepared)).front());  // unmeasured
  if (!decided.ok()) {
    return decided.status();
  }
  const std::shared_ptr<const policy::Policy> pol = policies_.Get();
  if (pol == nullptr) {
    return absl::FailedPreconditionError("no policy loaded");
  }
  v1::ExplainResponse out;
  *out.mutable_decision() = std::move(decided->decision());

  // The trace: the plan and what the store holds for it now (another dry-run read; an event decided before is
  // traced with the plan and outcome stored with that decision).
  const absl::Time now = clock_.Now();
  policy::Plan plan = policy::PlanEvent(*pol, event, now);
  policy::StoreOutcome outcome;
  bool unread = false;
  std::string unavailable;  // a duplicate whose policy is not available here: why its rules are not traced
  if (plan.NeedsStore()) {
    const store::CustomerCheck check{.tenant = event.tenant,
                                     .customer_id = event.customer_id,
                                     .event_id = event.event_id,
                                     .now = now,
                                     .spec = ToCheckSpec(plan),
                                     .dry_run = true};
    absl::StatusOr<std::vector<store::CheckResult>> results = store_.CheckAndReserve(
        {&check, 1}, std::min(deadline, now + options_.store_deadline));
    if (!results.ok() || !(*results)[0].status.ok()) {
      unread = true;  // the decision above failed open (degraded); the trace says what could not be read
    } else if (store::CheckResult& r = (*results)[0]; r.duplicate) {
      TraceEarlier(r, event, pol, options_.archive, plan, outcome, unavailable);
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
      if (!unavailable.empty()) {
        line->set_check(absl::StrCat("not checked: ", unavailable));
      } else {
        line->set_check(unread && needs_store ? "not checked: store unavailable" : t.check);
        line->set_applies(!(unread && needs_store) && t.applies);
      }
      line->set_decided(out.decision().rule_id() == rule.id);
      continue;
    }
    std::string why = policy::WhyNoMatch(rule, event);
    line->set_why_not(why.empty() ? "not selected for this message" : std::move(why));
  }
  return out;
}

}  // namespace tact::decision
