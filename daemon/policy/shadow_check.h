#pragma once

// "Can never decide" (policies/README.md): the check across the rules of a policy set that an earlier enforcing
// rule does not always apply first to every message a later one matches. Internal to the parser (parse.cc); it
// also attaches the hash sets of long match lists to the rules (Match::tenant_set etc.).
// Thread-safety: not thread-safe; one per ParsePolicy / LintPolicy call.
#include <yaml-cpp/yaml.h>

#include <bitset>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "daemon/policy/parse.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/yaml_reader.h"

namespace tact::policy {

// What the check needs of one rule, computed once.
struct RuleFacts {
  bool transactional = false;  // names TRANSACTIONAL in message_class
  uint32_t channels = 0;       // listed channels (bits); 0 = no list, any channel
  uint32_t classes = 0;        // listed classes (bits); 0 = no list
  int tenants = -1;            // interned set; -1 = no list
  int campaigns = -1;
  std::vector<std::pair<int, int>> attributes;  // (interned key, interned values), sorted by key id
  std::bitset<1440> quiet;                      // quiet_hours only: the minutes it holds
};

class ShadowCheck {
 public:
  explicit ShadowCheck(CheckWork& work);  // counts its work into `work`
  ~ShadowCheck();

  // Compiles `rule` and checks it against `earlier` (the rules Add accepted so far, in policy order). OK: the rule
  // may follow them (the caller appends it to `earlier`). Else "<file>:<line>:<col>: rule '<id>' can never
  // decide: …" at `mark` (the rule's position in `src`).
  absl::Status Add(Rule& rule, const std::vector<Rule>& earlier, const yaml_reader::Source& src,
                   const YAML::Mark& mark);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tact::policy
