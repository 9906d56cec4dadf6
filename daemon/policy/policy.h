#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "daemon/policy/zone_resolver.h"

namespace tact::policy {

enum class OnExceed { kSuppress, kDefer };
enum class Mode { kEnforce, kShadow };
// rolling: the last `window` before now. calendar: the current day/week/month in the customer's time zone.
enum class WindowKind { kRolling, kCalendar };
enum class CalendarUnit { kDay, kWeek, kMonth };
enum class Scope { kCustomer, kCustomerChannel, kCustomerCampaign, kCustomerClass };

// Which messages a rule applies to. An empty list matches anything.
struct Match {
  std::vector<std::string> tenants;
  std::vector<Channel> channels;
  std::vector<MessageClass> classes;
  std::vector<std::string> campaigns;
  std::map<std::string, std::vector<std::string>> attributes;  // key → accepted values
  // Compiled by the parser from channels/classes: bit (1 << enum value); all bits set when the list is empty.
  uint32_t channel_mask = ~0u;
  uint32_t class_mask = ~(1u << v1::TRANSACTIONAL);  // TRANSACTIONAL only when the class is named
  // Compiled by the parser for long lists of rules: the values as a hash set, one set shared by every rule whose
  // list holds the same values (e.g. one YAML alias), so matching an event is a lookup, not a scan. Null: scan.
  using ValueSet = absl::flat_hash_set<std::string>;
  std::shared_ptr<const ValueSet> tenant_set;
  std::shared_ptr<const ValueSet> campaign_set;
  std::vector<std::shared_ptr<const ValueSet>> attribute_sets;  // parallel to `attributes` (map order), or empty
};

struct Limit {
  int64_t count = 0;
  WindowKind kind = WindowKind::kRolling;
  absl::Duration window;                      // rolling only
  CalendarUnit unit = CalendarUnit::kDay;     // calendar only
  Scope scope = Scope::kCustomer;
  std::string window_text;                    // compiled: "rolling 7d", "calendar day"
};

// suppress_if: every listed condition is checked; the rule applies when ANY of them holds.
struct SuppressIf {
  std::optional<int> csat_at_most;            // a CSAT answer of 1..5 at or below this value…
  absl::Duration csat_within;                 // …given within this period
  bool open_complaint = false;
  std::optional<absl::Duration> escalation_within;
  bool callback_pending = false;
  bool opted_out = false;                     // opt-out for every channel or for the message's channel
  // Compiled by the parser: for each condition, its text for people and the signal fields it reads.
  struct Condition {
    std::string text;
    std::vector<std::string> fields;
    absl::Duration within = absl::ZeroDuration();  // >0: only signals this recent count
    // opted_out only: per channel (index = Channel value), `fields` plus "opt_out:<CHANNEL>".
    std::vector<std::vector<std::string>> channel_fields;
  };
  std::vector<Condition> conditions;
};

// Quiet hours in the customer's local time: [start, end), crossing midnight when end <= start.
struct QuietHours {
  int start_minute = 0;  // minutes after local midnight
  int end_minute = 0;
};

struct Rule {
  std::string id;
  std::string description;
  std::string file;  // where it was defined, for explanations
  int line = 0;
  Match match;
  // Exactly one effect.
  std::optional<Limit> limit;
  std::optional<SuppressIf> suppress_if;
  std::optional<QuietHours> quiet_hours;
  OnExceed on_exceed = OnExceed::kSuppress;
  Mode mode = Mode::kEnforce;
  // Compiled by the parser so evaluation builds no text per event.
  std::string counter_prefix;  // limit: "r:<id>" (rolling) or "c:<id>" (calendar)
  std::string quiet_text;      // quiet_hours: "quiet hours 21:00-08:00"
};

struct CampaignGates;  // campaign_gates.h

// Who changed a policy set and why: the files' `provenance:` sections (several files: their distinct values
// joined by ", "), completed from the git commit the directory came from when it is a git checkout
// (decision/policy_files.h). Carried in every policy-history record (tact.policy-history).
struct Provenance {
  std::string author;
  std::string approver;
  std::string reason;
  std::string ticket;
  std::string commit;  // git only: the commit that last changed the directory
  std::string source;  // "files", "git", "files+git" or "" (none)
  bool empty() const { return author.empty() && approver.empty() && reason.empty() && ticket.empty(); }
};

// A loaded, validated policy set (all files of one directory). Immutable once built; shared between threads
// as shared_ptr<const Policy>.
struct Policy {
  std::string version;  // the `version:` of the files (distinct values joined by '+')
  std::string digest;   // sha256 over file names and contents, hex
  Provenance provenance;
  std::string default_timezone = "UTC";
  absl::TimeZone default_zone = absl::UTCTimeZone();
  std::map<std::string, std::string> tenant_timezones;       // tenant → IANA name
  std::map<std::string, absl::TimeZone> tenant_zones;        // same, loaded
  std::vector<Rule> rules;  // evaluation order: files by name, rules in file order
  std::shared_ptr<const CampaignGates> campaign_gates;  // the `campaign_gates:` sections; null when none
  // Loads and caches the time zones evaluation needs (customer zones, local days). A cache, safe from any
  // thread, so a const Policy uses it; copies of a Policy share it. Never null; a test may give its own.
  std::shared_ptr<ZoneResolver> zones = std::make_shared<ZoneResolver>();

  // Compiled by the parser (CompileIndex): for each (channel, message class) pair, the rules whose channel and
  // class lists admit it (bit i = rules[i]), and how many limit / signal checks those rules can add at most.
  // Evaluation then only looks at these candidates. Empty: every rule is a candidate.
  struct Candidates {
    std::vector<uint64_t> rules;
    size_t limits = 0;
    size_t signals = 0;
  };
  std::vector<Candidates> candidates;  // index: channel * v1::MessageClass_ARRAYSIZE + message_class
};

// Builds Policy::candidates from the rules' channel and class masks.
void CompileIndex(Policy& policy);

std::string_view ScopeName(Scope s);
std::string_view OnExceedName(OnExceed o);
std::string_view CalendarUnitName(CalendarUnit u);
std::string ShortDuration(absl::Duration d);  // 7d, 36h, 90m, 1d12h
std::string ClockText(int minute_of_day);     // 21:00

}  // namespace tact::policy
