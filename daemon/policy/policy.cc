#include "daemon/policy/policy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tact::policy {

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

}  // namespace tact::policy
