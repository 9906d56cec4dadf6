#include "daemon/cli/policy_history.h"

#include <algorithm>
#include <ostream>
#include <vector>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

std::string Field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

void PrintTable(const std::vector<nlohmann::json>& records, std::ostream& out) {
  out << absl::StrFormat("%-24s %-16s %-9s %-14s %-12s %-20s %-20s %-10s %s\n", "AT", "INSTANCE", "RESULT", "VERSION",
                         "DIGEST", "AUTHOR", "APPROVER", "TICKET", "REASON / ERROR");
  for (const nlohmann::json& r : records) {
    const nlohmann::json p = r.value("provenance", nlohmann::json::object());
    const std::string why = Field(r, "result") == "refused" ? Field(r, "error") : Field(p, "reason");
    out << absl::StrFormat("%-24s %-16s %-9s %-14s %-12s %-20s %-20s %-10s %s\n", Field(r, "at"), Field(r, "instance"),
                           Field(r, "result"), Field(r, "version"), Field(r, "digest").substr(0, 12),
                           Field(p, "author"), Field(p, "approver"), Field(p, "ticket"), why);
  }
  out << records.size() << " record(s)\n";
}

}  // namespace

int PolicyHistory(const PolicyHistoryArgs& args, const Environment& env, const AuditReader& reader,
                  const Streams& io) {
  const AuditArgs audit{.brokers = args.brokers, .topic = args.topic, .timeout_s = args.timeout_s};
  const absl::StatusOr<ops::KafkaSecurity> security = AuditKafkaSecurity(audit, env);
  if (!security.ok()) {
    io.err << "tactctl policy history: " << security.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<nlohmann::json> records;
  const absl::Status read = reader(
      audit, *security,
      [&](std::string_view payload) {
        nlohmann::json r = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
        if (!r.is_object() || (!args.version.empty() && Field(r, "version") != args.version)) return;
        records.push_back(std::move(r));
      },
      [&] { return records.size() >= args.expect; });
  if (!read.ok()) {
    io.err << "tactctl policy history: " << read.message() << "\n";
    return kExitUsage;
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const nlohmann::json& a, const nlohmann::json& b) { return Field(a, "at") < Field(b, "at"); });
  if (args.json) {
    for (const nlohmann::json& r : records) io.out << r.dump() << "\n";
  } else {
    PrintTable(records, io.out);
  }
  if (records.size() < args.expect) {
    io.err << absl::StrFormat("tactctl policy history: expected at least %d record(s), found %d within %d s\n",
                              args.expect, records.size(), args.timeout_s);
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
