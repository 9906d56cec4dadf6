// tactctl policy verbs: lint, test, explain, simulate. Offline: no Redis, no Kafka (an in-memory store).
// Exit codes: 0 ok; 1 the check failed (lint errors, failing policy tests); 2 usage or unreadable input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/clock.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_test_runner.h"
#include "daemon/decision/replay.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"
#include "daemon/decision/policy_files.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/tactctl/commands.h"
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

using nlohmann::json;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::string Rfc3339(absl::Time t) { return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone()); }

int LoadErrorExit(const absl::Status& s) { return absl::IsInvalidArgument(s) ? kExitFailed : kExitUsage; }

// ---- lint ---------------------------------------------------------------------------------------------------

// Every error of the set (policy::LintPolicy: parsing goes on after an error), sorted by file and line.
std::vector<std::string> LintErrors(const std::vector<policy::PolicyFile>& files, absl::StatusOr<policy::Policy>* out) {
  std::vector<std::string> errors = policy::LintPolicy(files);
  if (errors.empty()) {
    *out = policy::ParsePolicy(files);
    if (!out->ok()) errors.push_back(Msg(out->status()));  // cannot happen: LintPolicy found nothing
  }
  return errors;
}

int Lint(const std::string& dir, bool as_json) {
  absl::StatusOr<std::vector<policy::PolicyFile>> files = decision::ReadPolicyDir(dir);
  if (!files.ok()) {
    std::fprintf(stderr, "tactctl lint: %s\n", Msg(files.status()).c_str());
    return kExitUsage;
  }
  if (files->empty()) {
    std::fprintf(stderr, "%s: no policy files (expected *.yaml)\n", dir.c_str());
    return kExitFailed;
  }
  absl::StatusOr<policy::Policy> p = absl::UnknownError("not parsed");
  const std::vector<std::string> errors = LintErrors(*files, &p);
  if (as_json) {
    json j{{"dir", dir}, {"ok", errors.empty()}, {"errors", errors}};
    if (errors.empty()) {
      j["version"] = p->version;
      j["digest"] = p->digest;
      j["rules"] = p->rules.size();
    }
    std::printf("%s\n", j.dump().c_str());
    return errors.empty() ? kExitOk : kExitFailed;
  }
  for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "%zu error(s)\n", errors.size());
    return kExitFailed;
  }
  std::printf("%s: ok — policy version %s, %zu rule(s), digest %s\n", dir.c_str(), p->version.c_str(),
              p->rules.size(), p->digest.c_str());
  return kExitOk;
}

// ---- test ---------------------------------------------------------------------------------------------------

// <dir>/tests when it exists, else <dir>/../tests; an error when <dir>/tests is there but unusable (a file, a
// symlink loop).
absl::StatusOr<std::string> DefaultTestsDir(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string inside = (fs::path(dir) / "tests").string();
  TACT_ASSIGN_OR_RETURN(const bool exists, decision::OptionalDirectory(inside));
  if (exists) return inside;
  return (fs::path(dir).lexically_normal().parent_path() / "tests").string();
}

int Test(const std::string& dir, std::string tests_dir, bool as_json) {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(dir);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", Msg(p.status()).c_str());
    return LoadErrorExit(p.status());
  }
  if (tests_dir.empty()) {
    absl::StatusOr<std::string> found = DefaultTestsDir(dir);
    if (!found.ok()) {
      std::fprintf(stderr, "%s\n", Msg(found.status()).c_str());
      return kExitUsage;
    }
    tests_dir = *std::move(found);
  }
  absl::StatusOr<std::vector<decision::PolicyTestCase>> cases = decision::LoadPolicyTests(tests_dir);
  if (!cases.ok()) {
    std::fprintf(stderr, "%s\n", Msg(cases.status()).c_str());
    return LoadErrorExit(cases.status());
  }
  auto policy = std::make_shared<const policy::Policy>(*std::move(p));
  const std::vector<decision::CaseResult> results = decision::RunPolicyTests(policy, *cases);
  size_t failed = 0;
  json j = json::array();
  for (const decision::CaseResult& r : results) {
    failed += !r.passed;
    if (as_json) {
      j.push_back({{"file", r.test->file}, {"line", r.test->line}, {"name", r.test->name}, {"passed", r.passed},
                   {"failures", r.failures}});
      continue;
    }
    std::printf("%s %s:%d: %s\n", r.passed ? "PASS" : "FAIL", r.test->file.c_str(), r.test->line,
                r.test->name.c_str());
    for (const std::string& f : r.failures) std::printf("     %s\n", f.c_str());
  }
  if (as_json) {
    std::printf("%s\n", json{{"policy_version", policy->version}, {"passed", results.size() - failed},
                             {"failed", failed}, {"cases", j}}
                            .dump()
                            .c_str());
  } else {
    std::printf("\n%zu passed, %zu failed (policy %s, tests %s)\n", results.size() - failed, failed,
                policy->version.c_str(), tests_dir.c_str());
  }
  if (results.empty()) {
    std::fprintf(stderr, "%s: no test cases found\n", tests_dir.c_str());
    return kExitFailed;
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

// ---- explain ------------------------------------------------------------------------------------------------

absl::StatusOr<std::pair<Event, absl::Time>> EventFromJson(const std::string& text, const std::string& where) {
  absl::StatusOr<v1::OutboundEvent> proto = pipeline::DecodeOutboundEvent(text, "application/json");
  if (!proto.ok()) return absl::InvalidArgumentError(absl::StrCat(where, Msg(proto.status())));
  absl::StatusOr<Event> ev = EventFromProto(*proto);
  if (!ev.ok()) return absl::InvalidArgumentError(absl::StrCat(where, Msg(ev.status())));
  const absl::Time at = proto->has_created_at() ? absl::FromUnixSeconds(proto->created_at().seconds())
                                                : absl::InfinitePast();
  return std::make_pair(*std::move(ev), at);
}

std::string ReadAll(const std::string& path_or_text) {
  if (!path_or_text.empty() && path_or_text.front() == '{') return path_or_text;
  std::ifstream in(path_or_text == "-" ? "/dev/stdin" : path_or_text, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ExplainOptions {
  std::string policy_dir;
  std::string event;
  std::string at;
  std::string state;  // customer state file (YAML or JSON); empty = no history
  bool json = false;
};

struct StateSummary {
  std::string source = "empty";
  int signals = 0;
  int messages = 0;
  std::map<std::string, int64_t> usage;
  std::string Text() const {
    if (source == "empty") return "empty";
    return absl::StrCat(source, ": ", signals, " signal(s), ", messages, " earlier message(s), usage given for ",
                        usage.size(), " rule(s)");
  }
};

// Loads --state into `store`: replays its steps (signals; earlier messages decided and counted as tactd would)
// up to `at`, then sets the counters it gives per rule. INVALID_ARGUMENT on a bad file.
absl::StatusOr<StateSummary> LoadState(const std::string& path, std::shared_ptr<const policy::Policy> pol,
                                       const Event& ev, absl::Time at, store::InMemoryCounterStore& store) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--state: cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  TACT_ASSIGN_OR_RETURN(decision::CustomerState state,
                        decision::ParseCustomerState(path, text.str(), ev.tenant, ev.customer_id,
                                                                     ev.customer_timezone));
  StateSummary sum{.source = path, .usage = state.usage};
  std::stable_sort(state.steps.begin(), state.steps.end(),
                   [](const decision::TestStep& a, const decision::TestStep& b) { return a.at < b.at; });
  decision::Replayer replay(pol, store);
  for (const decision::TestStep& step : state.steps) {
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
  const policy::Plan plan = policy::Evaluate(*pol, ev, at);
  for (const auto& [rule, used] : state.usage) {
    auto it = std::find_if(plan.limits.begin(), plan.limits.end(),
                           [&](const policy::LimitCheck& l) { return l.rule_id == rule; });
    if (it == plan.limits.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": usage: rule '", rule, "' is not a limit that applies to this event"));
    }
    store.SeedUsage(ev.tenant, ev.customer_id, *it, used, at);
  }
  return sum;
}

int Explain(const ExplainOptions& o) {
  absl::StatusOr<policy::Policy> loaded = decision::LoadPolicyDir(o.policy_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", Msg(loaded.status()).c_str());
    return kExitUsage;
  }
  const auto p = std::make_shared<const policy::Policy>(*std::move(loaded));
  auto parsed = EventFromJson(ReadAll(o.event), "--event: ");
  if (!parsed.ok()) {
    std::fprintf(stderr, "tactctl explain: %s\n", Msg(parsed.status()).c_str());
    return kExitUsage;
  }
  const Event& ev = parsed->first;
  absl::Time at = parsed->second;
  if (!o.at.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, o.at, &at, &err)) {
      std::fprintf(stderr, "tactctl explain: --at: bad time '%s' (expected RFC 3339)\n", o.at.c_str());
      return kExitUsage;
    }
  }
  if (at == absl::InfinitePast()) at = SystemClock().Now();

  // The pure engine step by step, against an in-memory store: empty, or the customer's state from --state.
  store::InMemoryCounterStore store;
  StateSummary state;
  if (!o.state.empty()) {
    absl::StatusOr<StateSummary> loaded_state = LoadState(o.state, p, ev, at, store);
    if (!loaded_state.ok()) {
      std::fprintf(stderr, "tactctl explain: %s\n", Msg(loaded_state.status()).c_str());
      return kExitUsage;
    }
    state = *std::move(loaded_state);
  }
  const policy::Plan plan = policy::Evaluate(*p, ev, at);
  policy::StoreOutcome outcome;
  if (plan.NeedsStore()) {
    const store::CustomerCheck check{.tenant = ev.tenant, .customer_id = ev.customer_id, .event_id = ev.event_id,
                                     .now = at, .plan = &plan, .dry_run = true};
    outcome = (*store.CheckAndReserve({&check, 1}, at + absl::Seconds(1)))[0].outcome;
  }
  const policy::Verdicts v = policy::Decide(plan, outcome);
  const std::vector<policy::TraceLine> trace = policy::Explain(*p, plan, outcome, v);
  std::string zone;
  policy::CustomerZone(*p, ev, &zone);

  if (o.json) {
    json rules = json::array();
    size_t ti = 0;
    for (const policy::Rule& r : p->rules) {
      json jr{{"rule", r.id}, {"source", absl::StrCat(r.file, ":", r.line)}, {"mode", r.mode == policy::Mode::kShadow ? "shadow" : "enforce"}};
      const std::string why = policy::WhyNoMatch(r, ev);
      jr["matched"] = why.empty();
      if (!why.empty()) {
        jr["why_not"] = why;
      } else if (ti < trace.size()) {
        const policy::TraceLine& t = trace[ti++];
        jr["effect"] = t.effect;
        jr["check"] = t.check;
        jr["applies"] = t.applies;
        jr["decided"] = t.decided;
      }
      rules.push_back(std::move(jr));
    }
    json shadow = json::array();
    for (const auto& s : v.shadow) {
      shadow.push_back({{"rule", std::string(s.rule_id)}, {"decision", policy::VerdictName(s.verdict)}, {"reason", s.reason}});
    }
    std::vector<std::string> matched(v.matched_rules.begin(), v.matched_rules.end());
    json out{{"event_id", ev.event_id},
             {"at", Rfc3339(at)},
             {"timezone", zone},
             {"policy_version", p->version},
             {"policy_digest", p->digest},
             {"decision", policy::VerdictName(v.verdict)},
             {"rule", std::string(v.rule_id)},
             {"reason", v.reason},
             {"matched_rules", matched},
             {"shadow", shadow},
             {"state", {{"source", state.source}, {"signals", state.signals}, {"messages", state.messages},
                        {"usage", state.usage}}},
             {"rules", rules}};
    if (v.verdict == policy::Verdict::kDefer) out["defer_until"] = Rfc3339(v.defer_until);
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("event %s  %s %s  tenant %s  at %s (customer zone %s)\n", ev.event_id.c_str(),
              std::string(ClassName(ev.message_class)).c_str(), std::string(ChannelName(ev.channel)).c_str(),
              ev.tenant.c_str(), Rfc3339(at).c_str(), zone.c_str());
  std::printf("policy %s  digest %s  (customer state: %s; offline)\n\n", p->version.c_str(), p->digest.c_str(),
              state.Text().c_str());
  std::printf("precedence: suppress_if, then limits, then quiet_hours; within each, policy order\n");
  size_t ti = 0;
  for (const policy::Rule& r : p->rules) {
    const std::string why = policy::WhyNoMatch(r, ev);
    const char* mode = r.mode == policy::Mode::kShadow ? " [shadow]" : "";
    if (!why.empty()) {
      std::printf("  -   %-32s no match: %s%s\n", r.id.c_str(), why.c_str(), mode);
      continue;
    }
    const policy::TraceLine& t = trace[ti++];
    std::printf("  %s  %-32s %s: %s%s\n", t.decided ? "=>" : (t.applies ? "! " : "+ "), r.id.c_str(), t.effect.c_str(),
                t.check.c_str(), mode);
  }
  std::printf("\ndecision: %s", std::string(policy::VerdictName(v.verdict)).c_str());
  if (!v.rule_id.empty()) std::printf(" by %s", std::string(v.rule_id).c_str());
  std::printf(" — %s", v.reason.c_str());
  if (v.verdict == policy::Verdict::kDefer) std::printf(" (until %s)", Rfc3339(v.defer_until).c_str());
  std::printf("\n");
  for (const auto& s : v.shadow) {
    std::printf("shadow: %s would have %s — %s\n", std::string(s.rule_id).c_str(), std::string(policy::VerdictName(s.verdict)).c_str(),
                s.reason.c_str());
  }
  return kExitOk;
}

// ---- simulate -----------------------------------------------------------------------------------------------

struct SimInput {
  int line = 0;
  absl::Time at;
  std::optional<Event> event;
  std::optional<policy::Signal> signal;
};

// One JSON object per line: an OutboundEvent (proto3 JSON; createdAt is when it is decided), or
// {"signal": {"tenant","customerId","kind","value","ref","channel","at","expires"}}.
absl::StatusOr<std::vector<SimInput>> ReadEvents(const std::string& path) {
  std::ifstream in(path == "-" ? "/dev/stdin" : path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::vector<SimInput> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = absl::StrCat(path, ":", n, ": ");
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError(where + "not a JSON object");
    if (j.contains("signal")) {
      const json& s = j["signal"];
      policy::Signal sig;
      sig.tenant = s.value("tenant", "");
      sig.customer_id = s.value("customerId", s.value("customer_id", ""));
      if (!s.contains("kind") || !policy::ParseSignalKind(s.value("kind", ""), &sig.kind)) {
        return absl::InvalidArgumentError(where + "signal.kind: unknown or missing");
      }
      sig.csat = s.value("value", 0);
      sig.ref = s.value("ref", "");
      if (s.contains("channel")) v1::Channel_Parse(s.value("channel", ""), &sig.channel);
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, s.value("at", ""), &sig.at, &err)) {
        return absl::InvalidArgumentError(where + "signal.at: required RFC 3339 time");
      }
      if (s.contains("expires") && !absl::ParseTime(absl::RFC3339_full, s.value("expires", ""), &sig.expires_at, &err)) {
        return absl::InvalidArgumentError(where + "signal.expires: bad RFC 3339 time");
      }
      out.push_back({.line = n, .at = sig.at, .signal = sig});
      continue;
    }
    auto parsed = EventFromJson(line, where);
    if (!parsed.ok()) return parsed.status();
    if (parsed->second == absl::InfinitePast()) return absl::InvalidArgumentError(where + "createdAt: required");
    out.push_back({.line = n, .at = parsed->second, .event = parsed->first});
  }
  std::stable_sort(out.begin(), out.end(), [](const SimInput& a, const SimInput& b) { return a.at < b.at; });
  return out;
}

struct SimRun {
  std::map<std::string, v1::Decision> by_line;  // "<line>" → decision, in input order
  std::map<std::string, std::map<std::string, int>> per_rule;   // deciding rule (or "-") → decision → n
  std::map<std::string, std::map<std::string, int>> per_class;  // class → decision → n
  std::map<std::string, std::map<std::string, int>> shadow;     // shadow rule → would-have decision → n
  std::map<std::string, int> totals;
};

absl::StatusOr<SimRun> Simulate(std::shared_ptr<const policy::Policy> policy, const std::vector<SimInput>& inputs) {
  store::InMemoryCounterStore store;
  decision::Replayer replay(policy, store);
  SimRun run;
  for (const SimInput& in : inputs) {
    if (in.signal) {
      if (absl::Status s = replay.PutSignal(*in.signal, in.at); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", in.line, ": ", Msg(s)));
      }
      continue;
    }
    absl::StatusOr<decision::Decided> d = replay.Decide(*in.event, in.at);
    if (!d.ok()) return absl::InternalError(absl::StrCat("line ", in.line, ": ", Msg(d.status())));
    const v1::Decision& dec = d->decision;
    const std::string kind(decision::DecisionName(dec.decision()));
    run.by_line[absl::StrCat(in.line)] = dec;
    run.totals[kind]++;
    run.per_rule[dec.rule_id().empty() ? "-" : dec.rule_id()][kind]++;
    run.per_class[std::string(ClassName(in.event->message_class))][kind]++;
    for (const auto& s : dec.shadow_outcomes()) {
      run.shadow[s.rule_id()][std::string(decision::DecisionName(s.decision()))]++;
    }
  }
  return run;
}

json TableJson(const std::map<std::string, std::map<std::string, int>>& t) {
  json j = json::object();
  for (const auto& [k, m] : t) j[k] = m;
  return j;
}

void PrintTable(const char* title, const std::map<std::string, std::map<std::string, int>>& t) {
  std::printf("\n%s\n  %-34s %8s %8s %8s\n", title, "", "RELEASE", "DEFER", "SUPPRESS");
  for (const auto& [k, m] : t) {
    auto get = [&](const char* d) { auto it = m.find(d); return it == m.end() ? 0 : it->second; };
    std::printf("  %-34s %8d %8d %8d\n", k.c_str(), get("RELEASE"), get("DEFER"), get("SUPPRESS"));
  }
}

struct SimulateOptions {
  std::string policy_dir;
  std::string events;
  std::string compare_dir;
  bool json = false;
};

int SimulateCmd(const SimulateOptions& o) {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(o.policy_dir);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", Msg(p.status()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::vector<SimInput>> inputs = ReadEvents(o.events);
  if (!inputs.ok()) {
    std::fprintf(stderr, "tactctl simulate: %s\n", Msg(inputs.status()).c_str());
    return kExitUsage;
  }
  auto policy = std::make_shared<const policy::Policy>(*std::move(p));
  absl::StatusOr<SimRun> run = Simulate(policy, *inputs);
  if (!run.ok()) {
    std::fprintf(stderr, "tactctl simulate: %s\n", Msg(run.status()).c_str());
    return kExitUsage;
  }
  std::optional<SimRun> other;
  std::shared_ptr<const policy::Policy> other_policy;
  if (!o.compare_dir.empty()) {
    absl::StatusOr<policy::Policy> q = decision::LoadPolicyDir(o.compare_dir);
    if (!q.ok()) {
      std::fprintf(stderr, "%s\n", Msg(q.status()).c_str());
      return kExitUsage;
    }
    other_policy = std::make_shared<const policy::Policy>(*std::move(q));
    absl::StatusOr<SimRun> r = Simulate(other_policy, *inputs);
    if (!r.ok()) {
      std::fprintf(stderr, "tactctl simulate: %s\n", Msg(r.status()).c_str());
      return kExitUsage;
    }
    other = *std::move(r);
  }
  // Changed decisions: same input line, different decision or deciding rule.
  struct Change {
    int line;
    std::string event_id;
    std::string before;
    std::string after;
  };
  std::vector<Change> changes;
  if (other) {
    for (const SimInput& in : *inputs) {
      if (!in.event) continue;
      const v1::Decision& a = run->by_line.at(absl::StrCat(in.line));
      const v1::Decision& b = other->by_line.at(absl::StrCat(in.line));
      if (a.decision() != b.decision() || a.rule_id() != b.rule_id()) {
        auto text = [](const v1::Decision& d) {
          return absl::StrCat(AsAbsl(decision::DecisionName(d.decision())), d.rule_id().empty() ? "" : " by ", d.rule_id());
        };
        changes.push_back({in.line, in.event->event_id, text(a), text(b)});
      }
    }
  }
  if (o.json) {
    json j{{"policy_version", policy->version},
           {"events", run->by_line.size()},
           {"totals", run->totals},
           {"per_rule", TableJson(run->per_rule)},
           {"per_class", TableJson(run->per_class)},
           {"shadow_would_have", TableJson(run->shadow)}};
    if (other) {
      json c = json::array();
      for (const Change& ch : changes) {
        c.push_back({{"line", ch.line}, {"event_id", ch.event_id}, {"before", ch.before}, {"after", ch.after}});
      }
      j["compare"] = {{"policy_version", other_policy->version}, {"totals", other->totals}, {"changed", c}};
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("policy %s: %zu event(s) replayed from %s\n", policy->version.c_str(), run->by_line.size(),
              o.events.c_str());
  std::string totals;
  for (const auto& [k, v] : run->totals) absl::StrAppend(&totals, totals.empty() ? "" : ", ", v, " ", k);
  std::printf("totals: %s\n", totals.empty() ? "none" : totals.c_str());
  PrintTable("by deciding rule ('-' = no rule constrained it):", run->per_rule);
  PrintTable("by message class:", run->per_class);
  if (!run->shadow.empty()) PrintTable("shadow rules, what they would have done:", run->shadow);
  if (other) {
    std::printf("\ncompared with policy %s (%s): %zu decision(s) change\n", other_policy->version.c_str(),
                o.compare_dir.c_str(), changes.size());
    for (const Change& ch : changes) {
      std::printf("  %s:%d  %-28s %s -> %s\n", o.events.c_str(), ch.line, ch.event_id.c_str(), ch.before.c_str(),
                  ch.after.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, RunFn& run) {
  {
    struct Opts {
      std::string dir;
      bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* lint = app.add_subcommand(
        "lint", "Validate a policy directory; errors print as file:line:col: message (exit 1 on any error)");
    lint->add_option("dir", o->dir, "Policy directory (*.yaml directly inside it)")->required();
    lint->add_flag("--json", o->json, "Print {ok, errors[], version, digest, rules} as JSON");
    lint->callback([o, &run] { run = [o] { return Lint(o->dir, o->json); }; });
  }
  {
    struct Opts {
      std::string dir;
      std::string tests;
      bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* test = app.add_subcommand(
        "test", "Run policy tests (customer state + timed events -> expected decisions); exit 1 if any fails");
    test->add_option("dir", o->dir, "Policy directory")->required();
    test->add_option("--tests", o->tests, "Test directory (default: <dir>/tests, else <dir>/../tests)");
    test->add_flag("--json", o->json, "Machine-readable results");
    test->callback([o, &run] { run = [o] { return Test(o->dir, o->tests, o->json); }; });
  }
  {
    auto o = std::make_shared<ExplainOptions>();
    CLI::App* explain = app.add_subcommand(
        "explain", "Show the full rule trace for one event (offline, nothing recorded; customer state from --state)");
    explain->add_option("--policy", o->policy_dir, "Policy directory")->required();
    explain->add_option("--event", o->event, "The event as JSON (OutboundEvent), a file with it, or - for stdin")
        ->required();
    explain->add_option("--at", o->at, "Decide at this RFC 3339 time (default: the event's createdAt, else now)");
    explain->add_option("--state", o->state,
                        "Customer state file (YAML or JSON): signals and earlier messages as timed steps, and "
                        "counter usage per rule (format: policies/README.md)");
    explain->add_flag("--json", o->json, "Machine-readable trace");
    explain->callback([o, &run] { run = [o] { return Explain(*o); }; });
  }
  {
    auto o = std::make_shared<SimulateOptions>();
    CLI::App* sim = app.add_subcommand(
        "simulate", "Replay events offline with an in-memory store and summarise the decisions per rule and class");
    sim->add_option("--policy", o->policy_dir, "Policy directory")->required();
    sim->add_option("--events", o->events,
                    "JSON lines: OutboundEvent (decided at createdAt) or {\"signal\":{...}}; - for stdin")
        ->required();
    sim->add_option("--compare", o->compare_dir, "A second policy directory: list the decisions that change");
    sim->add_flag("--json", o->json, "Machine-readable summary");
    sim->callback([o, &run] { run = [o] { return SimulateCmd(*o); }; });
  }
}

}  // namespace tact::cli
