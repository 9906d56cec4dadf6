#pragma once

// Staffing as planners keep it: one CSV row per 15-minute interval. Pure text parsing, no file access.
//
//   # comment lines and blank lines are ignored; the first other line is the header (any column order)
//   start,agents,shrinkage,aht_s,baseline_calls,target_sl,threshold_s,patience_s,max_asa_s,max_abandon
//   2026-11-23T08:00:00Z,30,0.3,300,40,0.8,20,120,,
//
// Columns: start (RFC 3339, on a quarter hour; rows consecutive), agents (scheduled), aht_s (average handle
// time, s) and baseline_calls (forecast contacts without campaigns) are required; shrinkage (share of
// scheduled time off the phones, default 0), target_sl (default 0.8), threshold_s (default 20), patience_s
// (mean customer patience, s; default 0 = not modelled), max_asa_s and max_abandon (default 0 = no such
// target) are optional, and an empty cell takes the default.
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/capacity/plan.h"

namespace tact::capacity {

// Errors are INVALID_ARGUMENT "<file>:<line>: <what>", e.g. "week.csv:7: column 'aht_s': 'x' is not a number".
absl::StatusOr<Staffing> ParseStaffingCsv(std::string_view file, std::string_view text);

}  // namespace tact::capacity
