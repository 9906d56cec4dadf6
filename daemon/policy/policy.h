#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/core/event.h"

namespace tact::policy {

enum class OnExceed { kSuppress, kDefer };
enum class Mode { kEnforce, kShadow };
enum class WindowKind { kRolling };
enum class Scope { kCustomer, kCustomerChannel, kCustomerCampaign, kCustomerClass };

// Which messages a rule applies to. An empty list matches anything.
struct Match {
  std::vector<std::string> tenants;
  std::vector<Channel> channels;
  std::vector<MessageClass> classes;
  std::vector<std::string> campaigns;
  std::map<std::string, std::vector<std::string>> attributes;  // key → accepted values
};

struct Limit {
  int64_t count = 0;
  absl::Duration window;
  WindowKind kind = WindowKind::kRolling;
  Scope scope = Scope::kCustomer;
};

struct Rule {
  std::string id;
  std::string description;
  std::string file;  // where it was defined, for explanations
  int line = 0;
  Match match;
  std::optional<Limit> limit;
  OnExceed on_exceed = OnExceed::kSuppress;
  Mode mode = Mode::kEnforce;
};

// A loaded, validated policy set (all files of one directory). Immutable once built; shared between threads
// as shared_ptr<const Policy>.
struct Policy {
  std::string version;  // the `version:` of the files (distinct values joined by '+')
  std::string digest;   // sha256 over file names and contents, hex
  std::string default_timezone = "UTC";
  std::vector<Rule> rules;  // evaluation order: files by name, rules in file order
};

std::string_view ScopeName(Scope s);
std::string_view OnExceedName(OnExceed o);
std::string ShortDuration(absl::Duration d);  // 7d, 36h, 90m, 1d12h

}  // namespace tact::policy
