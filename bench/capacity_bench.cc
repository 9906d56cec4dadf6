// Planning a 400,000-recipient campaign over 7 days of 15-minute intervals (target: ≤ 50 ms), against a
// baseline measured in the same run, rounds interleaved: one Erlang C evaluation per interval of the same
// staffing (the least any per-interval check can cost). Prints one line, ratio first.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "bench/rounds.h"
#include "daemon/capacity/erlang.h"
#include "daemon/capacity/plan.h"
#include "daemon/capacity/staffing_csv.h"

namespace {

using tact::bench::Median;
using tact::bench::Seconds;
constexpr int kRounds = 30;

}  // namespace

int main() {
  using namespace tact::capacity;
  std::ifstream in(std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/staffing_week.csv");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Staffing> staffing = ParseStaffingCsv("staffing_week.csv", text.str());
  if (!staffing.ok()) {
    std::fprintf(stderr, "capacity_bench: %s\n", std::string(staffing.status().message()).c_str());
    return 1;
  }
  const CampaignSpec campaign{.id = "bench", .audience = 400000, .start = staffing->intervals.front().start};
  std::vector<double> plan_s, sweep_s;
  const char* verdict = "";
  for (int r = 0; r < kRounds; ++r) {
    sweep_s.push_back(Seconds([&] {
      for (const StaffingInterval& si : staffing->intervals) {
        const Workload w{.calls = si.baseline_calls, .interval_s = 900, .aht_s = si.aht_s};
        benchmark::DoNotOptimize(
            ErlangC(OnPhoneAgents(si.agents, si.shrinkage), OfferedLoad(w), si.aht_s, si.target.threshold_s));
      }
    }));
    plan_s.push_back(Seconds([&] {
      absl::StatusOr<CampaignPlan> p = PlanCampaign(*staffing, {}, campaign);
      benchmark::DoNotOptimize(p);
      verdict = p.ok() ? VerdictName(p->verdict).data() : "error";
    }));
  }
  const double plan = Median(plan_s);
  const double sweep = Median(sweep_s);
  std::printf(
      "capacity.plan_campaign ratio=%.1f plan=%.2fms erlang_c_sweep=%.3fms target=50ms audience=400000 "
      "intervals=%zu verdict=%s rounds=%d (median)\n",
      plan / sweep, plan * 1e3, sweep * 1e3, staffing->intervals.size(), verdict, kRounds);
  return 0;
}
