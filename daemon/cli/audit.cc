#include "daemon/cli/audit.h"

#include <algorithm>
#include <ostream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_service.h"
#include "daemon/ops/config.h"
#include "daemon/pipeline/event_codec.h"

extern "C" char** environ;

namespace tact::cli {
namespace {

bool IsSecurityVariable(const std::string& name) {
  return name.starts_with(ops::kKafkaPropertiesEnvPrefix) || name == "TACT_KAFKA_SECURITY_PROTOCOL" ||
         name.starts_with("TACT_KAFKA_SASL_") || name.starts_with("TACT_KAFKA_SSL_");
}

std::string Name(v1::DecisionKind kind) { return std::string(decision::DecisionName(kind)); }

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

bool IsSecuritySetting(const std::string& path) {
  return path == "kafka.security_protocol" || path.starts_with("kafka.sasl_") || path.starts_with("kafka.ssl_");
}

absl::StatusOr<ops::KafkaSecurity> AuditKafkaSecurity(const AuditArgs& args, const Environment& env) {
  std::map<std::string, std::string> security_env;
  for (const auto& [name, value] : env) {
    if (IsSecurityVariable(name)) security_env.emplace(name, value);
  }
  ops::Config config;
  if (absl::Status s = ops::ApplyEnvironment(security_env, config); !s.ok()) return s;
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (auto it = args.security_flags.find(k.path); it != args.security_flags.end()) {
      if (absl::Status s = k.set(config, it->second); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(k.flag, ": ", s.message()));
      }
    }
  }
  return ops::LoadKafkaSecurity(config);
}

bool AuditFilter::MatchesOrigin(const v1::DecisionRecord& rec) const {
  if (!policy_version.empty() && rec.decision().policy_version() != policy_version) return false;
  if (!message_class.empty() && ClassName(rec.message_class()) != message_class) return false;
  if (!campaign.empty() && rec.campaign_id() != campaign) return false;
  return client.empty() || rec.client() == client;
}

bool AuditFilter::Matches(const v1::DecisionRecord& rec) const {
  if (!customer_hash.empty() && rec.customer_hash() != customer_hash) return false;
  if (!rule.empty() && rec.decision().rule_id() != rule) return false;
  if (!decision.empty() && decision::DecisionName(rec.decision().decision()) != decision) return false;
  if (!MatchesOrigin(rec)) return false;
  const absl::Time at = TimeFromProto(rec.decided_at());
  return at >= since && at < until;
}

absl::StatusOr<AuditFilter> FilterFromArgs(const AuditArgs& args, const Environment& env) {
  AuditFilter f{.rule = args.rule,
                .decision = args.decision,
                .policy_version = args.policy_version,
                .message_class = args.message_class,
                .campaign = args.campaign,
                .client = args.client};
  if (!args.customer.empty()) {
    const auto key = env.find("TACT_CUSTOMER_HASH_KEY");
    if (key == env.end() || args.tenant.empty()) {
      return absl::InvalidArgumentError(
          "--customer needs --tenant and TACT_CUSTOMER_HASH_KEY (the daemon's key)");
    }
    const CustomerHasher hasher(key->second);
    f.customer_hash = hasher.Hash(args.tenant, args.customer);
    f.tenant = args.tenant;
    f.key_id = hasher.KeyId();
  }
  for (auto [text, out, flag] :
       {std::tuple{&args.since, &f.since, "--since"}, std::tuple{&args.until, &f.until, "--until"}}) {
    std::string err;
    if (!text->empty() && !absl::ParseTime(absl::RFC3339_full, *text, out, &err)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", *text, "' is not an RFC 3339 time (e.g. 2026-11-23T08:00:00Z)"));
    }
  }
  return f;
}

void KeyMismatch::Visit(const AuditFilter& filter, const v1::DecisionRecord& rec) {
  if (filter.customer_hash.empty() || rec.tenant() != filter.tenant || rec.customer_hash_key_id().empty()) return;
  ++tenant_records;
  if (rec.customer_hash_key_id() == filter.key_id) return;
  if (other_key == 0) other_key_id = rec.customer_hash_key_id();
  ++other_key;
}

std::string KeyMismatch::Warning(const AuditFilter& filter) const {
  if (other_key == 0) return "";
  return absl::StrFormat(
      "tactctl audit: warning: no record matches --customer, but %d of %d record(s) of tenant '%s' were hashed "
      "with another customer hash key (key id %s; TACT_CUSTOMER_HASH_KEY's is %s): set TACT_CUSTOMER_HASH_KEY to "
      "the key tactd used\n",
      other_key, tenant_records, filter.tenant, other_key_id, filter.key_id);
}

void PrintAudit(std::vector<v1::DecisionRecord> records, AuditFormat format, std::ostream& out) {
  // Partitions interleave: show the records in decision order.
  std::stable_sort(records.begin(), records.end(), [](const v1::DecisionRecord& a, const v1::DecisionRecord& b) {
    return std::make_pair(a.decided_at().seconds(), a.decided_at().nanos()) <
           std::make_pair(b.decided_at().seconds(), b.decided_at().nanos());
  });
  if (format == AuditFormat::kJson) {
    for (const v1::DecisionRecord& r : records) out << pipeline::EncodeDecisionRecord(r) << "\n";
    return;
  }
  if (format == AuditFormat::kCsv) {
    PrintAuditCsv(records, out);
    return;
  }
  constexpr char kRow[] = "%-28s %-18s %-8s %-9s %-28s %-10s %s\n";
  out << absl::StrFormat(kRow, "EVENT", "CLASS", "CHANNEL", "DECISION", "RULE", "POLICY", "REASON");
  std::map<std::string, int> totals;
  for (const v1::DecisionRecord& r : records) {
    const v1::Decision& d = r.decision();
    std::string reason = d.reason();
    if (d.duplicate()) reason += " [redelivered: earlier decision]";
    if (d.degraded()) reason += " [degraded]";
    if (const std::string e = EvidenceText(r); !e.empty()) absl::StrAppend(&reason, " [", e, "]");
    if (!r.client().empty()) absl::StrAppend(&reason, " [client ", r.client(), "]");
    out << absl::StrFormat(kRow, r.event_id(), std::string(ClassName(r.message_class())),
                           std::string(ChannelName(r.channel())), Name(d.decision()),
                           d.rule_id().empty() ? "-" : d.rule_id(), d.policy_version(), reason);
    totals[Name(d.decision())]++;
  }
  std::string line;
  for (const auto& [k, v] : totals) absl::StrAppend(&line, line.empty() ? "" : ", ", v, " ", k);
  out << absl::StrFormat("\n%d decision(s): %s\n", records.size(), line.empty() ? "none" : line);
}

int Audit(const AuditArgs& args, const Environment& env, const AuditReader& reader, const Streams& io) {
  auto usage = [&](const absl::Status& s) {
    io.err << "tactctl audit: " << s.message() << "\n";
    return kExitUsage;
  };
  const absl::StatusOr<AuditFilter> filter = FilterFromArgs(args, env);
  if (!filter.ok()) return usage(filter.status());
  const absl::StatusOr<ops::KafkaSecurity> security = AuditKafkaSecurity(args, env);
  if (!security.ok()) return usage(security.status());
  if (args.json && args.csv) return usage(absl::InvalidArgumentError("--json and --csv: choose one"));
  std::vector<v1::DecisionRecord> matched;
  KeyMismatch mismatch;
  const absl::Status read = reader(
      args, *security,
      [&](std::string_view payload) {
        absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(payload);
        if (!rec.ok()) return;
        mismatch.Visit(*filter, *rec);
        if (filter->Matches(*rec)) matched.push_back(*std::move(rec));
      },
      [&] { return matched.size() >= args.expect; });
  if (!read.ok()) return usage(read);
  const size_t found = matched.size();
  PrintAudit(std::move(matched), args.json ? AuditFormat::kJson : args.csv ? AuditFormat::kCsv : AuditFormat::kTable,
             io.out);
  if (const std::string warning = found == 0 ? mismatch.Warning(*filter) : ""; !warning.empty()) {
    io.err << warning;
    if (args.strict) return kExitFailed;
  }
  if (found < args.expect) {
    io.err << absl::StrFormat("tactctl audit: expected at least %d record(s), found %d within %d s\n", args.expect,
                              found, args.timeout_s);
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
