#include "daemon/policy/zone_resolver.h"

#include <cstdio>
#include <mutex>
#include <utility>

namespace tact::policy {
namespace {

// "2026-11-23" without going through the time formatter.
std::string DayLabel(absl::CivilDay d) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(), d.day());
  return std::string(buf, n > 0 ? n : 0);
}

bool LoadFromSystem(const std::string& name, absl::TimeZone* tz) { return absl::LoadTimeZone(name, tz); }

}  // namespace

LocalDay ComputeLocalDay(const absl::TimeZone& tz, absl::Time now) {
  LocalDay d;
  d.day = absl::ToCivilDay(now, tz);
  d.start = absl::FromCivil(d.day, tz);
  d.end = absl::FromCivil(d.day + 1, tz);
  d.uniform = d.end - d.start == absl::Hours(24) && tz.At(d.start).offset == tz.At(d.end - absl::Seconds(1)).offset;
  const std::string day = DayLabel(d.day);
  d.day_label = ShortText(day);
  const absl::CivilDay monday = absl::PrevWeekday(d.day + 1, absl::Weekday::monday);  // ISO weeks start Monday
  d.week_label = ShortText("w" + DayLabel(monday));
  d.week_end = absl::FromCivil(monday + 7, tz);
  const absl::CivilMonth month(d.day);
  d.month_label = ShortText(std::string_view(day).substr(0, day.size() - 3));
  d.month_end = absl::FromCivil(absl::CivilDay(month + 1), tz);
  if (!d.Holds(now)) {  // an odd transition at midnight: don't reuse, recompute every time
    d.start = absl::InfiniteFuture();
    d.end = absl::InfinitePast();
    d.uniform = false;
  }
  return d;
}

ZoneResolver::ZoneResolver() : ZoneResolver(&LoadFromSystem) {}

ZoneResolver::ZoneResolver(Loader load) : load_(std::move(load)) {}

ZoneResolver::Found ZoneResolver::Find(const std::string& name, absl::TimeZone* tz) {
  if (auto it = zones_.find(name); it != zones_.end()) {
    *tz = it->second.tz;
    return Found::kCached;
  }
  return unknown_.contains(name) ? Found::kUnknown : Found::kMissing;
}

bool ZoneResolver::LoadUncached(const std::string& name, absl::TimeZone* tz) {
  const bool loaded = load_(name, tz);
  std::unique_lock lock(mu_);
  ++loads_;
  if (!loaded) {
    if (unknown_.size() >= kMaxUnknown) unknown_.clear();
    unknown_.insert(name);
  }
  return loaded;
}

std::string_view ZoneResolver::Keep(const std::string& name, const absl::TimeZone& tz, const LocalDay* day) {
  std::unique_lock lock(mu_);
  auto it = zones_.find(name);
  if (it == zones_.end()) {
    if (zones_.size() >= kMaxZones) return {};
    it = zones_.try_emplace(name, Entry{.tz = tz}).first;
  }
  if (day != nullptr) it->second.today = *day;
  return it->first;
}

bool ZoneResolver::Load(const std::string& name, absl::TimeZone* tz) {
  {
    std::shared_lock lock(mu_);
    const Found found = Find(name, tz);
    if (found != Found::kMissing) return found == Found::kCached;
  }
  if (!LoadUncached(name, tz)) return false;
  Keep(name, *tz, nullptr);
  return true;
}

bool ZoneResolver::Resolve(const std::string& name, const absl::TimeZone* known, absl::Time now, Local* out) {
  Found found = Found::kMissing;
  {
    std::shared_lock lock(mu_);
    if (auto it = zones_.find(name); it != zones_.end()) {
      out->tz = it->second.tz;
      out->name = it->first;
      if (it->second.today.Holds(now)) {
        out->day = it->second.today;
        return true;
      }
      found = Found::kCached;
    } else if (known == nullptr && unknown_.contains(name)) {
      return false;
    }
  }
  if (found == Found::kMissing) {
    if (known != nullptr) {
      out->tz = *known;
    } else if (!LoadUncached(name, &out->tz)) {
      return false;
    }
  }
  out->day = ComputeLocalDay(out->tz, now);  // outside the lock
  out->name = Keep(name, out->tz, out->day.Holds(now) ? &out->day : nullptr);
  return true;
}

size_t ZoneResolver::loads() const {
  std::unique_lock lock(mu_);
  return loads_;
}

}  // namespace tact::policy
