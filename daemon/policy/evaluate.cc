#include "daemon/policy/evaluate.h"

#include <bit>
#include <cassert>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/time/civil_time.h"

namespace tact::policy {
namespace {

std::string_view ScopeValue(const Rule& rule, const Event& event) {
  switch (rule.limit->scope) {
    case Scope::kCustomer: return {};
    case Scope::kCustomerChannel: return ChannelName(event.channel);
    case Scope::kCustomerCampaign: return event.campaign_id;
    case Scope::kCustomerClass: return ClassName(event.message_class);
  }
  return {};
}

// Lazily resolved customer zone and local time: only rules with calendar windows or quiet hours need them. The
// zone and its local day come from the policy's ZoneResolver.
class LocalTime {
 public:
  LocalTime(const Policy& policy, const Event& event, absl::Time now) : policy_(policy), event_(event), now_(now) {}

  const LocalDay& day() { return Resolve(), local_.day; }
  const absl::TimeZone& zone() { return Resolve(), local_.tz; }
  int minute_of_day() {
    Resolve();
    if (local_.day.uniform) return static_cast<int>((now_ - local_.day.start) / absl::Minutes(1));
    const absl::CivilMinute m = absl::ToCivilMinute(now_, local_.tz);
    return m.hour() * 60 + m.minute();
  }
  bool resolved() const { return resolved_; }
  // The zone's name for the plan: the policy's own string, or the resolver's; empty when the resolver keeps no
  // more names (then PlanEvent makes the plan keep customer_name()).
  std::string_view name() { return Resolve(), name_; }
  const std::string& customer_name() const { return event_.customer_timezone; }

 private:
  void Resolve() {
    if (resolved_) return;
    resolved_ = true;
    if (!event_.customer_timezone.empty()) {
      // Callers refuse an unknown zone before evaluating (EventFromProto, DecisionService: "customer_timezone:
      // unknown time zone"); it is never replaced by the tenant's or the policy's zone.
      const bool known = policy_.zones->Resolve(event_.customer_timezone, nullptr, now_, &local_);
      assert(known && "PlanEvent: customer_timezone is not a known zone (callers validate it)");
      if (known) {
        name_ = local_.name;
        return;
      }
    }
    const std::string* name = &policy_.default_timezone;
    const absl::TimeZone* tz = &policy_.default_zone;
    if (auto it = policy_.tenant_zones.find(event_.tenant); it != policy_.tenant_zones.end()) {
      name = &policy_.tenant_timezones.at(event_.tenant);
      tz = &it->second;
    }
    policy_.zones->Resolve(*name, tz, now_, &local_);  // a known zone: always resolves
    name_ = *name;  // the policy's string: the plan borrows the policy anyway
  }

  const Policy& policy_;
  const Event& event_;
  const absl::Time now_;
  bool resolved_ = false;
  ZoneResolver::Local local_;
  std::string_view name_;
};

// A counter key's parts, joined into the plan's key buffer once every limit is known.
struct KeyParts {
  std::string_view prefix;
  std::string_view scope;   // empty: none
  std::string_view period;  // empty: none
  bool scoped = false;
  bool own() const { return scoped || !period.empty(); }  // more than the rule's prefix
  size_t size() const {
    return prefix.size() + (scoped ? scope.size() + 1 : 0) + (period.empty() ? 0 : period.size() + 1);
  }
};
using KeyList = SmallVector<KeyParts, 8>;

void AddLimit(const Rule& rule, const Event& event, LocalTime& lt, Plan& plan, KeyList& keys) {
  const Limit& l = *rule.limit;
  LimitCheck& c = plan.limits.emplace_back(LimitCheck{.rule_id = rule.id,
                                                      .count = l.count,
                                                      .kind = l.kind,
                                                      .window = l.window,
                                                      .window_text = l.window_text,
                                                      .on_exceed = rule.on_exceed,
                                                      .shadow = rule.mode == Mode::kShadow});
  KeyParts& k = keys.emplace_back(KeyParts{.prefix = rule.counter_prefix,
                                           .scope = ScopeValue(rule, event),
                                           .scoped = l.scope != Scope::kCustomer});
  if (l.kind == WindowKind::kCalendar) {
    const LocalDay& d = lt.day();  // held by `lt` until PlanEvent returns
    switch (l.unit) {
      case CalendarUnit::kDay: k.period = d.day_label.view(); c.period_end = d.end; break;
      case CalendarUnit::kWeek: k.period = d.week_label.view(); c.period_end = d.week_end; break;
      case CalendarUnit::kMonth: k.period = d.month_label.view(); c.period_end = d.month_end; break;
    }
    if (d.end == absl::InfinitePast() && l.unit == CalendarUnit::kDay) {  // an odd day (see ComputeLocalDay)
      c.period_end = absl::FromCivil(d.day + 1, lt.zone());
    }
  }
}

// Writes every counter key that is more than its rule's prefix into one buffer the plan owns (one allocation for
// all of them); a plain "r:<rule>" key is the policy's own text.
void JoinKeys(const KeyList& keys, Plan& plan) {
  size_t total = 0;
  for (const KeyParts& k : keys) {
    if (k.own()) total += k.size();
  }
  std::shared_ptr<char[]> buf = total == 0 ? nullptr : std::make_shared<char[]>(total);
  char* out = buf.get();
  auto put = [&](std::string_view v) {
    std::memcpy(out, v.data(), v.size());
    out += v.size();
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    const KeyParts& k = keys[i];
    if (!k.own()) {
      plan.limits[i].counter = k.prefix;
      continue;
    }
    char* start = out;
    put(k.prefix);
    if (k.scoped) {
      put(":");
      put(k.scope);
    }
    if (!k.period.empty()) {
      put(":");
      put(k.period);
    }
    plan.limits[i].counter = std::string_view(start, static_cast<size_t>(out - start));
  }
  if (buf != nullptr) plan.storage = std::move(buf);
}

void AddSignals(const Rule& rule, const Event& event, absl::Time now, Plan& plan) {
  const bool shadow = rule.mode == Mode::kShadow;
  for (const SuppressIf::Condition& c : rule.suppress_if->conditions) {
    SignalCheck& check = plan.signals.emplace_back(
        SignalCheck{.rule_id = rule.id, .condition = c.text, .fields = c.fields, .shadow = shadow});
    if (c.within > absl::ZeroDuration()) {
      check.since = now - c.within;
      check.hold = c.within;
    }
    const auto ch = static_cast<size_t>(event.channel);
    if (ch < c.channel_fields.size()) check.fields = c.channel_fields[ch];
  }
}

bool InQuiet(const QuietHours& q, int minute) {
  return q.start_minute < q.end_minute ? (minute >= q.start_minute && minute < q.end_minute)
                                       : (minute >= q.start_minute || minute < q.end_minute);
}

void AddQuiet(const Rule& rule, LocalTime& lt, Plan& plan) {
  const QuietHours& q = *rule.quiet_hours;
  const int minute = lt.minute_of_day();
  if (!InQuiet(q, minute)) return;
  absl::CivilDay end_day = lt.day().day;
  if (q.start_minute > q.end_minute && minute >= q.start_minute) end_day += 1;  // crosses midnight
  const absl::CivilMinute end(end_day.year(), end_day.month(), end_day.day(), q.end_minute / 60, q.end_minute % 60);
  plan.quiet.push_back(QuietHold{.rule_id = rule.id,
                                 .until = absl::FromCivil(end, lt.zone()),
                                 .text = rule.quiet_text,
                                 .on_exceed = rule.on_exceed,
                                 .shadow = rule.mode == Mode::kShadow,
                                 .zone = lt.name()});
}

// The compiled candidates for the event's (channel, class), or null when there is no index for it.
const Policy::Candidates* CandidatesFor(const Policy& policy, const Event& event) {
  if (event.channel < 0 || event.message_class < 0) return nullptr;
  const size_t cell = static_cast<size_t>(event.channel) * v1::MessageClass_ARRAYSIZE +
                      static_cast<size_t>(event.message_class);
  return cell < policy.candidates.size() ? &policy.candidates[cell] : nullptr;
}

// Sizes the plan once for the candidates, only past the inline capacity (reserve is not free even when it has
// nothing to do).
void Reserve(const Policy::Candidates& c, Plan& plan) {
  size_t n = 0;
  for (uint64_t w : c.rules) n += static_cast<size_t>(std::popcount(w));
  if (n > plan.matched_rules.capacity()) plan.matched_rules.reserve(n);
  if (c.limits > plan.limits.capacity()) plan.limits.reserve(c.limits);
  if (c.signals > plan.signals.capacity()) plan.signals.reserve(c.signals);
}

// The zone the plan used. When the resolver keeps no more names, the plan keeps the customer's zone name itself.
void SetTimezone(LocalTime& lt, Plan& plan) {
  plan.timezone = lt.name();
  if (!plan.timezone.empty()) return;
  auto owned = std::make_shared<std::pair<std::shared_ptr<const void>, std::string>>(std::move(plan.storage),
                                                                                      lt.customer_name());
  plan.timezone = owned->second;
  for (QuietHold& q : plan.quiet) q.zone = plan.timezone;
  plan.storage = std::move(owned);
}

}  // namespace

absl::TimeZone CustomerZone(const Policy& policy, const Event& event, std::string* name) {
  absl::TimeZone tz;
  if (!event.customer_timezone.empty() && policy.zones->Load(event.customer_timezone, &tz)) {
    *name = event.customer_timezone;
    return tz;
  }
  if (auto it = policy.tenant_zones.find(event.tenant); it != policy.tenant_zones.end()) {
    *name = policy.tenant_timezones.at(event.tenant);
    return it->second;
  }
  *name = policy.default_timezone;
  return policy.default_zone;
}

Plan PlanEvent(const Policy& policy, const Event& event, absl::Time now) {
  Plan plan;
  LocalTime lt(policy, event, now);
  KeyList keys;
  auto apply = [&](const Rule& rule) {
    if (!Matches(rule, event)) {
      return;
    }
    plan.matched_rules.push_back(rule.id);
    if (rule.limit) {
      AddLimit(rule, event, lt, plan, keys);
    } else if (rule.suppress_if) {
      AddSignals(rule, event, now, plan);
    } else if (rule.quiet_hours) {
      AddQuiet(rule, lt, plan);
    }
  };
  if (const Policy::Candidates* c = CandidatesFor(policy, event)) {
    Reserve(*c, plan);  // only the rules whose channel and class admit the event
    for (size_t w = 0; w < c->rules.size(); ++w) {
      for (uint64_t bits = c->rules[w]; bits != 0; bits &= bits - 1) {
        apply(policy.rules[w * 64 + static_cast<size_t>(std::countr_zero(bits))]);
      }
    }
  } else {
    for (const Rule& rule : policy.rules) apply(rule);
  }
  if (!keys.empty()) JoinKeys(keys, plan);
  if (lt.resolved()) SetTimezone(lt, plan);
  return plan;
}

void CompileIndex(Policy& policy) {
  const size_t words = (policy.rules.size() + 63) / 64;
  policy.candidates.assign(static_cast<size_t>(v1::Channel_ARRAYSIZE) * v1::MessageClass_ARRAYSIZE, {});
  for (int ch = 0; ch < v1::Channel_ARRAYSIZE; ++ch) {
    for (int cls = 0; cls < v1::MessageClass_ARRAYSIZE; ++cls) {
      Policy::Candidates& c = policy.candidates[static_cast<size_t>(ch) * v1::MessageClass_ARRAYSIZE + cls];
      c.rules.assign(words, 0);
      for (size_t i = 0; i < policy.rules.size(); ++i) {
        const Rule& r = policy.rules[i];
        if ((r.match.channel_mask & (1u << ch)) == 0 || (r.match.class_mask & (1u << cls)) == 0) continue;
        c.rules[i / 64] |= uint64_t{1} << (i % 64);
        if (r.limit) ++c.limits;
        if (r.suppress_if) c.signals += r.suppress_if->conditions.size();
      }
    }
  }
}

}  // namespace tact::policy
