#pragma once

// tactctl audit: decision records read back from tact.decisions, filtered, as a table or JSON lines.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/cli/cli.h"
#include "daemon/core/clock.h"
#include "daemon/ops/kafka_security.h"
#include "tact/v1/decision.pb.h"

namespace tact::cli {

struct AuditArgs {
  std::string since;  // RFC 3339, inclusive
  std::string until;  // RFC 3339, exclusive
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "tact.decisions";
  std::string customer;
  std::string tenant;
  std::string rule;
  std::string decision;
  std::string policy_version;
  std::string message_class;  // --class: a MessageClass name
  std::string campaign;
  std::string client;  // gRPC client name
  size_t expect = 0;
  int timeout_s = 10;
  bool json = false;
  bool csv = false;
  bool strict = false;  // a customer hash key mismatch detected is exit 1
  std::map<std::string, std::string> security_flags;  // kafka.* security setting path → flag value, given only
};

// Environment variables tactctl reads (name → value): TACT_CUSTOMER_HASH_KEY, TACT_KAFKA_* security settings.
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();

// The kafka.* security settings tactctl audit takes as flags (the same names as tactd's).
bool IsSecuritySetting(const std::string& path);
// As tactd takes them: the TACT_KAFKA_* variables of `env` (secrets only there), then the flags given.
absl::StatusOr<ops::KafkaSecurity> AuditKafkaSecurity(const AuditArgs& args, const Environment& env);

// Which records the audit shows.
struct AuditFilter {
  std::string customer_hash;  // empty: every customer
  std::string tenant;         // of --customer
  std::string key_id;         // of TACT_CUSTOMER_HASH_KEY, with --customer (CustomerHasher::KeyId)
  std::string rule;
  std::string decision;
  std::string policy_version;
  std::string message_class;
  std::string campaign;
  std::string client;
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  bool Matches(const v1::DecisionRecord& record) const;
  // The policy version, class, campaign and client filters.
  bool MatchesOrigin(const v1::DecisionRecord& record) const;
};
// INVALID_ARGUMENT for a bad --since/--until, or --customer without --tenant or TACT_CUSTOMER_HASH_KEY.
absl::StatusOr<AuditFilter> FilterFromArgs(const AuditArgs& args, const Environment& env);

// What a --customer search that matched nothing can tell about the hash key: records of the tenant whose
// customer_hash_key_id differs from TACT_CUSTOMER_HASH_KEY's (records without one, from older tactd, are not
// counted).
struct KeyMismatch {
  size_t tenant_records = 0;   // records of --tenant with a key id
  size_t other_key = 0;        // … made with another key
  std::string other_key_id;    // the first such key id
  void Visit(const AuditFilter& filter, const v1::DecisionRecord& record);
  // The warning when the search matched nothing and some records of the tenant were hashed with another key.
  std::string Warning(const AuditFilter& filter) const;
};

enum class AuditFormat { kTable, kJson, kCsv };

// The records in decision order, as a table with totals, JSON lines or CSV.
void PrintAudit(std::vector<v1::DecisionRecord> records, AuditFormat format, std::ostream& out);

// CSV (RFC 4180: CRLF line ends; a field with a comma, quote, CR or LF is quoted, its quotes doubled): the
// header row kAuditCsvColumns, then one row per record.
extern const char* const kAuditCsvColumns;
void PrintAuditCsv(const std::vector<v1::DecisionRecord>& records, std::ostream& out);
std::string CsvField(std::string_view value);

// One line of text for a record's evidence ("2 of 2 in rolling 7d since …"); empty when it has none.
std::string EvidenceText(const v1::DecisionRecord& record);

// Reads the audit topic from its beginning: `visit` gets each record's payload; returns once every partition
// reached its end and `enough()` holds, or after --timeout. An error (bad settings, unreachable broker, no such
// topic) is a usage error.
using AuditReader = std::function<absl::Status(const AuditArgs& args, const ops::KafkaSecurity& security,
                                               const std::function<void(std::string_view payload)>& visit,
                                               const std::function<bool()>& enough)>;
AuditReader KafkaAuditReader(const Clock& clock);  // librdkafka; `clock` for the timeout and the group id

// Exit 0; 1 when fewer than --expect records matched, or with --strict when a --customer search matched nothing
// because of a customer hash key mismatch; 2 on bad flags or an unreachable broker.
int Audit(const AuditArgs& args, const Environment& env, const AuditReader& reader, const Streams& io);

}  // namespace tact::cli
