#pragma once

// Parsing one rule of a policy file, by section (internal to the parser, parse.cc): the rule itself and its
// match, limit and quiet_hours (parse_rule.cc), suppress_if (parse_suppress_if.cc). Errors are
// "<file>:<line>:<col>: <message>" (yaml_reader.h).
#include <yaml-cpp/yaml.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/yaml_reader.h"

namespace tact::policy {

// A strict duration (ParseDuration) at `node`; `what` names the field in the error.
absl::StatusOr<absl::Duration> DurationValue(const YAML::Node& node, const yaml_reader::Source& src,
                                             const std::string& what);

// Names a rule by its id when it has a readable one, else by its position ("rule #3").
std::string RuleWhere(const YAML::Node& node, int index);

// Entry `index` of a file's `rules:`. `file_tenant`: the file's `tenant:` ("" = every tenant).
absl::StatusOr<Rule> ParseRule(const YAML::Node& node, const yaml_reader::Source& src, int index,
                               const std::string& file_tenant);

// A rule's suppress_if section, with its conditions compiled into the store's generic form.
absl::StatusOr<SuppressIf> ParseSuppressIf(const YAML::Node& node, const yaml_reader::Source& src,
                                           const std::string& where);

}  // namespace tact::policy
