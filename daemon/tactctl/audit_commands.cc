#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_service.h"
#include "daemon/ops/config.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/tactctl/commands.h"

namespace tact::cli {
namespace {

struct AuditOptions {
  std::string since;  // RFC 3339, inclusive
  std::string until;  // RFC 3339, exclusive
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "tact.decisions";
  std::string customer;
  std::string tenant;
  std::string rule;
  std::string decision;
  size_t expect = 0;
  int timeout_s = 10;
  bool json = false;
  std::map<std::string, std::string> security_flags;  // kafka.* security setting path → flag value given
};

extern "C" char** environ;

// The Kafka security settings, as tactd takes them: TACT_KAFKA_* variables (secrets only there), then the flags
// (--kafka-security-protocol, … the same names as tactd's).
bool IsSecuritySetting(const std::string& path) {
  return path == "kafka.security_protocol" || path.starts_with("kafka.sasl_") || path.starts_with("kafka.ssl_");
}

absl::StatusOr<ops::KafkaSecurity> AuditKafkaSecurity(const AuditOptions& o) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const size_t eq = kv.find('=');
    const std::string name = kv.substr(0, eq);
    if (eq == std::string::npos) continue;
    if (name.starts_with(ops::kKafkaPropertiesEnvPrefix) || name == "TACT_KAFKA_SECURITY_PROTOCOL" ||
        name.starts_with("TACT_KAFKA_SASL_") || name.starts_with("TACT_KAFKA_SSL_")) {
      env.emplace(name, kv.substr(eq + 1));
    }
  }
  ops::Config config;
  if (absl::Status s = ops::ApplyEnvironment(env, config); !s.ok()) return s;
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (auto it = o.security_flags.find(k.path); it != o.security_flags.end()) {
      if (absl::Status s = k.set(config, it->second); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(k.flag, ": ", s.message()));
      }
    }
  }
  return ops::LoadKafkaSecurity(config);
}

// Reads decision records from the beginning of the audit topic to its end (or until --expect records
// matched), applies the filters and prints a table or JSON lines.
int Audit(const AuditOptions& o) {
  std::string customer_hash;
  if (!o.customer.empty()) {
    const char* key = std::getenv("TACT_CUSTOMER_HASH_KEY");
    if (key == nullptr || o.tenant.empty()) {
      std::fprintf(stderr, "tactctl audit: --customer needs --tenant and TACT_CUSTOMER_HASH_KEY (the daemon's key)\n");
      return kExitUsage;
    }
    customer_hash = CustomerHasher(key).Hash(o.tenant, o.customer);
  }
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  for (auto [text, out, flag] : {std::tuple{&o.since, &since, "--since"}, std::tuple{&o.until, &until, "--until"}}) {
    std::string err;
    if (!text->empty() && !absl::ParseTime(absl::RFC3339_full, *text, out, &err)) {
      std::fprintf(stderr, "tactctl audit: %s: '%s' is not an RFC 3339 time (e.g. 2026-11-23T08:00:00Z)\n", flag,
                   text->c_str());
      return kExitUsage;
    }
  }
  const absl::StatusOr<ops::KafkaSecurity> security = AuditKafkaSecurity(o);
  if (!security.ok()) {
    std::fprintf(stderr, "tactctl audit: %s\n", std::string(security.status().message()).c_str());
    return kExitUsage;
  }
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : security->LibrdkafkaConf()) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      std::fprintf(stderr, "tactctl audit: %s: %s\n", k.c_str(),
                   ops::RedactSecrets(err, security->Secrets()).c_str());
      return kExitUsage;
    }
  }
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", o.brokers},
           {"group.id", absl::StrCat("tactctl-audit-", absl::ToUnixNanos(SystemClock().Now()))},
           {"enable.auto.commit", "false"},
           {"auto.offset.reset", "earliest"},
           {"enable.partition.eof", "true"},
           {"log_level", "3"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      std::fprintf(stderr, "tactctl audit: %s: %s\n", k, err.c_str());
      return kExitUsage;
    }
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) {
    std::fprintf(stderr, "tactctl audit: %s\n", err.c_str());
    return kExitUsage;
  }
  // Assign every partition explicitly so "end of topic" is well defined.
  RdKafka::Metadata* raw_md = nullptr;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer.get(), o.topic, nullptr, err));
  if (consumer->metadata(false, topic.get(), &raw_md, 10000) != RdKafka::ERR_NO_ERROR) {
    std::fprintf(stderr, "tactctl audit: cannot reach %s\n", o.brokers.c_str());
    return kExitUsage;
  }
  std::unique_ptr<RdKafka::Metadata> md(raw_md);
  std::vector<RdKafka::TopicPartition*> parts;
  for (const RdKafka::TopicMetadata* t : *md->topics()) {
    for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
      parts.push_back(RdKafka::TopicPartition::create(o.topic, p->id(), RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  if (parts.empty()) {
    std::fprintf(stderr, "tactctl audit: topic %s not found\n", o.topic.c_str());
    return kExitUsage;
  }
  consumer->assign(parts);
  const size_t n_parts = parts.size();
  RdKafka::TopicPartition::destroy(parts);

  std::vector<v1::DecisionRecord> matched;
  std::set<int> at_end;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      at_end.insert(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      at_end.erase(m->partition());
      absl::StatusOr<v1::DecisionRecord> rec =
          pipeline::DecodeDecisionRecord(std::string_view(static_cast<const char*>(m->payload()), m->len()));
      if (!rec.ok()) continue;
      if (!customer_hash.empty() && rec->customer_hash() != customer_hash) continue;
      if (!o.rule.empty() && rec->decision().rule_id() != o.rule) continue;
      if (!o.decision.empty() && decision::DecisionName(rec->decision().decision()) != o.decision) continue;
      const absl::Time at = TimeFromProto(rec->decided_at());
      if (at < since || at >= until) continue;
      matched.push_back(*std::move(rec));
    }
    if (at_end.size() == n_parts && matched.size() >= o.expect) break;
  }
  consumer->close();
  // Partitions interleave: show the records in decision order.
  std::stable_sort(matched.begin(), matched.end(), [](const v1::DecisionRecord& a, const v1::DecisionRecord& b) {
    return std::make_pair(a.decided_at().seconds(), a.decided_at().nanos()) <
           std::make_pair(b.decided_at().seconds(), b.decided_at().nanos());
  });

  if (o.json) {
    for (const v1::DecisionRecord& r : matched) {
      std::printf("%s\n", pipeline::EncodeDecisionRecord(r).c_str());
    }
  } else {
    std::printf("%-28s %-18s %-8s %-9s %-28s %-10s %s\n", "EVENT", "CLASS", "CHANNEL", "DECISION", "RULE",
                "POLICY", "REASON");
    for (const v1::DecisionRecord& r : matched) {
      const v1::Decision& d = r.decision();
      std::string reason = d.reason();
      if (d.duplicate()) reason += " [redelivered: earlier decision]";
      if (d.degraded()) reason += " [degraded]";
      std::printf("%-28s %-18s %-8s %-9s %-28s %-10s %s\n", r.event_id().c_str(),
                  std::string(ClassName(r.message_class())).c_str(), std::string(ChannelName(r.channel())).c_str(),
                  std::string(decision::DecisionName(d.decision())).c_str(),
                  d.rule_id().empty() ? "-" : d.rule_id().c_str(), d.policy_version().c_str(), reason.c_str());
    }
    std::map<std::string, int> totals;
    for (const v1::DecisionRecord& r : matched) totals[std::string(decision::DecisionName(r.decision().decision()))]++;
    std::string line;
    for (const auto& [k, v] : totals) absl::StrAppend(&line, line.empty() ? "" : ", ", v, " ", k);
    std::printf("\n%zu decision(s): %s\n", matched.size(), line.empty() ? "none" : line.c_str());
  }
  if (matched.size() < o.expect) {
    std::fprintf(stderr, "tactctl audit: expected at least %zu record(s), found %zu within %d s\n", o.expect,
                 matched.size(), o.timeout_s);
    return kExitFailed;
  }
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, RunFn& run) {
  auto audit_opts = std::make_shared<AuditOptions>();
  CLI::App* audit = app.add_subcommand("audit", "Read decision records back from tact.decisions");
  audit->add_option("--brokers", audit_opts->brokers, "Kafka bootstrap servers")->capture_default_str();
  audit->add_option("--topic", audit_opts->topic, "Audit topic")->capture_default_str();
  audit->add_option("--customer", audit_opts->customer, "Only this customer (hashed with TACT_CUSTOMER_HASH_KEY)");
  audit->add_option("--tenant", audit_opts->tenant, "Tenant of --customer");
  audit->add_option("--rule", audit_opts->rule, "Only decisions by this rule id");
  audit->add_option("--decision", audit_opts->decision, "Only RELEASE, DEFER, SUPPRESS or EXPIRED")
      ->check(CLI::IsMember({"RELEASE", "DEFER", "SUPPRESS", "EXPIRED"}));
  audit->add_option("--expect", audit_opts->expect, "Wait until at least this many records match");
  audit->add_option("--timeout", audit_opts->timeout_s, "Seconds to wait for the end of the topic")
      ->capture_default_str();
  audit->add_flag("--json", audit_opts->json, "One JSON decision record per line");
  audit->add_option("--since", audit_opts->since, "Only decisions at or after this RFC 3339 time");
  audit->add_option("--until", audit_opts->until, "Only decisions before this RFC 3339 time");

  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty() || !IsSecuritySetting(k.path)) continue;  // secrets: environment (or their *_file flag)
    audit->add_option(k.flag, audit_opts->security_flags[k.path], absl::StrCat(k.help, " [", k.env, "]"));
  }
  audit->callback([audit_opts, audit, &run] {
    for (const ops::ConfigKey& k : ops::ConfigKeys()) {  // only the flags given override the environment
      if (!k.flag.empty() && IsSecuritySetting(k.path) && audit->count(k.flag) == 0) {
        audit_opts->security_flags.erase(k.path);
      }
    }
    run = [audit_opts] { return Audit(*audit_opts); };
  });
}

}  // namespace tact::cli
