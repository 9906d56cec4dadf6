

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/cli/explain.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/policy_test_runner.h"
#include "daemon/decision/replay.h"
#include "daemon/decision/store_spec.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"
#include <algorithm>
#include <ostream>
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

using nlohmann::json;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// --event: the JSON itself when it starts with '{', else the file ("-": stdin); an unreadable file reads as
// empty, so the decoder names what is missing.
std::string EventText(const std::string& path_or_text) {
  if (!path_or_text.empty() && path_or_text.front() == '{') return path_or_text;
  return ReadText(path_or_text).value_or("");
}

// Replays the state's steps (sorted by time, none after `at`) against `store`.
absl::Status ReplaySteps(const std::string& path, std::vector<decision::TestStep> steps,
                         std::shared_ptr<const policy::Policy> policy, absl::Time at,
                         store::InMemoryCounterStore& store, StateSummary& sum) {
  std::stable_sort(steps.begin(), steps.end(),
                   [](const decision::TestStep& a, const decision::TestStep& b) { return a.at < b.at; });
  decision::Replayer replay(std::move(policy), store);
  for (const decision::TestStep& step : steps) {
    const std::string where = absl::StrCat(path, ":", step.line, ": ");
    if (step.at > at) {
      return absl::InvalidArgumentError(absl::StrCat(where, "step at ", Rfc3339(step.at),
                                                     " is after the explained time ", Rfc3339(at)));
    }
    if (step.signal) {
      TACT_RETURN_IF_ERROR(replay.PutSignal(*step.signal, step.at));
      ++sum.signals;
    } else {
      absl::StatusOr<decision::Decided> d = replay.Decide(*step.event, step.at);
      if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(where, Msg(d.status())));
      ++sum.messages;
    }
  }
  return absl::OkStatus();
}

// The decision time: --at, else the event's createdAt, else now.
absl::StatusOr<absl::Time> ExplainedTime(const std::string& at_flag, absl::Time created_at, const Clock& clock) {
  absl::Time at = created_at;
  if (!at_flag.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, at_flag, &at, &err)) {
      return absl::InvalidArgumentError(absl::StrCat("--at: bad time '", at_flag, "' (expected RFC 3339)"));
    }
  }
  return at == absl::InfinitePast() ? clock.Now() : at;
}

// DecisionService::Explain at `at` against `store`, as tactd would explain it with that customer state.
absl::StatusOr<v1::ExplainResponse> ExplainAt(std::shared_ptr<const policy::Policy> policy,
                                              store::CounterStore& store, const Event& event, absl::Time at) {
  FakeClock clock(at);
  decision::PolicyHolder holder;
  holder.Set(std::move(policy));
  const CustomerHasher hasher("tact-offline-explain");
  decision::DecisionService service(holder, store, clock, hasher);
  return service.Explain(event, at + absl::Seconds(5));
}

const char* ModeName(const policy::Rule& r) { return r.mode == policy::Mode::kShadow ? "shadow" : "enforce"; }

std::string DecisionText(v1::DecisionKind kind) { return std::string(decision::DecisionName(kind)); }

// DEFER's time as the trace shows it (InfinitePast when the decision has none).
std::string DeferUntil(const v1::Decision& d) {
  return Rfc3339(d.has_defer_until() ? TimeFromProto(d.defer_until()) : absl::InfinitePast());
}

json RulesJson(const policy::Policy& policy, const v1::ExplainResponse& explained) {
  json rules = json::array();
  for (size_t i = 0; i < policy.rules.size() && i < static_cast<size_t>(explained.trace_size()); ++i) {
    const policy::Rule& r = policy.rules[i];
    const v1::TraceLine& t = explained.trace(static_cast<int>(i));
    json jr{{"rule", r.id}, {"source", absl::StrCat(r.file, ":", r.line)}, {"mode", ModeName(r)},
            {"matched", t.matched()}};
    if (!t.matched()) {
      jr["why_not"] = t.why_not();
    } else {
      jr["effect"] = t.effect();
      jr["check"] = t.check();
      jr["applies"] = t.applies();
      jr["decided"] = t.decided();
    }
    rules.push_back(std::move(jr));
  }
  return rules;
}

}  // namespace

std::string StateSummary::Text() const {
  if (source == "empty") return "empty";
  return absl::StrCat(source, ": ", signals, " signal(s), ", messages, " earlier message(s), usage given for ",
                      usage.size(), " rule(s)");
}

absl::StatusOr<std::pair<Event, absl::Time>> EventFromJson(const std::string& text, const std::string& where) {
  absl::StatusOr<v1::OutboundEvent> proto = pipeline::DecodeOutboundEvent(text, "application/json");
  if (!proto.ok()) return absl::InvalidArgumentError(absl::StrCat(where, Msg(proto.status())));
  absl::StatusOr<Event> ev = EventFromProto(*proto);
  if (!ev.ok()) return absl::InvalidArgumentError(absl::StrCat(where, Msg(ev.status())));
  const absl::Time at =
      proto->has_created_at() ? absl::FromUnixSeconds(proto->created_at().seconds()) : absl::InfinitePast();
  return std::make_pair(*std::move(ev), at);
}

absl::StatusOr<StateSummary> LoadState(const std::string& path, const std::string& text,
                                       std::shared_ptr<const policy::Policy> policy, const Event& event,
                                       absl::Time at, store::InMemoryCounterStore& store) {
  TACT_ASSIGN_OR_RETURN(
      decision::CustomerState state,
      decision::ParseCustomerState(path, text, event.tenant, event.customer_id, event.customer_timezone));
  StateSummary sum{.source = path, .usage = state.usage};
  TACT_RETURN_IF_ERROR(ReplaySteps(path, std::move(state.steps), policy, at, store, sum));
  const policy::Plan plan = policy::PlanEvent(*policy, event, at);
  for (const auto& [rule, used] : state.usage) {
    auto it = std::find_if(plan.limits.begin(), plan.limits.end(),
                           [&](const policy::LimitCheck& l) { return l.rule_id == rule; });
    if (it == plan.limits.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": usage: rule '", rule, "' is not a limit that applies to this event"));
    }
    store.SeedUsage(event.tenant, event.customer_id, decision::ToLimitSpec(*it), used, at);
  }
  return sum;
}

int Explain(const ExplainArgs& args, const Clock& clock, const Streams& io) {
  absl::StatusOr<policy::Policy> loaded = decision::LoadPolicyDir(args.policy_dir);
  if (!loaded.ok()) {
    io.err << Msg(loaded.status()) << "\n";
    return kExitUsage;
  }
  const auto policy = std::make_shared<const policy::Policy>(*std::move(loaded));
  auto fail = [&](const absl::Status& s) {
    io.err << "tactctl explain: " << Msg(s) << "\n";
    return kExitUsage;
  };
  auto parsed = EventFromJson(EventText(args.event), "--event: ");
  if (!parsed.ok()) return fail(parsed.status());
  const Event& event = parsed->first;
  const absl::StatusOr<absl::Time> at = ExplainedTime(args.at, parsed->second, clock);
  if (!at.ok()) return fail(at.status());

  store::InMemoryCounterStore store;  // empty, or the customer's state from --state
  StateSummary state;
  if (!args.state.empty()) {
    absl::StatusOr<std::string> text = ReadText(args.state);
    if (!text.ok()) return fail(absl::NotFoundError(absl::StrCat("--state: cannot read ", args.state)));
    absl::StatusOr<StateSummary> loaded_state = LoadState(args.state, *text, policy, event, *at, store);
    if (!loaded_state.ok()) return fail(loaded_state.status());
    state = *std::move(loaded_state);
  }
  const absl::StatusOr<v1::ExplainResponse> explained = ExplainAt(policy, store, event, *at);
  if (!explained.ok()) return fail(explained.status());
  if (args.json) {
    PrintExplainJson(*policy, event, *at, state, *explained, io.out);
  } else {
    PrintExplainText(*policy, event, *at, state, *explained, io.out);
  }
  return kExitOk;
}

void PrintExplainJson(const policy::Policy& policy, const Event& event, absl::Time at, const StateSummary& state,
                      const v1::ExplainResponse& explained, std::ostream& out) {
  const v1::Decision& d = explained.decision();
  json shadow = json::array();
  for (const v1::ShadowOutcome& s : d.shadow_outcomes()) {
    shadow.push_back({{"rule", s.rule_id()}, {"decision", DecisionText(s.decision())}, {"reason", s.reason()}});
  }
  std::string zone;
  policy::CustomerZone(policy, event, &zone);
  json j{{"event_id", event.event_id},
         {"at", Rfc3339(at)},
         {"timezone", zone},
         {"policy_version", policy.version},
         {"policy_digest", policy.digest},
         {"decision", DecisionText(d.decision())},
         {"rule", d.rule_id()},
         {"reason", d.reason()},
         {"matched_rules", std::vector<std::string>(d.matched_rules().begin(), d.matched_rules().end())},
         {"shadow", shadow},
         {"state", {{"source", state.source}, {"signals", state.signals}, {"messages", state.messages},
                    {"usage", state.usage}}},
         {"rules", RulesJson(policy, explained)}};
  if (d.decision() == v1::DEFER) j["defer_until"] = DeferUntil(d);
  out << j.dump(2) << "\n";
}

void PrintExplainText(const policy::Policy& policy, const Event& event, absl::Time at, const StateSummary& state,
                      const v1::ExplainResponse& explained, std::ostream& out) {
  std::string zone;
  policy::CustomerZone(policy, event, &zone);
  out << absl::StrFormat("event %s  %s %s  tenant %s  at %s (customer zone %s)\n", event.event_id,
                         std::string(ClassName(event.message_class)), std::string(ChannelName(event.channel)),
                         event.tenant, Rfc3339(at), zone);
  out << absl::StrFormat("policy %s  digest %s  (customer state: %s; offline)\n\n", policy.version, policy.digest,
                         state.Text());
  out << "precedence: suppress_if, then limits, then quiet_hours; within each, policy order\n";
  for (size_t i = 0; i < policy.rules.size() && i < static_cast<size_t>(explained.trace_size()); ++i) {
    const policy::Rule& r = policy.rules[i];
    const v1::TraceLine& t = explained.trace(static_cast<int>(i));
    const char* mode = r.mode == policy::Mode::kShadow ? " [shadow]" : "";
    if (!t.matched()) {
      out << absl::StrFormat("  -   %-32s no match: %s%s\n", r.id, t.why_not(), mode);
      continue;
    }
    out << absl::StrFormat("  %s  %-32s %s: %s%s\n", t.decided() ? "=>" : (t.applies() ? "! " : "+ "), r.id,
                           t.effect(), t.check(), mode);
  }
  const v1::Decision& d = explained.decision();
  out << "\ndecision: " << DecisionText(d.decision());
  if (!d.rule_id().empty()) out << " by " << d.rule_id();
  out << " — " << d.reason();
  if (d.decision() == v1::DEFER) out << " (until " << DeferUntil(d) << ")";
  out << "\n";
  for (const v1::ShadowOutcome& s : d.shadow_outcomes()) {
    out << "shadow: " << s.rule_id() << " would have " << DecisionText(s.decision()) << " — " << s.reason() << "\n";
  }
}

}  // namespace tact::cli
