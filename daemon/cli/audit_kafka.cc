// tactctl audit's reader of the audit topic: librdkafka, every partition assigned from its beginning.
#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/cli/audit.h"

namespace tact::cli {
namespace {

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> ConsumerConf(const AuditArgs& args,
                                                            const ops::KafkaSecurity& security,
                                                            absl::Time now) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : security.LibrdkafkaConf()) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", ops::RedactSecrets(err, security.Secrets())));
    }
  }
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", args.brokers},
           {"group.id", absl::StrCat("tactctl-audit-", absl::ToUnixNanos(now))},
           {"enable.auto.commit", "false"},
           {"auto.offset.reset", "earliest"},
           {"enable.partition.eof", "true"},
           {"log_level", "3"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
    }
  }
  return conf;
}

// Assigns every partition of the topic from its beginning, so "end of topic" is well defined; their number.
absl::StatusOr<size_t> AssignAll(RdKafka::KafkaConsumer& consumer, const AuditArgs& args) {
  std::string err;
  RdKafka::Metadata* raw_md = nullptr;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(&consumer, args.topic, nullptr, err));
  if (consumer.metadata(false, topic.get(), &raw_md, 10000) != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", args.brokers));
  }
  std::unique_ptr<RdKafka::Metadata> md(raw_md);
  std::vector<RdKafka::TopicPartition*> parts;
  for (const RdKafka::TopicMetadata* t : *md->topics()) {
    for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
      parts.push_back(RdKafka::TopicPartition::create(args.topic, p->id(), RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  if (parts.empty()) {
    return absl::NotFoundError(absl::StrCat("topic ", args.topic, " not found"));
  }
  consumer.assign(parts);
  const size_t n = parts.size();
  RdKafka::TopicPartition::destroy(parts);
  return n;
}

absl::Status ReadTopic(const Clock& clock, const AuditArgs& args, const ops::KafkaSecurity& security,
                       const std::function<void(std::string_view)>& visit, const std::function<bool()>& enough) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = ConsumerConf(args, security, clock.Now());
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return absl::InvalidArgumentError(err);
  const absl::StatusOr<size_t> n_parts = AssignAll(*consumer, args);
  if (!n_parts.ok()) return n_parts.status();
  std::set<int> at_end;
  const auto deadline = clock.Monotonic() + std::chrono::seconds(args.timeout_s);
  while (clock.Monotonic() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      at_end.insert(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      at_end.erase(m->partition());
      visit(std::string_view(static_cast<const char*>(m->payload()), m->len()));
    }
    if (at_end.size() == *n_parts && enough()) break;
  }
  consumer->close();
  return absl::OkStatus();
}

}  // namespace

AuditReader KafkaAuditReader(const Clock& clock) {
  return [&clock](const AuditArgs& args, const ops::KafkaSecurity& security,
                  const std::function<void(std::string_view)>& visit, const std::function<bool()>& enough) {
    return ReadTopic(clock, args, security, visit, enough);
  };
}

}  // namespace tact::cli
