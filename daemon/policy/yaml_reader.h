#pragma once

// Reading policy YAML strictly, for the parser (parse*.cc, shadow_check.cc) and campaign_gates.cc (internal to
// daemon/policy): every error is "<file>:<line>:<col>: <message>" (1-based) written for a compliance analyst, and
// both parsers share the wording.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/event.h"
#include "daemon/core/status_macros.h"

namespace tact::policy::yaml_reader {

// How many list entries one policy file may hold: per list, and in all (a YAML alias counts at every use, so
// a 17 KB file cannot expand into millions of entries). Owned by the caller that parses the file.
struct ListBudget {
  size_t per_list = 0;
  size_t per_file = 0;
  size_t used = 0;
  bool exceeded = false;  // once set, the file's parse stops: every later list would fail the same way

  std::string TotalExceeded() const {
    return absl::StrCat("the lists of this file hold more than ", per_file,
                        " entries in all (an alias counts each time it is used); at most ", per_file,
                        " are allowed per file");
  }
};

// Errors carry file:line:col (1-based) and a message written for a compliance analyst.
class Source {
 public:
  explicit Source(const std::string& path, ListBudget* budget = nullptr) : path_(path), budget_(budget) {}
  absl::Status Error(const YAML::Node& at, const std::string& msg) const {
    const YAML::Mark m = at.Mark();
    return Error(m.line + 1, m.column + 1, msg);
  }
  absl::Status Error(int line, int col, const std::string& msg) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ":", col, ": ", msg));
  }
  const std::string& path() const { return path_; }
  ListBudget* budget() const { return budget_; }

  // Charges a list of `n` entries at `node` to the file's budget (none: unlimited).
  absl::Status SpendList(const YAML::Node& node, const std::string& what, size_t n) const {
    if (budget_ == nullptr) return absl::OkStatus();
    if (n > budget_->per_list) {
      return Error(node, absl::StrCat(what, " has ", n, " entries; at most ", budget_->per_list,
                                      " are allowed in one list"));
    }
    budget_->used += n;
    if (budget_->used > budget_->per_file) {
      budget_->exceeded = true;  // the caller names the rule or gate: an aliased list's mark is its anchor's
      return Error(node, absl::StrCat(what, ": ", budget_->TotalExceeded()));
    }
    return absl::OkStatus();
  }

 private:
  const std::string& path_;
  ListBudget* budget_;
};

inline std::string Expected(std::initializer_list<std::string_view> allowed) {
  std::string out = "(expected one of: ";
  for (std::string_view a : allowed) {
    out.append(a).append(a == *(allowed.end() - 1) ? ")" : ", ");
  }
  return out;
}

// Each mapping level has its own allowed keys; yaml-cpp keeps both entries of a duplicate key.
inline absl::Status CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                              const Source& src, const std::string& where) {
  if (!map.IsMap()) {
    return src.Error(map, absl::StrCat(where, " must be a mapping of keys to values"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      return src.Error(kv.first, absl::StrCat(where, ": keys must be plain words"));
    }
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return src.Error(kv.first, absl::StrCat(where, ": unknown key '", key, "' ", Expected(allowed)));
    }
    if (!seen.insert(key).second) {
      return src.Error(kv.first, absl::StrCat(where, ": key '", key, "' appears twice"));
    }
  }
  return absl::OkStatus();
}

inline absl::StatusOr<std::string> ScalarString(const YAML::Node& node, const Source& src,
                                                const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    return src.Error(node, absl::StrCat(what, " must be a non-empty text value"));
  }
  return node.Scalar();
}

inline absl::StatusOr<int64_t> IntInRange(const YAML::Node& node, const Source& src, const std::string& what,
                                          int64_t lo, int64_t hi) {
  if (!node.IsScalar()) {
    return src.Error(node, absl::StrCat(what, " must be a whole number"));
  }
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return src.Error(node, absl::StrCat(what, " must be a whole number, got '", s, "'"));
  }
  if (v < lo || v > hi) {
    return src.Error(node, absl::StrCat(what, " must be between ", lo, " and ", hi, ", got ", v));
  }
  return v;
}

inline absl::StatusOr<bool> Bool(const YAML::Node& node, const Source& src, const std::string& what) {
  if (node.IsScalar() && node.Scalar() == "true") return true;
  if (node.IsScalar() && node.Scalar() == "false") return false;
  return src.Error(node, absl::StrCat(what, " must be true or false"));
}

// A scalar or a list of scalars, as a list.
inline absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node, const Source& src,
                                                           const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(node, src, what));
    out.push_back(std::move(v));
    return out;
  }
  if (!node.IsSequence() || node.size() == 0) {
    return src.Error(node, absl::StrCat(what, " must be a value or a non-empty list of values"));
  }
  TACT_RETURN_IF_ERROR(src.SpendList(node, what, node.size()));  // before copying anything
  out.reserve(node.size());
  for (const auto& item : node) {
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(item, src, what));
    out.push_back(std::move(v));
  }
  return out;
}

// A tenant or a list of tenants: each a tenant id as events carry it (IsValidTenantId), or the rule could never
// match (a tenant outside the charset is refused on every input path).
inline absl::StatusOr<std::vector<std::string>> TenantList(const YAML::Node& node, const Source& src,
                                                           const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> tenants, StringList(node, src, what));
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (!IsValidTenantId(tenants[i])) {
      const YAML::Node at = node.IsSequence() ? node[i] : node;
      return src.Error(at, absl::StrCat(what, ": '", tenants[i].substr(0, 64),
                                        "' is not a tenant id (1-256 letters, digits, '.', '_' or '-')"));
    }
  }
  return tenants;
}

template <typename Enum>
absl::StatusOr<std::vector<Enum>> EnumList(const YAML::Node& node, const Source& src, const std::string& what,
                                           bool (*parse)(const std::string&, Enum*),
                                           std::initializer_list<std::string_view> names) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> values, StringList(node, src, what));
  std::vector<Enum> out;
  for (const std::string& v : values) {
    Enum e;
    if (!parse(v, &e) || static_cast<int>(e) == 0) {
      return src.Error(node, absl::StrCat(what, ": unknown value '", v, "' ", Expected(names)));
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace tact::policy::yaml_reader
