#include "tests/support/observe.h"

#include <httplib.h>
#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tact::testing {

std::string AdminMetrics(int admin_port) {
  httplib::Client client("127.0.0.1", admin_port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Result r = client.Get("/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

std::optional<double> MetricSample(const std::string& page, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) {
      continue;
    }
    const std::string rest = line.substr(name.size());
    if (!rest.starts_with("{") && !rest.starts_with(" ")) {
      continue;  // a longer name with this prefix
    }
    bool all = true;
    for (const auto& [k, v] : labels) {
      all &= rest.find(absl::StrCat(k, "=\"", v, "\"")) != std::string::npos;
    }
    if (all) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return std::nullopt;
}

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
