// The decision marker's PlanHash on the hot path (decision/marker.h): a batch's markers hash their plans through a
// PlanHashMemo, which compares a plan with the last one's bytes instead of hashing it again. Baseline, measured in the
// same run with interleaved rounds: PlanHash of every plan, as every marker computed it before the memo. Two cases:
// a batch of equal plans (a campaign's events in one zone: the Kafka path's batches), and a batch of one plan (a
// gRPC call at a moderate rate), where the memo builds the plan's bytes and gains nothing. One core.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/default_policy.h"
#include "bench/rounds.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/evaluate.h"

namespace tact {
namespace {

using bench::Median;
using bench::Round;

int Main(int iterations) {
  std::optional<policy::Policy> pol = bench::DefaultPolicy();
  if (!pol) return 1;
  Event e;
  e.tenant = "acme";
  e.customer_id = "c-1";
  e.channel = v1::EMAIL;
  e.message_class = v1::PROMOTION;  // 4 signal checks, 2 calendar caps under the default policy
  e.customer_timezone = "Europe/Berlin";
  const policy::Plan plan = policy::PlanEvent(*pol, e, absl::FromUnixSeconds(1'795'000'000));
  const size_t bytes = decision::EncodePlan(plan).size();

  constexpr int kBatch = 500;  // the Kafka path's batch in kafka_pipeline_bench
  auto baseline = [&](int) { benchmark::DoNotOptimize(decision::PlanHash(plan)); };
  decision::PlanHashMemo batch_memo;
  auto batch = [&](int i) {
    if (i % kBatch == 0) batch_memo = decision::PlanHashMemo();  // a new batch
    benchmark::DoNotOptimize(batch_memo.Hash(plan));
  };
  auto lone = [&](int) {
    decision::PlanHashMemo memo;  // a batch of one
    benchmark::DoNotOptimize(memo.Hash(plan));
  };
  Round(baseline, iterations / 10);  // warm up
  Round(batch, iterations / 10);
  Round(lone, iterations / 10);
  constexpr int kRounds = 7;
  std::vector<double> b, m, l;
  for (int r = 0; r < kRounds; ++r) {  // interleaved rounds; the median of each
    b.push_back(Round(baseline, iterations));
    m.push_back(Round(batch, iterations));
    l.push_back(Round(lone, iterations));
  }
  const double base_rate = Median(b), batch_rate = Median(m), lone_rate = Median(l);
  // ratio: the memo's time per plan against PlanHash's (below 1: cheaper)
  std::printf("decision.plan_hash ratio=%.3f lone_ratio=%.3f plan_hash_ns=%.0f memo_batch_ns=%.0f memo_lone_ns=%.0f "
              "plan_bytes=%zu batch=%d rounds=%d\n",
              base_rate / batch_rate, base_rate / lone_rate, 1e9 / base_rate, 1e9 / batch_rate, 1e9 / lone_rate, bytes,
              kBatch, kRounds);
  return 0;
}

}  // namespace
}  // namespace tact

// Optional argument: plans per round (default 200000).
int main(int argc, char** argv) { return tact::Main(argc > 1 ? std::atoi(argv[1]) : 200'000); }
