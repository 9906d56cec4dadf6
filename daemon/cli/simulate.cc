

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/cli/explain.h"
#include "daemon/cli/simulate.h"
#include "daemon/core/strings.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/replay.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include <algorithm>
#include <ostream>
#include <sstream>
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

using nlohmann::json;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

absl::StatusOr<policy::Signal> SignalFromJson(const json& s, const std::string& where) {
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
  return sig;
}

absl::StatusOr<SimInput> ParseSimLine(const std::string& line, int n, const std::string& where) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError(where + "not a JSON object");
  if (j.contains("signal")) {
    absl::StatusOr<policy::Signal> sig = SignalFromJson(j["signal"], where);
    if (!sig.ok()) return sig.status();
    return SimInput{.line = n, .at = sig->at, .signal = *std::move(sig)};
  }
  auto parsed = EventFromJson(line, where);
  if (!parsed.ok()) return parsed.status();
  if (parsed->second == absl::InfinitePast()) return absl::InvalidArgumentError(where + "createdAt: required");
  return SimInput{.line = n, .at = parsed->second, .event = parsed->first};
}

json TableJson(const DecisionTable& t) {
  json j = json::object();
  for (const auto& [k, m] : t) j[k] = m;
  return j;
}

void PrintTable(const char* title, const DecisionTable& t, std::ostream& out) {
  out << absl::StrFormat("\n%s\n  %-34s %8s %8s %8s\n", title, "", "RELEASE", "DEFER", "SUPPRESS");
  for (const auto& [k, m] : t) {
    auto get = [&](const char* d) {
      auto it = m.find(d);
      return it == m.end() ? 0 : it->second;
    };
    out << absl::StrFormat("  %-34s %8d %8d %8d\n", k, get("RELEASE"), get("DEFER"), get("SUPPRESS"));
  }
}

struct Compared {
  std::shared_ptr<const policy::Policy> policy;
  SimRun run;
  std::vector<Change> changes;
};

void PrintJson(const policy::Policy& policy, const SimRun& run, const std::optional<Compared>& other,
               std::ostream& out) {
  json j{{"policy_version", policy.version},
         {"events", run.by_line.size()},
         {"totals", run.totals},
         {"per_rule", TableJson(run.per_rule)},
         {"per_class", TableJson(run.per_class)},
         {"shadow_would_have", TableJson(run.shadow)}};
  if (other) {
    json c = json::array();
    for (const Change& ch : other->changes) {
      c.push_back({{"line", ch.line}, {"event_id", ch.event_id}, {"before", ch.before}, {"after", ch.after}});
    }
    j["compare"] = {{"policy_version", other->policy->version}, {"totals", other->run.totals}, {"changed", c}};
  }
  out << j.dump(2) << "\n";
}

void PrintText(const SimulateArgs& args, const policy::Policy& policy, const SimRun& run,
               const std::optional<Compared>& other, std::ostream& out) {
  out << absl::StrFormat("policy %s: %d event(s) replayed from %s\n", policy.version, run.by_line.size(),
                         args.events);
  std::string totals;
  for (const auto& [k, v] : run.totals) absl::StrAppend(&totals, totals.empty() ? "" : ", ", v, " ", k);
  out << "totals: " << (totals.empty() ? "none" : totals) << "\n";
  PrintTable("by deciding rule ('-' = no rule constrained it):", run.per_rule, out);
  PrintTable("by message class:", run.per_class, out);
  if (!run.shadow.empty()) PrintTable("shadow rules, what they would have done:", run.shadow, out);
  if (!other) return;
  out << absl::StrFormat("\ncompared with policy %s (%s): %d decision(s) change\n", other->policy->version,
                         args.compare_dir, other->changes.size());
  for (const Change& ch : other->changes) {
    out << absl::StrFormat("  %s:%d  %-28s %s -> %s\n", args.events, ch.line, ch.event_id, ch.before, ch.after);
  }
}

// The policy at `dir`; the error already printed.
absl::StatusOr<std::shared_ptr<const policy::Policy>> LoadPolicy(const std::string& dir, const Streams& io) {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(dir);
  if (!p.ok()) {
    io.err << Msg(p.status()) << "\n";
    return p.status();
  }
  return std::make_shared<const policy::Policy>(*std::move(p));
}

// Replay, the error already printed.
absl::StatusOr<SimRun> ReplayOrSay(std::shared_ptr<const policy::Policy> policy, const std::vector<SimInput>& inputs,
                                   const Streams& io) {
  absl::StatusOr<SimRun> run = Replay(std::move(policy), inputs);
  if (!run.ok()) io.err << "tactctl simulate: " << Msg(run.status()) << "\n";
  return run;
}

}  // namespace

absl::StatusOr<std::vector<SimInput>> ParseSimInputs(const std::string& path, const std::string& text) {
  std::istringstream in(text);
  std::vector<SimInput> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<SimInput> input = ParseSimLine(line, n, absl::StrCat(path, ":", n, ": "));
    if (!input.ok()) return input.status();
    out.push_back(*std::move(input));
  }
  std::stable_sort(out.begin(), out.end(), [](const SimInput& a, const SimInput& b) { return a.at < b.at; });
  return out;
}

absl::StatusOr<SimRun> Replay(std::shared_ptr<const policy::Policy> policy, const std::vector<SimInput>& inputs) {
  store::InMemoryCounterStore store;
  decision::Replayer replay(std::move(policy), store);
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
    const v1::Decision& dec = d->decision();
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

std::vector<Change> Changes(const std::vector<SimInput>& inputs, const SimRun& before, const SimRun& after) {
  auto text = [](const v1::Decision& d) {
    return absl::StrCat(AsAbsl(decision::DecisionName(d.decision())), d.rule_id().empty() ? "" : " by ",
                        d.rule_id());
  };
  std::vector<Change> changes;
  for (const SimInput& in : inputs) {
    if (!in.event) continue;
    const v1::Decision& a = before.by_line.at(absl::StrCat(in.line));
    const v1::Decision& b = after.by_line.at(absl::StrCat(in.line));
    if (a.decision() != b.decision() || a.rule_id() != b.rule_id()) {
      changes.push_back({in.line, in.event->event_id, text(a), text(b)});
    }
  }
  return changes;
}

int Simulate(const SimulateArgs& args, const Streams& io) {
  const absl::StatusOr<std::shared_ptr<const policy::Policy>> policy = LoadPolicy(args.policy_dir, io);
  if (!policy.ok()) return kExitUsage;
  absl::StatusOr<std::string> text = ReadText(args.events);
  absl::StatusOr<std::vector<SimInput>> inputs =
      text.ok() ? ParseSimInputs(args.events, *text) : absl::StatusOr<std::vector<SimInput>>(text.status());
  if (!inputs.ok()) {
    io.err << "tactctl simulate: " << Msg(inputs.status()) << "\n";
    return kExitUsage;
  }
  const absl::StatusOr<SimRun> run = ReplayOrSay(*policy, *inputs, io);
  if (!run.ok()) return kExitUsage;
  std::optional<Compared> other;
  if (!args.compare_dir.empty()) {
    absl::StatusOr<std::shared_ptr<const policy::Policy>> second = LoadPolicy(args.compare_dir, io);
    if (!second.ok()) return kExitUsage;
    absl::StatusOr<SimRun> second_run = ReplayOrSay(*second, *inputs, io);
    if (!second_run.ok()) return kExitUsage;
    std::vector<Change> changes = Changes(*inputs, *run, *second_run);
    other = Compared{*std::move(second), *std::move(second_run), std::move(changes)};
  }
  if (args.json) {
    PrintJson(**policy, *run, other, io.out);
  } else {
    PrintText(args, **policy, *run, other, io.out);
  }
  return kExitOk;
}

}  // namespace tact::cli
