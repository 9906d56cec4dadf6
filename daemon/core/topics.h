#pragma once

// tactd's Kafka topics and their default names (settings kafka.topics.*; docs/operations.md). The outbound
// pipeline reads outbound and writes the next five; the signals consumer reads signals.
#include <string>

namespace tact {

struct KafkaTopics {
  std::string outbound = "tact.outbound";
  std::string released = "tact.released";
  std::string deferred = "tact.deferred";
  std::string suppressed = "tact.suppressed";
  std::string decisions = "tact.decisions";
  std::string dlq = "tact.dlq";
  std::string signals = "tact.signals";
};

}  // namespace tact
