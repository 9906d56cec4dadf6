#include "daemon/policy/evaluate.h"

#include <algorithm>
#include <cassert>
#include <bit>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "daemon/core/strings.h"
#include "daemon/core/token_codec.h"
#include "nlohmann/json.hpp"

namespace tact::policy {
namespace {

template <typename T>
bool AnyOf(const std::vector<T>& accepted, const T& value) {
  return accepted.empty() || std::find(accepted.begin(), accepted.end(), value) != accepted.end();
}

// A non-empty list holds `value`: one lookup when the parser indexed the list, else a scan.
bool Listed(const std::vector<std::string>& list, const Match::ValueSet* set, const std::string& value) {
  return set != nullptr ? set->contains(value) : std::find(list.begin(), list.end(), value) != list.end();
}

std::string_view ScopeValue(const Rule& rule, const Event& event) {
  switch (rule.limit->scope) {
    case Scope::kCustomer: return {};
    case Scope::kCustomerChannel: return ChannelName(event.channel);
    case Scope::kCustomerCampaign: return event.campaign_id;
    case Scope::kCustomerClass: return ClassName(event.message_class);
  }
  return {};
}

// "2026-11-23" without going through the time formatter.
std::string DayLabel(absl::CivilDay d) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(), d.day());
  return std::string(buf, n > 0 ? n : 0);
}

// ---- Time zones: resolved once per zone and thread, calendar periods once per local day --------------------

// Zone names that plans point to (Plan::timezone): interned for the life of the process, so a plan never
// dangles. Bounded; past the bound a name is kept by the plan itself.
std::string_view InternZoneName(const std::string& name) {
  static absl::Mutex mu;
  static auto* names = new absl::node_hash_set<std::string>();
  absl::MutexLock lock(&mu);
  if (auto it = names->find(name); it != names->end()) return *it;
  if (names->size() >= 4096) return {};
  return *names->insert(name).first;
}

// Everything about one local day in one zone that calendar windows and quiet hours need.
struct LocalDay {
  absl::Time start = absl::InfiniteFuture();  // [start, end): the instants of `day`
  absl::Time end = absl::InfinitePast();
  absl::CivilDay day;
  bool uniform = false;  // one UTC offset all day: local minute = (t - start) / 1m
  std::string day_label;    // "2026-11-23"
  std::string week_label;   // "w2026-11-23" (its Monday)
  std::string month_label;  // "2026-11"
  absl::Time week_end;
  absl::Time month_end;
};

struct ZoneEntry {
  absl::TimeZone tz;
  std::string_view interned;  // empty when the intern table is full
  LocalDay today;
};

void ComputeLocalDay(const absl::TimeZone& tz, absl::Time now, LocalDay& d) {
  d.day = absl::ToCivilDay(now, tz);
  d.start = absl::FromCivil(d.day, tz);
  d.end = absl::FromCivil(d.day + 1, tz);
  d.uniform = d.end - d.start == absl::Hours(24) && tz.At(d.start).offset == tz.At(d.end - absl::Seconds(1)).offset;
  d.day_label = DayLabel(d.day);
  const absl::CivilDay monday = absl::PrevWeekday(d.day + 1, absl::Weekday::monday);  // ISO weeks start Monday
  d.week_label = "w" + DayLabel(monday);
  d.week_end = absl::FromCivil(monday + 7, tz);
  const absl::CivilMonth month(d.day);
  d.month_label = d.day_label.substr(0, d.day_label.size() - 3);
  d.month_end = absl::FromCivil(absl::CivilDay(month + 1), tz);
  if (!(d.start <= now && now < d.end)) {  // an odd transition at midnight: don't reuse, recompute every time
    d.start = absl::InfiniteFuture();
    d.end = absl::InfinitePast();
    d.uniform = false;
  }
}

// Per thread: cctz resolves zones behind a global mutex; this keeps the hot path lock-free. Entries are only
// used within one Evaluate call, so the cache may be cleared between calls.
ZoneEntry* CachedZone(const std::string& name, const absl::TimeZone* known) {
  thread_local absl::flat_hash_map<std::string, std::unique_ptr<ZoneEntry>> zones;
  thread_local absl::flat_hash_set<std::string> unknown;
  if (auto it = zones.find(name); it != zones.end()) return it->second.get();
  if (known == nullptr && unknown.contains(name)) return nullptr;
  auto entry = std::make_unique<ZoneEntry>();
  if (known != nullptr) {
    entry->tz = *known;
  } else if (!absl::LoadTimeZone(name, &entry->tz)) {
    if (unknown.size() > 1024) unknown.clear();
    unknown.insert(name);
    return nullptr;
  }
  entry->interned = InternZoneName(name);
  if (zones.size() > 1024) zones.clear();
  return zones.emplace(name, std::move(entry)).first->second.get();
}

// Lazily resolved customer zone and local time: only rules with calendar windows or quiet hours need them.
class LocalTime {
 public:
  LocalTime(const Policy& policy, const Event& event, absl::Time now) : policy_(policy), event_(event), now_(now) {}

  const LocalDay& day() { return Resolve(), *day_; }
  const absl::TimeZone& zone() { return Resolve(), entry_->tz; }
  int minute_of_day() {
    Resolve();
    if (day_->uniform) return static_cast<int>((now_ - day_->start) / absl::Minutes(1));
    const absl::CivilMinute m = absl::ToCivilMinute(now_, entry_->tz);
    return m.hour() * 60 + m.minute();
  }
  bool resolved() const { return entry_ != nullptr; }
  // The zone's name for the plan: the policy's own string, or an interned one; empty when the intern table is
  // full (then Evaluate makes the plan keep customer_name()).
  std::string_view name() { return Resolve(), name_; }
  const std::string& customer_name() const { return *customer_name_; }

 private:
  void Resolve() {
    if (entry_ != nullptr) return;
    if (!event_.customer_timezone.empty()) {
      // Callers refuse an unknown zone before evaluating (EventFromProto, DecisionService: "customer_timezone:
      // unknown time zone"); it is never replaced by the tenant's or the policy's zone.
      entry_ = CachedZone(event_.customer_timezone, nullptr);
      assert(entry_ != nullptr && "Evaluate: customer_timezone is not a known zone (callers validate it)");
      if (entry_ != nullptr) {
        name_ = entry_->interned;
        customer_name_ = &event_.customer_timezone;
      }
    }
    if (entry_ == nullptr) {
      const std::string* name = &policy_.default_timezone;
      const absl::TimeZone* tz = &policy_.default_zone;
      if (auto it = policy_.tenant_zones.find(event_.tenant); it != policy_.tenant_zones.end()) {
        name = &policy_.tenant_timezones.at(event_.tenant);
        tz = &it->second;
      }
      entry_ = CachedZone(*name, tz);
      name_ = *name;  // the policy's string: the plan borrows the policy anyway
    }
    LocalDay& d = entry_->today;
    if (!(d.start <= now_ && now_ < d.end)) ComputeLocalDay(entry_->tz, now_, d);
    day_ = &d;
  }

  const Policy& policy_;
  const Event& event_;
  const absl::Time now_;
  ZoneEntry* entry_ = nullptr;
  const LocalDay* day_ = nullptr;
  std::string_view name_;
  const std::string* customer_name_ = nullptr;
};

// A counter key's parts, joined into the plan's key buffer once every limit is known.
struct KeyParts {
  std::string_view prefix;
  std::string_view scope;   // empty: none
  std::string_view period;  // empty: none
  bool scoped = false;
  size_t size() const { return prefix.size() + (scoped ? scope.size() + 1 : 0) + (period.empty() ? 0 : period.size() + 1); }
};

void AddLimit(const Rule& rule, const Event& event, LocalTime& lt, Plan& plan, std::vector<KeyParts>& keys) {
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
    const LocalDay& d = lt.day();  // thread-local, unchanged until the next Evaluate
    switch (l.unit) {
      case CalendarUnit::kDay: k.period = d.day_label; c.period_end = d.end; break;
      case CalendarUnit::kWeek: k.period = d.week_label; c.period_end = d.week_end; break;
      case CalendarUnit::kMonth: k.period = d.month_label; c.period_end = d.month_end; break;
    }
    if (d.end == absl::InfinitePast() && l.unit == CalendarUnit::kDay) {  // not cached (see ComputeLocalDay)
      c.period_end = absl::FromCivil(d.day + 1, lt.zone());
    }
  }
}

// Writes every counter key that is more than its rule's prefix into one buffer the plan owns (one allocation for
// all of them); a plain "r:<rule>" key is the policy's own text.
void JoinKeys(const std::vector<KeyParts>& keys, Plan& plan) {
  size_t total = 0;
  for (const KeyParts& k : keys) {
    if (k.scoped || !k.period.empty()) total += k.size();
  }
  std::shared_ptr<char[]> buf = total == 0 ? nullptr : std::make_shared<char[]>(total);
  char* out = buf.get();
  auto put = [&](std::string_view v) {
    std::memcpy(out, v.data(), v.size());
    out += v.size();
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    const KeyParts& k = keys[i];
    if (!k.scoped && k.period.empty()) {
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


// Which check decides, by precedence. kind: 0 none, 1 signal, 2 limit, 3 quiet.
struct Decisive {
  int kind = 0;
  size_t index = 0;
};

Decisive FindDecisive(const Plan& plan, const StoreOutcome& o) {
  for (size_t i = 0; i < plan.signals.size() && i < o.signals.size(); ++i) {
    if (!plan.signals[i].shadow && o.signals[i].hit) return {1, i};
  }
  for (size_t i = 0; i < plan.limits.size() && i < o.usage.size(); ++i) {
    if (!plan.limits[i].shadow && o.usage[i].used >= plan.limits[i].count) return {2, i};
  }
  for (size_t i = 0; i < plan.quiet.size(); ++i) {
    if (!plan.quiet[i].shadow) return {3, i};
  }
  return {};
}

std::string CapReason(const LimitCheck& l, const LimitUsage& u) {
  return absl::StrCat("cap ", l.count, " per ", AsAbsl(l.window_text), " reached (", u.used, " used)");
}

int64_t MsOr(absl::Time t, int64_t fallback) {
  return (t == absl::InfinitePast() || t == absl::InfiniteFuture()) ? fallback : absl::ToUnixMillis(t);
}
absl::Time TimeOr(int64_t ms, absl::Time fallback) { return ms == 0 ? fallback : absl::FromUnixMillis(ms); }

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

std::string_view CalendarUnitName(CalendarUnit u) {
  switch (u) {
    case CalendarUnit::kDay: return "day";
    case CalendarUnit::kWeek: return "week";
    case CalendarUnit::kMonth: return "month";
  }
  return "day";
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRelease: return "RELEASE";
    case Verdict::kDefer: return "DEFER";
    case Verdict::kSuppress: return "SUPPRESS";
  }
  return "RELEASE";
}

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

std::string ClockText(int minute_of_day) {
  return absl::StrFormat("%02d:%02d", minute_of_day / 60, minute_of_day % 60);
}

std::string QuietHold::Text() const {
  return zone.empty() ? std::string(text) : absl::StrCat(AsAbsl(text), " ", AsAbsl(zone));
}

const QuietHold* Plan::DecisiveQuiet() const {
  for (const QuietHold& q : quiet) {
    if (!q.shadow) return &q;
  }
  return nullptr;
}

bool Matches(const Rule& rule, const Event& event) {
  const Match& m = rule.match;
  // Cheap rejects first: channel and class bitmasks (transactional only when named, compiled in the mask).
  if ((m.channel_mask & (1u << event.channel)) == 0 || (m.class_mask & (1u << event.message_class)) == 0) {
    return false;
  }
  // Most rules name no tenant, campaign or attribute: no further work for them.
  if ((!m.tenants.empty() && !Listed(m.tenants, m.tenant_set.get(), event.tenant)) ||
      (!m.campaigns.empty() && !Listed(m.campaigns, m.campaign_set.get(), event.campaign_id))) {
    return false;
  }
  if (m.attributes.empty()) {
    return true;
  }
  size_t i = 0;
  for (const auto& [key, values] : m.attributes) {
    const Match::ValueSet* set = i < m.attribute_sets.size() ? m.attribute_sets[i].get() : nullptr;
    ++i;
    auto it = event.attributes.find(key);
    if (it == event.attributes.end() || !Listed(values, set, it->second)) {
      return false;
    }
  }
  return true;
}

std::string WhyNoMatch(const Rule& rule, const Event& event) {
  const Match& m = rule.match;
  auto names = [](const auto& list, auto name) {
    std::vector<std::string> out;
    for (const auto& v : list) out.push_back(std::string(name(v)));
    return absl::StrCat("[", absl::StrJoin(out, ", "), "]");
  };
  auto same = [](const std::string& s) { return s; };
  if (event.message_class == v1::TRANSACTIONAL &&
      std::find(m.classes.begin(), m.classes.end(), v1::TRANSACTIONAL) == m.classes.end()) {
    return "TRANSACTIONAL messages match only rules that name the class";
  }
  if (!AnyOf(m.tenants, event.tenant)) return absl::StrCat("tenant '", event.tenant, "' not in ", names(m.tenants, same));
  if (!AnyOf(m.channels, event.channel)) {
    return absl::StrCat("channel ", AsAbsl(ChannelName(event.channel)), " not in ", names(m.channels, ChannelName));
  }
  if (!AnyOf(m.classes, event.message_class)) {
    return absl::StrCat("message_class ", AsAbsl(ClassName(event.message_class)), " not in ", names(m.classes, ClassName));
  }
  if (!AnyOf(m.campaigns, event.campaign_id)) {
    return absl::StrCat("campaign '", event.campaign_id, "' not in ", names(m.campaigns, same));
  }
  for (const auto& [key, values] : m.attributes) {
    auto it = event.attributes.find(key);
    if (it == event.attributes.end()) return absl::StrCat("attribute '", key, "' missing");
    if (!AnyOf(values, it->second)) {
      return absl::StrCat("attribute ", key, "='", it->second, "' not in ", names(values, same));
    }
  }
  return "";
}

absl::TimeZone CustomerZone(const Policy& policy, const Event& event, std::string* name) {
  if (!event.customer_timezone.empty()) {
    // cctz caches zones behind a global mutex; a small per-thread cache keeps the hot path lock-free.
    thread_local std::map<std::string, std::optional<absl::TimeZone>, std::less<>> cache;
    auto it = cache.find(event.customer_timezone);
    if (it == cache.end()) {
      if (cache.size() > 1024) cache.clear();
      absl::TimeZone tz;
      std::optional<absl::TimeZone> loaded;
      if (absl::LoadTimeZone(event.customer_timezone, &tz)) loaded = tz;
      it = cache.emplace(event.customer_timezone, loaded).first;
    }
    if (it->second) {
      *name = event.customer_timezone;
      return *it->second;
    }
  }
  if (auto it = policy.tenant_zones.find(event.tenant); it != policy.tenant_zones.end()) {
    *name = policy.tenant_timezones.at(event.tenant);
    return it->second;
  }
  *name = policy.default_timezone;
  return policy.default_zone;
}

Plan Evaluate(const Policy& policy, const Event& event, absl::Time now) {
  Plan plan;
  LocalTime lt(policy, event, now);
  thread_local std::vector<KeyParts> keys;
  keys.clear();
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
  const size_t cell = static_cast<size_t>(event.channel) * v1::MessageClass_ARRAYSIZE +
                      static_cast<size_t>(event.message_class);
  if (event.channel >= 0 && event.message_class >= 0 && cell < policy.candidates.size()) {
    // Only the rules whose channel and class admit the event; sized once.
    const Policy::Candidates& c = policy.candidates[cell];
    size_t n = 0;
    for (uint64_t w : c.rules) n += static_cast<size_t>(std::popcount(w));
    // Only past the inline capacity (reserve is not free even when it has nothing to do).
    if (n > plan.matched_rules.capacity()) plan.matched_rules.reserve(n);
    if (c.limits > plan.limits.capacity()) plan.limits.reserve(c.limits);
    if (c.signals > plan.signals.capacity()) plan.signals.reserve(c.signals);
    for (size_t w = 0; w < c.rules.size(); ++w) {
      for (uint64_t bits = c.rules[w]; bits != 0; bits &= bits - 1) {
        apply(policy.rules[w * 64 + static_cast<size_t>(std::countr_zero(bits))]);
      }
    }
  } else {
    for (const Rule& rule : policy.rules) apply(rule);
  }
  if (!keys.empty()) JoinKeys(keys, plan);
  if (lt.resolved()) {
    plan.timezone = lt.name();
    if (plan.timezone.empty()) {  // the zone-name intern table is full: this plan keeps the name
      auto owned = std::make_shared<std::pair<std::shared_ptr<const void>, std::string>>(std::move(plan.storage),
                                                                                          lt.customer_name());
      plan.timezone = owned->second;
      for (QuietHold& q : plan.quiet) q.zone = plan.timezone;
      plan.storage = std::move(owned);
    }
  }
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

int FirstExceeded(const Plan& plan, const StoreOutcome& outcome) {
  for (size_t i = 0; i < plan.limits.size() && i < outcome.usage.size(); ++i) {
    if (!plan.limits[i].shadow && outcome.usage[i].used >= plan.limits[i].count) return static_cast<int>(i);
  }
  return -1;
}

Verdicts Decide(const Plan& plan, const StoreOutcome& outcome) {
  Verdicts v;
  v.matched_rules.assign(plan.matched_rules.begin(), plan.matched_rules.end());
  if (!plan.limits.empty()) v.counters.reserve(plan.limits.size());
  for (size_t i = 0; i < plan.limits.size(); ++i) {
    const LimitCheck& l = plan.limits[i];
    const LimitUsage u = i < outcome.usage.size() ? outcome.usage[i] : LimitUsage{};
    v.counters.push_back(CounterView{l.rule_id, u.used, l.count, l.window_text});
  }
  // What shadow rules would have done.
  for (size_t i = 0; i < plan.signals.size() && i < outcome.signals.size(); ++i) {
    const SignalCheck& s = plan.signals[i];
    if (s.shadow && outcome.signals[i].hit) {
      v.shadow.push_back({s.rule_id, Verdict::kSuppress, absl::StrCat("customer signal: ", AsAbsl(s.condition))});
    }
  }
  for (size_t i = 0; i < plan.limits.size() && i < outcome.usage.size(); ++i) {
    const LimitCheck& l = plan.limits[i];
    if (l.shadow && outcome.usage[i].used >= l.count) {
      v.shadow.push_back({l.rule_id, l.on_exceed == OnExceed::kDefer ? Verdict::kDefer : Verdict::kSuppress,
                          CapReason(l, outcome.usage[i])});
    }
  }
  for (const QuietHold& q : plan.quiet) {
    if (q.shadow) {
      v.shadow.push_back({q.rule_id, q.on_exceed == OnExceed::kDefer ? Verdict::kDefer : Verdict::kSuppress, q.Text()});
    }
  }

  const Decisive d = FindDecisive(plan, outcome);
  switch (d.kind) {
    case 1: {
      const SignalCheck& s = plan.signals[d.index];
      v.verdict = Verdict::kSuppress;
      v.rule_id = s.rule_id;
      v.reason = absl::StrCat("customer signal: ", AsAbsl(s.condition));
      break;
    }
    case 2: {
      const LimitCheck& l = plan.limits[d.index];
      const LimitUsage& u = outcome.usage[d.index];
      v.rule_id = l.rule_id;
      v.reason = CapReason(l, u);
      if (l.on_exceed == OnExceed::kDefer) {
        v.verdict = Verdict::kDefer;
        v.defer_until = l.kind == WindowKind::kCalendar ? l.period_end : u.frees_at;
      } else {
        v.verdict = Verdict::kSuppress;
      }
      break;
    }
    case 3: {
      const QuietHold& q = plan.quiet[d.index];
      v.rule_id = q.rule_id;
      if (q.on_exceed == OnExceed::kDefer) {
        v.verdict = Verdict::kDefer;
        v.defer_until = q.until;
        v.reason = absl::StrCat(q.Text(), ": deferred to the end of the quiet period");
      } else {
        v.verdict = Verdict::kSuppress;
        v.reason = absl::StrCat(q.Text(), ": not sent during quiet hours");
      }
      break;
    }
    default:
      v.verdict = Verdict::kRelease;
      v.reason = plan.limits.empty() && plan.signals.empty() ? "no limit applies" : "within every limit";
      if (!v.shadow.empty()) {
        absl::StrAppend(&v.reason, "; shadow rule '", AsAbsl(v.shadow.front().rule_id), "' would have constrained it");
      }
  }
  return v;
}

std::vector<TraceLine> Explain(const Policy& policy, const Plan& plan, const StoreOutcome& outcome,
                               const Verdicts& verdicts) {
  std::vector<TraceLine> out;
  size_t si = 0;
  size_t li = 0;
  size_t qi = 0;
  for (const std::string_view id : plan.matched_rules) {
    auto rule = std::find_if(policy.rules.begin(), policy.rules.end(), [&](const Rule& r) { return r.id == id; });
    const bool shadow = rule != policy.rules.end() && rule->mode == Mode::kShadow;
    TraceLine line{.rule_id = std::string(id), .shadow = shadow, .decided = verdicts.rule_id == id};
    if (rule != policy.rules.end() && rule->suppress_if) {
      line.effect = "suppress_if";
      std::vector<std::string> parts;
      for (; si < plan.signals.size() && plan.signals[si].rule_id == id; ++si) {
        const bool hit = si < outcome.signals.size() && outcome.signals[si].hit;
        line.applies = line.applies || hit;
        parts.push_back(absl::StrCat(AsAbsl(plan.signals[si].condition), hit ? ": holds" : ": no"));
      }
      line.check = absl::StrJoin(parts, "; ");
    } else if (rule != policy.rules.end() && rule->limit) {
      line.effect = "limit";
      if (li < plan.limits.size()) {
        const LimitCheck& l = plan.limits[li];
        const LimitUsage u = li < outcome.usage.size() ? outcome.usage[li] : LimitUsage{};
        line.applies = u.used >= l.count;
        line.check = absl::StrCat(l.count, " per ", AsAbsl(l.window_text), ": ", u.used, " used",
                                  line.applies ? " (full)" : "", " [", AsAbsl(l.counter), "]");
        ++li;
      }
    } else if (rule != policy.rules.end() && rule->quiet_hours) {
      line.effect = "quiet_hours";
      const QuietHours& q = *rule->quiet_hours;
      if (qi < plan.quiet.size() && plan.quiet[qi].rule_id == id) {
        line.applies = true;
        line.check = absl::StrCat(plan.quiet[qi].Text(), ": in force until ",
                                  absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", plan.quiet[qi].until, absl::UTCTimeZone()));
        ++qi;
      } else {
        line.check = absl::StrCat("quiet hours ", ClockText(q.start_minute), "-", ClockText(q.end_minute), " ",
                                  AsAbsl(plan.timezone), ": not in force");
      }
    }
    out.push_back(std::move(line));
  }
  return out;
}

// The plan as tokens (core/token_codec.h), in field order:
//   "p2;" matched: n;str... tz: str
//   limits: n; per limit: rule str, counter str, count, calendar 1/0, window_ms, period_end_ms (0 = none),
//           window_text str, defer 1/0, shadow 1/0
//   signals: n; per check: rule str, condition str, fields n;str..., since_ms (0 = none), hold_ms, shadow 1/0
//   quiet: n; per hold: rule str, until_ms (0 = none), text str (with the zone), defer 1/0, shadow 1/0
// Markers stored by earlier versions hold the plan as JSON; DecodePlan reads both.
std::string EncodePlan(const Plan& plan) {
  TokenWriter w;
  w.Raw("p2;");
  w.Int(static_cast<int64_t>(plan.matched_rules.size()));
  for (std::string_view r : plan.matched_rules) w.Str(r);
  w.Str(plan.timezone);
  w.Int(static_cast<int64_t>(plan.limits.size()));
  for (const LimitCheck& l : plan.limits) {
    w.Str(l.rule_id);
    w.Str(l.counter);
    w.Int(l.count);
    w.Int(l.kind == WindowKind::kCalendar ? 1 : 0);
    w.Int(absl::ToInt64Milliseconds(l.window));
    w.Int(MsOr(l.period_end, 0));
    w.Str(l.window_text);
    w.Int(l.on_exceed == OnExceed::kDefer ? 1 : 0);
    w.Int(l.shadow ? 1 : 0);
  }
  w.Int(static_cast<int64_t>(plan.signals.size()));
  for (const SignalCheck& c : plan.signals) {
    w.Str(c.rule_id);
    w.Str(c.condition);
    w.Int(static_cast<int64_t>(c.fields.size()));
    for (const std::string& f : c.fields) w.Str(f);
    w.Int(MsOr(c.since, 0));
    w.Int(absl::ToInt64Milliseconds(c.hold));
    w.Int(c.shadow ? 1 : 0);
  }
  w.Int(static_cast<int64_t>(plan.quiet.size()));
  for (const QuietHold& q : plan.quiet) {
    w.Str(q.rule_id);
    w.Int(MsOr(q.until, 0));
    w.Str(q.Text());
    w.Int(q.on_exceed == OnExceed::kDefer ? 1 : 0);
    w.Int(q.shadow ? 1 : 0);
  }
  return w.Take();
}

namespace {

// The text a decoded plan points to. Deques: elements never move as more are added.
struct DecodedText {
  std::deque<std::string> strings;
  std::deque<std::vector<std::string>> lists;
  std::string_view Keep(std::string s) { return strings.emplace_back(std::move(s)); }
};

// A plan stored as JSON by versions before the token encoding.
absl::StatusOr<Plan> DecodeJsonPlan(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("plan: not JSON");
  }
  try {
    auto owned = std::make_shared<DecodedText>();
    DecodedText& t = *owned;
    Plan p;
    for (const auto& m : j.at("m")) p.matched_rules.push_back(t.Keep(m.get<std::string>()));
    p.timezone = t.Keep(j.value("tz", ""));
    for (const auto& l : j.at("l")) {
      p.limits.push_back(LimitCheck{.rule_id = t.Keep(l.at(0).get<std::string>()),
                                    .counter = t.Keep(l.at(1).get<std::string>()),
                                    .count = l.at(2).get<int64_t>(),
                                    .kind = l.at(3).get<int>() == 1 ? WindowKind::kCalendar : WindowKind::kRolling,
                                    .window = absl::Milliseconds(l.at(4).get<int64_t>()),
                                    .period_end = TimeOr(l.at(5).get<int64_t>(), absl::InfinitePast()),
                                    .window_text = t.Keep(l.at(6).get<std::string>()),
                                    .on_exceed = l.at(7).get<int>() == 1 ? OnExceed::kDefer : OnExceed::kSuppress,
                                    .shadow = l.at(8).get<int>() == 1});
    }
    for (const auto& s : j.value("s", nlohmann::json::array())) {
      p.signals.push_back(SignalCheck{.rule_id = t.Keep(s.at(0).get<std::string>()),
                                      .condition = t.Keep(s.at(1).get<std::string>()),
                                      .fields = t.lists.emplace_back(s.at(2).get<std::vector<std::string>>()),
                                      .since = TimeOr(s.at(3).get<int64_t>(), absl::InfinitePast()),
                                      .hold = absl::Milliseconds(s.at(4).get<int64_t>()),
                                      .shadow = s.at(5).get<int>() == 1});
    }
    for (const auto& q : j.value("q", nlohmann::json::array())) {
      p.quiet.push_back(QuietHold{.rule_id = t.Keep(q.at(0).get<std::string>()),
                                  .until = TimeOr(q.at(1).get<int64_t>(), absl::InfinitePast()),
                                  .text = t.Keep(q.at(2).get<std::string>()),  // with the zone
                                  .on_exceed = q.at(3).get<int>() == 1 ? OnExceed::kDefer : OnExceed::kSuppress,
                                  .shadow = q.at(4).get<int>() == 1});
    }
    p.storage = std::move(owned);
    return p;
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("plan: ") + e.what());
  }
}

}  // namespace

absl::StatusOr<Plan> DecodePlan(std::string_view text) {
  if (text.starts_with("{")) {
    return DecodeJsonPlan(text);
  }
  auto owned = std::make_shared<DecodedText>();
  DecodedText& t = *owned;
  Plan p;
  TokenReader r(text);
  size_t n = 0;
  std::string_view s;
  int64_t v[2] = {};  // the two millisecond values of the item being read
  auto keep = [&](std::string_view* out) {
    std::string_view raw;
    if (!r.Str(&raw)) return false;
    *out = t.Keep(std::string(raw));
    return true;
  };
  const absl::Status malformed = absl::InternalError("plan: malformed encoding");
  if (!r.Literal("p2;") || !r.Count(&n)) return malformed;
  for (size_t i = 0; i < n; ++i) {
    if (!keep(&s)) return malformed;
    p.matched_rules.push_back(s);
  }
  if (!keep(&p.timezone) || !r.Count(&n)) return malformed;
  for (size_t i = 0; i < n; ++i) {
    LimitCheck l;
    int64_t kind = 0, defer = 0, shadow = 0;
    if (!keep(&l.rule_id) || !keep(&l.counter) || !r.Int(&l.count) || !r.Int(&kind) || !r.Int(&v[0]) ||
        !r.Int(&v[1]) || !keep(&l.window_text) || !r.Int(&defer) || !r.Int(&shadow)) {
      return malformed;
    }
    l.kind = kind == 1 ? WindowKind::kCalendar : WindowKind::kRolling;
    l.window = absl::Milliseconds(v[0]);
    l.period_end = TimeOr(v[1], absl::InfinitePast());
    l.on_exceed = defer == 1 ? OnExceed::kDefer : OnExceed::kSuppress;
    l.shadow = shadow == 1;
    p.limits.push_back(l);
  }
  if (!r.Count(&n)) return malformed;
  for (size_t i = 0; i < n; ++i) {
    SignalCheck c;
    size_t nf = 0;
    int64_t shadow = 0;
    if (!keep(&c.rule_id) || !keep(&c.condition) || !r.Count(&nf)) return malformed;
    std::vector<std::string>& fields = t.lists.emplace_back();
    for (size_t k = 0; k < nf; ++k) {
      if (!r.Str(&s)) return malformed;
      fields.emplace_back(s);
    }
    if (!r.Int(&v[0]) || !r.Int(&v[1]) || !r.Int(&shadow)) return malformed;
    c.fields = fields;
    c.since = TimeOr(v[0], absl::InfinitePast());
    c.hold = absl::Milliseconds(v[1]);
    c.shadow = shadow == 1;
    p.signals.push_back(c);
  }
  if (!r.Count(&n)) return malformed;
  for (size_t i = 0; i < n; ++i) {
    QuietHold q;
    int64_t defer = 0, shadow = 0;
    if (!keep(&q.rule_id) || !r.Int(&v[0]) || !keep(&q.text) || !r.Int(&defer) || !r.Int(&shadow)) {
      return malformed;
    }
    q.until = TimeOr(v[0], absl::InfinitePast());
    q.on_exceed = defer == 1 ? OnExceed::kDefer : OnExceed::kSuppress;
    q.shadow = shadow == 1;
    p.quiet.push_back(q);
  }
  if (!r.Done()) return malformed;
  p.storage = std::move(owned);
  return p;
}

}  // namespace tact::policy
