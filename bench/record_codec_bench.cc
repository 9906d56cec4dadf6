// The decision record's JSON on the Kafka path (pipeline/event_codec.h, EncodeDecisionRecord: tact.decisions' value,
// one per event) against protobuf's own printer (MessageToJsonString, the same options: what EncodeDecisionRecord
// falls back to, and what it replaced), measured in the same run with interleaved rounds. The record is a real one:
// a PROMOTION released under policies/default (4 signal checks, 2 calendar caps) by the decision service on the
// in-memory store, as the Kafka path builds it. One core.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench/default_policy.h"
#include "bench/rounds.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/in_memory_counter_store.h"

namespace tact {
namespace {

using bench::Median;
using bench::Round;

int Main(int iterations) {
  std::optional<policy::Policy> pol = bench::DefaultPolicy();
  if (!pol) return 1;
  decision::PolicyHolder policies;
  policies.Set(std::make_shared<const policy::Policy>(*std::move(pol)));
  store::InMemoryCounterStore store;
  SystemClock clock;
  CustomerHasher hasher("bench");
  decision::DecisionService service(policies, store, clock, hasher);
  Event e;
  e.event_id = "evt-2026-12-07-000001";
  e.tenant = "acme";
  e.customer_id = "customer-000001";
  e.channel = v1::EMAIL;
  e.message_class = v1::PROMOTION;
  e.campaign_id = "winter-sale";
  e.customer_timezone = "Europe/Berlin";
  absl::StatusOr<decision::Decided> decided =
      service.Decide(e, {.source = "kafka", .source_position = "tact.outbound[3]@123456"});
  if (!decided.ok()) {
    std::fprintf(stderr, "decide: %s\n", std::string(decided.status().message()).c_str());
    return 1;
  }
  const v1::DecisionRecord& record = decided->record();
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  auto library = [&](int) {
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(record, &out, opts);
    benchmark::DoNotOptimize(out);
  };
  auto ours = [&](int) { benchmark::DoNotOptimize(pipeline::EncodeDecisionRecord(record)); };
  Round(library, iterations / 10);  // warm up
  Round(ours, iterations / 10);
  constexpr int kRounds = 7;
  std::vector<double> l, o;
  for (int r = 0; r < kRounds; ++r) {  // interleaved rounds; the median of each
    l.push_back(Round(library, iterations));
    o.push_back(Round(ours, iterations));
  }
  const double library_rate = Median(l), ours_rate = Median(o);
  // ratio: EncodeDecisionRecord's time per record against the library printer's (below 1: cheaper)
  std::printf("pipeline.record_json ratio=%.3f encode_ns=%.0f library_ns=%.0f record_bytes=%zu rounds=%d\n",
              library_rate / ours_rate, 1e9 / ours_rate, 1e9 / library_rate,
              pipeline::EncodeDecisionRecord(record).size(), kRounds);
  return 0;
}

}  // namespace
}  // namespace tact

// Optional argument: records per round (default 100000).
int main(int argc, char** argv) { return tact::Main(argc > 1 ? std::atoi(argv[1]) : 100'000); }
