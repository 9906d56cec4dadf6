// Pure policy evaluation (Evaluate + Decide, no store) on a realistic 20-rule policy, one core.
// Baseline, measured in the same run with interleaved rounds: a trivial loop that only runs every rule's match
// against the event (what any rule engine must do at least). Prints one line, ratio first.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/rounds.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"

namespace tact {
namespace {

// The default customer-care policy plus the kind of rules tenants add: per-channel caps, campaign caps,
// attribute-scoped rules, tenant-specific quiet hours, shadow trials. 20 rules.
constexpr char kExtraRules[] = R"(
version: "bench"
rules:
  - id: email-promo-2-per-week-acme
    description: acme email promos
    match: { tenant: acme, channel: EMAIL, message_class: PROMOTION }
    limit: { count: 2, kind: calendar, window: week, scope: customer+channel }
  - id: sms-any-5-per-day
    description: SMS volume
    match: { channel: SMS }
    limit: { count: 5, window: 1d, scope: customer+channel }
  - id: push-any-10-per-day
    description: push volume
    match: { channel: PUSH }
    limit: { count: 10, window: 1d, scope: customer+channel }
  - id: campaign-1-per-campaign
    description: one message per campaign
    match: { message_class: [PROMOTION, PROACTIVE_SERVICE] }
    limit: { count: 1, window: 30d, scope: customer+campaign }
  - id: service-sms-3-per-day
    description: service SMS
    match: { message_class: SERVICE, channel: SMS }
    limit: { count: 3, window: 1d }
  - id: vip-promo-monthly
    description: VIP customers get fewer promos
    match: { message_class: PROMOTION, attributes: { segment: vip } }
    limit: { count: 4, kind: calendar, window: month }
  - id: globex-quiet
    description: globex wants quiet evenings on email
    match: { tenant: globex, channel: EMAIL }
    quiet_hours: { start: "20:00", end: "09:00" }
  - id: in-app-class-cap
    description: in-app promos
    match: { channel: IN_APP, message_class: PROMOTION }
    limit: { count: 3, window: 1d, scope: customer+class }
  - id: callback-pending-promo
    description: no promos while a callback is pending
    match: { message_class: PROMOTION }
    suppress_if: { callback_pending: true }
  - id: trial-proactive-3-per-14d
    description: shadow trial of a tighter proactive cap
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 3, window: 14d }
    mode: shadow
  - id: trial-low-csat-3
    description: shadow trial CSAT 3
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 3, csat_within: 14d }
    mode: shadow
  - id: black-friday-2-per-day
    description: black friday campaign
    match: { campaign: [black-friday-2026, cyber-monday-2026] }
    limit: { count: 2, window: 1d, scope: customer+campaign }
)";

using bench::Median;
using bench::Round;

int Main(int iterations) {
  absl::StatusOr<std::vector<policy::PolicyFile>> files =
      decision::ReadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/default");
  if (!files.ok() || files->empty()) {
    std::fprintf(stderr, "cannot read policies/default\n");
    return 1;
  }
  std::vector<policy::PolicyFile> all = *files;
  all.push_back({"bench-extra.yaml", kExtraRules});
  absl::StatusOr<policy::Policy> parsed = policy::ParsePolicy(all);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    return 1;
  }
  const policy::Policy& policy = *parsed;

  // A realistic mix: classes, channels, tenants, campaigns, zones.
  std::vector<Event> events;
  const Channel channels[] = {v1::EMAIL, v1::SMS, v1::PUSH, v1::IN_APP};
  const MessageClass classes[] = {v1::PROMOTION, v1::PROMOTION, v1::PROACTIVE_SERVICE, v1::SERVICE, v1::TRANSACTIONAL};
  const char* zones[] = {"Europe/Berlin", "America/New_York", "", "Asia/Tokyo"};
  const char* campaigns[] = {"black-friday-2026", "winter-sale", "outage-2026-11", ""};
  for (int i = 0; i < 64; ++i) {
    Event e;
    e.event_id = absl::StrCat("evt-", i);
    e.tenant = i % 7 == 0 ? "globex" : "acme";
    e.customer_id = absl::StrCat("customer-", i * 7919);
    e.channel = channels[i % 4];
    e.message_class = classes[i % 5];
    e.campaign_id = campaigns[i % 4];
    e.customer_timezone = zones[i % 4];
    if (i % 3 == 0) e.attributes["segment"] = "vip";
    events.push_back(std::move(e));
  }
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);

  auto ours = [&](int i) {
    const Event& e = events[i & 63];
    policy::Plan plan = policy::PlanEvent(policy, e, now + absl::Seconds(i));
    policy::StoreOutcome outcome;
    outcome.signals.resize(plan.signals.size());
    outcome.usage.resize(plan.limits.size());
    policy::Verdicts v = policy::Decide(plan, outcome);
    benchmark::DoNotOptimize(v);
  };
  auto baseline = [&](int i) {
    const Event& e = events[i & 63];
    int matched = 0;
    for (const policy::Rule& r : policy.rules) matched += policy::Matches(r, e);
    benchmark::DoNotOptimize(matched);
  };
  constexpr int kRounds = 7;
  const int kIters = iterations;
  Round(ours, kIters / 10);  // warm up (time zone cache, allocator)
  Round(baseline, kIters / 10);
  std::vector<double> o;
  std::vector<double> b;
  for (int r = 0; r < kRounds; ++r) {  // interleaved rounds; the median of each
    o.push_back(Round(ours, kIters));
    b.push_back(Round(baseline, kIters));
  }
  const double ours_rate = Median(o);
  const double base_rate = Median(b);
  std::printf("policy.evaluate_decide ratio=%.3f ours=%.0f/s/core match_loop_baseline=%.0f/s rules=%zu events=%zu "
              "rounds=%d goal=2000000/s\n",
              ours_rate / base_rate, ours_rate, base_rate, policy.rules.size(), events.size(), kRounds);
  return 0;
}

}  // namespace
}  // namespace tact

// Optional argument: iterations per round (default 200000; small values for profiling under callgrind).
int main(int argc, char** argv) { return tact::Main(argc > 1 ? std::atoi(argv[1]) : 200'000); }
