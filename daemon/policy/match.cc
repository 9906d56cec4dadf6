#include "daemon/policy/match.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/strings.h"

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

// "[EMAIL, SMS]"
template <typename List, typename Name>
std::string Names(const List& list, Name name) {
  std::vector<std::string> out;
  for (const auto& v : list) out.push_back(std::string(name(v)));
  return absl::StrCat("[", absl::StrJoin(out, ", "), "]");
}

const std::string& Same(const std::string& s) { return s; }

}  // namespace

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
  if (event.message_class == v1::TRANSACTIONAL &&
      std::find(m.classes.begin(), m.classes.end(), v1::TRANSACTIONAL) == m.classes.end()) {
    return "TRANSACTIONAL messages match only rules that name the class";
  }
  if (!AnyOf(m.tenants, event.tenant)) {
    return absl::StrCat("tenant '", event.tenant, "' not in ", Names(m.tenants, Same));
  }
  if (!AnyOf(m.channels, event.channel)) {
    return absl::StrCat("channel ", AsAbsl(ChannelName(event.channel)), " not in ", Names(m.channels, ChannelName));
  }
  if (!AnyOf(m.classes, event.message_class)) {
    return absl::StrCat("message_class ", AsAbsl(ClassName(event.message_class)), " not in ",
                        Names(m.classes, ClassName));
  }
  if (!AnyOf(m.campaigns, event.campaign_id)) {
    return absl::StrCat("campaign '", event.campaign_id, "' not in ", Names(m.campaigns, Same));
  }
  for (const auto& [key, values] : m.attributes) {
    auto it = event.attributes.find(key);
    if (it == event.attributes.end()) return absl::StrCat("attribute '", key, "' missing");
    if (!AnyOf(values, it->second)) {
      return absl::StrCat("attribute ", key, "='", it->second, "' not in ", Names(values, Same));
    }
  }
  return "";
}

}  // namespace tact::policy
