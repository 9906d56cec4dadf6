// Linting (parse + every check, as `tactctl lint` and a reload do) a policy whose rules all alias one long
// `campaign:` list: N rules × an M-entry list, the case that took 14 s (100 × 1,000) and more than 60 s
// (300 × 3,000) when the shadowing check compared lists entry by entry for every pair of rules.
// Baseline, measured in the same run with interleaved rounds: the same N rules without the list. Prints one line
// per size, ratio first (lint time with the list / without). A second line per size does the same for
// evaluating one event (Evaluate, as every Check does) against that policy: matching scans each rule's list.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/rounds.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"

namespace tact {
namespace {

using bench::Median;

// N rules, each with its own attribute value (so none shadows another) and, with `entries` > 0, `campaign:`
// aliasing one list of that many entries.
std::string AliasedPolicy(size_t rules, size_t entries) {
  std::string list = "&big [";
  for (size_t i = 0; i < entries; ++i) absl::StrAppend(&list, i == 0 ? "" : ", ", "campaign-", i);
  list += "]";
  std::string text = "version: \"bench\"\nrules:\n";
  for (size_t i = 0; i < rules; ++i) {
    const std::string campaign = entries == 0 ? "" : absl::StrCat("campaign: ", i == 0 ? list : "*big", ", ");
    absl::StrAppend(&text, "  - id: r", i, "\n    description: d\n    match: { ", campaign, "attributes: { segment: s",
                    i, " } }\n    limit: { count: ", i + 1, ", window: 7d }\n");
  }
  return text;
}

double LintSeconds(const std::vector<policy::PolicyFile>& files) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> errors = policy::LintPolicy(files);
  const std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
  if (!errors.empty()) std::fprintf(stderr, "unexpected lint error: %s\n", errors.front().c_str());
  return s.count();
}

// Evaluations per second of an event whose campaign is in no list (every list is scanned to its end).
double EvaluateRate(const policy::Policy& policy, int iterations) {
  Event e;
  e.event_id = "evt-1";
  e.tenant = "acme";
  e.customer_id = "customer-1";
  e.channel = v1::EMAIL;
  e.message_class = v1::PROMOTION;
  e.campaign_id = "campaign-none";
  e.attributes["segment"] = "none";
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const auto start = std::chrono::steady_clock::now();
  size_t limits = 0;
  for (int i = 0; i < iterations; ++i) limits += policy::PlanEvent(policy, e, now).limits.size();
  const std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
  if (limits != 0) std::fprintf(stderr, "unexpected match\n");
  return iterations / s.count();
}

void Measure(size_t rules, size_t entries, int rounds) {
  const std::vector<policy::PolicyFile> ours{{"aliased.yaml", AliasedPolicy(rules, entries)}};
  const std::vector<policy::PolicyFile> base{{"plain.yaml", AliasedPolicy(rules, 0)}};
  std::vector<double> o;
  std::vector<double> b;
  for (int r = 0; r < rounds; ++r) {  // interleaved rounds; the median of each
    o.push_back(LintSeconds(ours));
    b.push_back(LintSeconds(base));
  }
  const double ours_s = Median(o);
  const double base_s = Median(b);
  std::printf("policy.lint_aliased_list ratio=%.1f rules=%zu entries=%zu file_bytes=%zu ours_ms=%.1f "
              "no_list_ms=%.2f rounds=%d\n",
              ours_s / base_s, rules, entries, ours.front().text.size(), ours_s * 1e3, base_s * 1e3, rounds);
  std::fflush(stdout);

  const absl::StatusOr<policy::Policy> with_list = policy::ParsePolicy(ours);
  const absl::StatusOr<policy::Policy> without = policy::ParsePolicy(base);
  if (!with_list.ok() || !without.ok()) return;
  const int iterations = static_cast<int>(std::max<size_t>(200, 2'000'000 / (rules * (entries + 1))));
  o.clear();
  b.clear();
  for (int r = 0; r < rounds; ++r) {
    o.push_back(EvaluateRate(*with_list, iterations));
    b.push_back(EvaluateRate(*without, iterations));
  }
  const double ours_rate = Median(o);
  const double base_rate = Median(b);
  std::printf("policy.evaluate_aliased_list ratio=%.3f rules=%zu entries=%zu ours=%.0f/s no_list=%.0f/s rounds=%d\n",
              ours_rate / base_rate, rules, entries, ours_rate, base_rate, rounds);
  std::fflush(stdout);
}

}  // namespace
}  // namespace tact

int main() {
  tact::Measure(100, 1000, 7);
  tact::Measure(300, 3000, 5);
  return 0;
}
