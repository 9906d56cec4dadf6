// tactctl erlang: the contact-centre capacity calculator.
#include <ostream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/capacity/erlang.h"
#include "daemon/cli/capacity_verbs.h"

namespace tact::cli {
namespace {

using nlohmann::json;

json Number(std::optional<double> v) { return v.has_value() ? json(*v) : json(nullptr); }

// The first value out of range, as "--flag: must be ..."; empty when all are fine.
std::string RangeError(const ErlangArgs& a) {
  if (!(a.calls >= 0)) return "--calls: must be >= 0";
  if (!(a.interval_s > 0)) return "--interval-s: must be > 0";
  if (!(a.aht_s > 0 && a.aht_s <= 86400)) return "--aht-s: must be in (0, 86400]";
  if (a.agents < 0 || a.agents > 100000) return "--agents: must be in [0, 100000]";
  if (!(a.threshold_s >= 0)) return "--threshold-s: must be >= 0";
  if (!(a.patience_s >= 0 && a.patience_s <= 86400)) return "--patience-s: must be in (0, 86400]";
  if (!(a.target_sl > 0 && a.target_sl < 1)) return "--target-sl: must be in (0, 1)";
  if (!(a.shrinkage >= 0 && a.shrinkage <= 0.95)) return "--shrinkage: must be in [0, 0.95]";
  if (!(a.max_asa_s >= 0 && a.max_asa_s <= 86400)) return "--max-asa-s: must be in [0, 86400]";
  if (!(a.max_abandon >= 0 && a.max_abandon < 1)) return "--max-abandon: must be in [0, 1)";
  if (a.max_abandon > 0 && a.patience_s == 0) return "--max-abandon: needs --patience-s (Erlang A)";
  if (!(a.max_occupancy >= 0 && a.max_occupancy <= 1)) return "--max-occupancy: must be in [0, 1]";
  return "";
}

// The targets agents needed must all hold, as one sentence: "80% in 20 s, 90% in 90 s, ASA <= 30 s".
std::string TargetText(const capacity::Target& t) {
  std::vector<std::string> parts{absl::StrFormat("%g%% in %g s", 100 * t.service_level, t.threshold_s)};
  for (const capacity::ServiceLevelPoint& p : t.more_service_levels) {
    parts.push_back(absl::StrFormat("%g%% in %g s", 100 * p.service_level, p.threshold_s));
  }
  if (t.max_asa_s > 0) parts.push_back(absl::StrFormat("ASA <= %g s", t.max_asa_s));
  if (t.max_abandon > 0) parts.push_back(absl::StrFormat("abandonment <= %g%%", 100 * t.max_abandon));
  if (t.max_occupancy > 0) parts.push_back(absl::StrFormat("occupancy <= %g%%", 100 * t.max_occupancy));
  return absl::StrJoin(parts, ", ");
}

void PrintErlangText(const ErlangArgs& a, const capacity::Target& target, const capacity::Metrics& m, int needed,
                     std::ostream& out) {
  out << absl::StrFormat("offered load    %.3f Erlangs (%g calls × %g s AHT / %g s), %d agents\n",
                         m.offered_erlangs, a.calls, a.aht_s, a.interval_s, a.agents);
  out << "model           "
      << (m.model == capacity::Model::kErlangA ? absl::StrFormat("Erlang A (mean patience %g s)", a.patience_s)
                                               : "Erlang C (no abandonment; give --patience-s for Erlang A)")
      << "\n";
  if (!m.stable) {
    out << absl::StrFormat("UNSTABLE        %d agents <= %.3f Erlangs: the queue grows without bound\n", a.agents,
                           m.offered_erlangs);
  }
  out << absl::StrFormat("P(wait)         %.4f\n", m.p_wait);
  out << absl::StrFormat("service level   %.2f%% answered within %g s\n", 100 * m.service_level, a.threshold_s);
  out << "ASA             " << (m.asa_s ? absl::StrFormat("%.2f s", *m.asa_s) : "unbounded") << "\n";
  out << absl::StrFormat("occupancy       %.2f%%\n", 100 * m.occupancy);
  out << "abandonment     "
      << (m.model == capacity::Model::kErlangA ? absl::StrFormat("%.2f%%", 100 * m.abandon_rate) : "-") << "\n";
  if (needed < 0) {
    out << "agents needed   none up to 100000 reach " << TargetText(target) << "\n";
    return;
  }
  out << absl::StrFormat("agents needed   %d on the phones for %s", needed, TargetText(target));
  if (a.shrinkage > 0) {
    out << absl::StrFormat(" = %d scheduled at %.0f%% shrinkage", capacity::ScheduledAgents(needed, a.shrinkage),
                           100 * a.shrinkage);
  }
  out << "\n";
}

}  // namespace

absl::StatusOr<capacity::ServiceLevelPoint> ParseServiceLevelFlag(const std::string& flag, const std::string& text) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  capacity::ServiceLevelPoint p;
  if (!absl::SimpleAtod(absl::StripSuffix(parts.first, "%"), &p.service_level) ||
      !absl::SimpleAtod(absl::StripSuffix(parts.second, "s"), &p.threshold_s) || !(p.service_level > 0) ||
      !(p.service_level < 100) || !(p.threshold_s >= 0 && p.threshold_s <= 3600)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": must be <percent>/<seconds> with a percent in (0, 100) and seconds in [0, 3600], "
                           "e.g. 90/90 for 90% in 90 s"));
  }
  p.service_level /= 100;
  return p;
}

int Erlang(const ErlangArgs& a, const Streams& io) {
  if (const std::string error = RangeError(a); !error.empty()) {
    io.err << "tactctl: " << error << "\n";
    return kExitUsage;
  }
  const capacity::Workload w{.calls = a.calls, .interval_s = a.interval_s, .aht_s = a.aht_s,
                             .patience_s = a.patience_s};
  capacity::Target target{.service_level = a.target_sl, .threshold_s = a.threshold_s, .max_asa_s = a.max_asa_s,
                          .max_abandon = a.max_abandon, .max_occupancy = a.max_occupancy};
  for (const std::string& sl : a.service_levels) {
    absl::StatusOr<capacity::ServiceLevelPoint> p = ParseServiceLevelFlag("--sl", sl);
    if (!p.ok()) {
      io.err << "tactctl: " << p.status().message() << "\n";
      return kExitUsage;
    }
    target.more_service_levels.push_back(*p);
  }
  // One model for every figure (as tactctl plan): Erlang A when the patience is known, Erlang C otherwise.
  const capacity::Metrics m = capacity::Evaluate(w, a.agents, a.threshold_s);
  const int needed = capacity::AgentsNeeded(w, target);
  if (a.json) {
    const json out = {{"model", std::string(capacity::ModelName(m.model))},
                      {"p_wait", m.p_wait},
                      {"service_level", m.service_level},
                      {"asa_seconds", Number(m.asa_s)},
                      {"occupancy", m.occupancy},
                      {"abandon_rate", m.abandon_rate},
                      {"agents_needed", needed}};
    io.out << out.dump() << "\n";
    return kExitOk;
  }
  PrintErlangText(a, target, m, needed, io.out);
  return kExitOk;
}

}  // namespace tact::cli
