#include "daemon/capacity/staffing_csv.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

constexpr std::string_view kColumns[] = {"start",     "agents",      "shrinkage",  "aht_s",     "baseline_calls",
                                         "target_sl", "threshold_s", "patience_s", "max_asa_s", "max_abandon",
                                         "max_occupancy", "service_levels"};
constexpr std::string_view kRequired[] = {"start", "agents", "aht_s", "baseline_calls"};

absl::Status LineError(std::string_view file, int line, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(file), ":", line, ": ", AsAbsl(what)));
}

// The `service_levels` cell: further targets as <percent>/<seconds>, separated by ';' ("90/90;95/180").
absl::Status ParseServiceLevels(std::string_view file, int line_no, std::string_view cell, Target& target) {
  int k = 0;
  for (absl::string_view item : absl::StrSplit(AsAbsl(cell), absl::ByAnyChar("; "), absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> pt = absl::StrSplit(item, absl::MaxSplits('/', 1));
    ServiceLevelPoint p;
    if (!absl::SimpleAtod(absl::StripSuffix(pt.first, "%"), &p.service_level) ||
        !absl::SimpleAtod(absl::StripSuffix(pt.second, "s"), &p.threshold_s)) {
      return LineError(file, line_no,
                       absl::StrCat("column 'service_levels': item ", k + 1,
                                    " must be <percent>/<seconds>, e.g. 90/90 for 90% in 90 s"));
    }
    p.service_level /= 100;
    target.more_service_levels.push_back(p);
    ++k;
  }
  return absl::OkStatus();
}

// The header line: column name → cell index.
absl::Status ParseHeader(std::string_view file, int line_no, const std::vector<std::string>& cells,
                         std::map<std::string, size_t>& column) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (std::find(std::begin(kColumns), std::end(kColumns), cells[i]) == std::end(kColumns)) {
      return LineError(file, line_no,
                       absl::StrCat("unknown column '", cells[i], "' (expected: ",
                                    absl::StrJoin(kColumns, ", ",
                                                  [](std::string* out, std::string_view s) { out->append(s); }),
                                    ")"));
    }
    if (!column.emplace(cells[i], i).second) {
      return LineError(file, line_no, absl::StrCat("duplicate column '", cells[i], "'"));
    }
  }
  for (std::string_view r : kRequired) {
    if (!column.contains(std::string(r))) {
      return LineError(file, line_no, absl::StrCat("missing required column '", AsAbsl(r), "'"));
    }
  }
  return absl::OkStatus();
}

// One interval line (its cell count already checked against the header).
absl::StatusOr<StaffingInterval> ParseRow(std::string_view file, int line_no, const std::vector<std::string>& cells,
                                          const std::map<std::string, size_t>& column) {
  auto cell = [&](std::string_view name) -> const std::string* {
    auto it = column.find(std::string(name));
    return it == column.end() || cells[it->second].empty() ? nullptr : &cells[it->second];
  };
  StaffingInterval si;
  absl::Status bad;
  auto number = [&](std::string_view name, double& out) {
    const std::string* c = cell(name);
    if (c == nullptr || !bad.ok()) return;
    if (!absl::SimpleAtod(*c, &out)) {
      bad = LineError(file, line_no, absl::StrCat("column '", AsAbsl(name), "': '", *c, "' is not a number"));
    }
  };
  const std::string* start = cell("start");
  std::string err;
  if (start == nullptr || !absl::ParseTime(absl::RFC3339_full, *start, &si.start, &err)) {
    return LineError(file, line_no,
                     absl::StrCat("column 'start': '", start ? *start : "", "' is not an RFC 3339 time"));
  }
  double agents = -1;
  number("agents", agents);
  if (bad.ok() && (agents != static_cast<int>(agents) || cell("agents") == nullptr)) {
    return LineError(file, line_no, "column 'agents': must be a whole number");
  }
  si.agents = static_cast<int>(agents);
  number("shrinkage", si.shrinkage);
  number("aht_s", si.aht_s);
  if (cell("baseline_calls") == nullptr) return LineError(file, line_no, "column 'baseline_calls': required");
  number("baseline_calls", si.baseline_calls);
  number("target_sl", si.target.service_level);
  number("threshold_s", si.target.threshold_s);
  number("patience_s", si.patience_s);
  number("max_asa_s", si.target.max_asa_s);
  number("max_abandon", si.target.max_abandon);
  number("max_occupancy", si.target.max_occupancy);
  if (!bad.ok()) return bad;
  if (const std::string* levels = cell("service_levels"); levels != nullptr) {
    if (absl::Status s = ParseServiceLevels(file, line_no, *levels, si.target); !s.ok()) return s;
  }
  return si;
}

}  // namespace

absl::StatusOr<Staffing> ParseStaffingCsv(std::string_view file, std::string_view text) {
  Staffing staffing;
  std::vector<int> lines;  // source line of each interval
  std::map<std::string, size_t> column;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(AsAbsl(text), '\n')) {
    ++line_no;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string> cells;
    for (absl::string_view c : absl::StrSplit(line, ',')) cells.emplace_back(absl::StripAsciiWhitespace(c));
    if (column.empty()) {
      if (absl::Status s = ParseHeader(file, line_no, cells, column); !s.ok()) return s;
      continue;
    }
    if (cells.size() != column.size()) {
      return LineError(file, line_no, absl::StrCat(cells.size(), " cells, the header has ", column.size()));
    }
    absl::StatusOr<StaffingInterval> si = ParseRow(file, line_no, cells, column);
    if (!si.ok()) return si.status();
    staffing.intervals.push_back(*si);
    lines.push_back(line_no);
  }
  if (column.empty()) return LineError(file, line_no, "no header line");
  if (staffing.intervals.empty()) return LineError(file, line_no, "no intervals");
  if (absl::Status s = ValidateStaffing(
          staffing,
          [&](size_t i, std::string_view field) {
            return absl::StrCat(AsAbsl(file), ":", lines[i], ": column '", AsAbsl(field), "'");
          });
      !s.ok()) {
    return s;
  }
  return staffing;
}

}  // namespace tact::capacity
