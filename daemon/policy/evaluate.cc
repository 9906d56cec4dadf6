#include "daemon/policy/evaluate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

template <typename T>
bool AnyOf(const std::vector<T>& accepted, const T& value) {
  return accepted.empty() || std::find(accepted.begin(), accepted.end(), value) != accepted.end();
}

std::string CounterKey(const Rule& rule, const Event& event) {
  std::string key = absl::StrCat("r:", rule.id);
  switch (rule.limit->scope) {
    case Scope::kCustomer: break;
    case Scope::kCustomerChannel: absl::StrAppend(&key, ":", AsAbsl(ChannelName(event.channel))); break;
    case Scope::kCustomerCampaign: absl::StrAppend(&key, ":", event.campaign_id); break;
    case Scope::kCustomerClass: absl::StrAppend(&key, ":", AsAbsl(ClassName(event.message_class))); break;
  }
  return key;
}

}  // namespace

std::string_view ScopeName(Scope s) {
  switch (s) {
    case Scope::kCustomer: return "customer";
    case Scope::kCustomerChannel: return "customer+channel";
    case Scope::kCustomerCampaign: return "customer+campaign";
    case Scope::kCustomerClass: return "customer+class";
  }
  return "customer";
}

std::string_view OnExceedName(OnExceed o) { return o == OnExceed::kDefer ? "defer" : "suppress"; }

std::string ShortDuration(absl::Duration d) {
  std::string out;
  int64_t secs = absl::ToInt64Seconds(d);
  struct Unit {
    int64_t seconds;
    const char* suffix;
  };
  for (Unit u : {Unit{86400, "d"}, Unit{3600, "h"}, Unit{60, "m"}, Unit{1, "s"}}) {
    if (secs >= u.seconds) {
      absl::StrAppend(&out, secs / u.seconds, u.suffix);
      secs %= u.seconds;
    }
  }
  return out.empty() ? "0s" : out;
}

bool Matches(const Rule& rule, const Event& event) {
  const Match& m = rule.match;
  if (event.message_class == v1::TRANSACTIONAL &&
      std::find(m.classes.begin(), m.classes.end(), v1::TRANSACTIONAL) == m.classes.end()) {
    return false;
  }
  if (!AnyOf(m.tenants, event.tenant) || !AnyOf(m.channels, event.channel) ||
      !AnyOf(m.classes, event.message_class) || !AnyOf(m.campaigns, event.campaign_id)) {
    return false;
  }
  for (const auto& [key, values] : m.attributes) {
    auto it = event.attributes.find(key);
    if (it == event.attributes.end() || !AnyOf(values, it->second)) {
      return false;
    }
  }
  return true;
}

Plan Evaluate(const Policy& policy, const Event& event) {
  Plan plan;
  for (const Rule& rule : policy.rules) {
    if (!Matches(rule, event)) {
      continue;
    }
    plan.matched_rules.push_back(rule.id);
    if (rule.limit) {
      plan.limits.push_back(LimitCheck{.rule_id = rule.id,
                                       .counter = CounterKey(rule, event),
                                       .count = rule.limit->count,
                                       .window = rule.limit->window,
                                       .on_exceed = rule.on_exceed,
                                       .shadow = rule.mode == Mode::kShadow});
    }
  }
  return plan;
}

Verdicts Decide(const Plan& plan, const StoreOutcome& outcome) {
  Verdicts v;
  v.matched_rules = plan.matched_rules;
  for (size_t i = 0; i < plan.limits.size(); ++i) {
    const LimitCheck& l = plan.limits[i];
    const LimitUsage u = i < outcome.usage.size() ? outcome.usage[i] : LimitUsage{};
    v.counters.push_back(CounterView{l.rule_id, u.used, l.count, absl::StrCat("rolling ", ShortDuration(l.window))});
    if (l.shadow && u.used >= l.count) {
      v.shadow_hits.push_back(l.rule_id);
    }
  }
  if (outcome.first_exceeded < 0 || outcome.first_exceeded >= static_cast<int>(plan.limits.size())) {
    v.verdict = Verdict::kRelease;
    v.reason = plan.limits.empty() ? "no limit applies" : "within every limit";
    if (!v.shadow_hits.empty()) {
      absl::StrAppend(&v.reason, "; shadow rule '", v.shadow_hits.front(), "' would have constrained it");
    }
    return v;
  }
  const LimitCheck& l = plan.limits[outcome.first_exceeded];
  const LimitUsage& u = outcome.usage[outcome.first_exceeded];
  v.rule_id = l.rule_id;
  v.reason = absl::StrCat("cap ", l.count, " per rolling ", ShortDuration(l.window), " reached (", u.used, " used)");
  if (l.on_exceed == OnExceed::kDefer) {
    v.verdict = Verdict::kDefer;
    v.defer_until = u.frees_at;
  } else {
    v.verdict = Verdict::kSuppress;
  }
  return v;
}

}  // namespace tact::policy
