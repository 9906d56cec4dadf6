// tactctl erlang: the contact-centre capacity calculator.
#include <ostream>

#include "absl/strings/str_format.h"
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
  return "";
}

void PrintErlangText(const ErlangArgs& a, const capacity::Metrics& m, int needed, std::ostream& out) {
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
    out << absl::StrFormat("agents needed   none up to 100000 reach %.0f%% in %g s\n", 100 * a.target_sl,
                           a.threshold_s);
    return;
  }
  out << absl::StrFormat("agents needed   %d on the phones for %.0f%% in %g s", needed, 100 * a.target_sl,
                         a.threshold_s);
  if (a.shrinkage > 0) {
    out << absl::StrFormat(" = %d scheduled at %.0f%% shrinkage", capacity::ScheduledAgents(needed, a.shrinkage),
                           100 * a.shrinkage);
  }
  out << "\n";
}

}  // namespace

int Erlang(const ErlangArgs& a, const Streams& io) {
  if (const std::string error = RangeError(a); !error.empty()) {
    io.err << "tactctl: " << error << "\n";
    return kExitUsage;
  }
  const capacity::Workload w{.calls = a.calls, .interval_s = a.interval_s, .aht_s = a.aht_s,
                             .patience_s = a.patience_s};
  const capacity::Target target{.service_level = a.target_sl, .threshold_s = a.threshold_s};
  const capacity::Metrics m = capacity::Evaluate(w, a.agents, a.threshold_s);
  const int needed = capacity::AgentsNeeded(w, target);
  if (a.json) {
    const json out = {{"p_wait", m.p_wait},
                      {"service_level", m.service_level},
                      {"asa_seconds", Number(m.asa_s)},
                      {"occupancy", m.occupancy},
                      {"abandon_rate", m.abandon_rate},
                      {"agents_needed", needed}};
    io.out << out.dump() << "\n";
    return kExitOk;
  }
  PrintErlangText(a, m, needed, io.out);
  return kExitOk;
}

}  // namespace tact::cli
