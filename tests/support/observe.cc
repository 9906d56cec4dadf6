#include "tests/support/observe.h"

#include <librdkafka/rdkafkacpp.h>

#include <memory>

namespace tact::testing {

std::vector<int64_t> CommittedOffsets(const std::string& brokers, const std::string& group, const std::string& topic,
                                      int partitions) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", group, err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) {
    return {};
  }
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p) {
    parts.push_back(RdKafka::TopicPartition::create(topic, p));
  }
  std::vector<int64_t> out;
  if (consumer->committed(parts, 10000) == RdKafka::ERR_NO_ERROR) {
    for (const RdKafka::TopicPartition* p : parts) {
      out.push_back(p->err() == RdKafka::ERR_NO_ERROR && p->offset() >= 0 ? p->offset() : -1);
    }
  }
  RdKafka::TopicPartition::destroy(parts);
  consumer->close();
  return out;
}

}  // namespace tact::testing
