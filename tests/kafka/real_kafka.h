#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tact::testing {

// The Apache Kafka broker that the tests in tests/kafka/ share: one per test run, started by tests/kafka/broker.sh.
// Under ctest a fixture test starts it before and stops it after these tests (also when they fail) and passes its
// bootstrap file in TACT_KAFKA_BOOTSTRAP_FILE. Run by hand without that variable, this environment starts its own
// broker in a temp dir and stops it in TearDown().
class RealKafkaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  static const std::string& Bootstrap();

 private:
  std::unique_ptr<TempDir> own_dir_;
};

// Creates topics through the Admin API (an existing topic is fine), each with `configs` (e.g. max.message.bytes).
// Throws on failure.
void CreateTopics(const std::string& brokers, const std::vector<std::string>& names, int partitions,
                  const std::map<std::string, std::string>& configs = {});

// One test's own topics and consumer group on the shared broker, so tests stay independent.
struct Lane {
  explicit Lane(const std::string& name);  // name: e.g. the test's name; made unique with the pid
  std::string outbound, released, deferred, suppressed, decisions, dlq, group;
  std::vector<std::string> Topics() const { return {outbound, released, deferred, suppressed, decisions, dlq}; }
  // tactd flags that point it at this lane.
  std::vector<std::string> TactdFlags() const;
};

}  // namespace tact::testing
