#pragma once

// The reliability fault matrix's scenario harness (used by tests/integration/reliability_*_test.cc): a fresh stack per
// scenario (redis-server, tact-devbroker, tactd instances), a steady mixed load, the invariant checker
// (tests/support/invariants.h) and one result row per scenario for docs/RELIABILITY.md.
//
// Size: TACT_RELIABILITY=full selects the full sweep (≥ 20 kill -9 rounds, larger loads); anything else the short
// version that runs with the normal test suite. TACT_RELIABILITY_REPORT=path appends one JSON line per scenario
// (tests/reliability/sweep.sh turns them into the table).

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/policy/policy.h"
#include "tests/support/invariants.h"
#include "tests/support/stack.h"

namespace tact::reliability {

bool Full();
// short_n in the normal suite, full_n in the full sweep.
int Scale(int short_n, int full_n);

// Produces without waiting per message (the TestProducer waits for each); Flush() waits for all.
class BulkProducer {
 public:
  explicit BulkProducer(const std::string& brokers);
  ~BulkProducer();
  void Send(const std::string& topic, const std::string& value, const std::string& key,
            const std::string& content_type);
  // Waits for every acknowledgement; false after `timeout`.
  bool Flush(absl::Duration timeout);

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

struct StackOptions {
  int partitions = 3;
  int brokers = 1;
  bool redis_aof = false;
  int customers = 20;
};

class Scenario {
 public:
  Scenario(std::string name, std::string injected, StackOptions options = {});
  ~Scenario();

  testing::Tactd& StartTactd(std::vector<std::string> extra_flags = {});
  // Stops instance `i` with `sig` and waits for it; returns its exit code.
  int StopTactd(size_t i, int sig);
  testing::Tactd& tactd(size_t i = 0) { return *tactds_.at(i); }
  size_t tactd_count() const { return tactds_.size(); }

  // The mixed load: customer i % customers, every third a PROMOTION (1/day, 3/week) and the rest
  // PROACTIVE_SERVICE email (2 per 7 days), every fourth as binary protobuf; customers 0, 5, 10, … have an open
  // complaint (at risk: their promotions must be suppressed). Returns the inputs sent.
  void SendMix(int n);
  // The producers' clock, which SendMix stamps createdAt with: real time + `offset` (a clock-jump scenario moves it
  // with tactd's, since a createdAt more than 24h ahead of tactd's clock is refused on both paths).
  void set_producer_clock_offset(absl::Duration offset) { producer_clock_offset_ = offset; }
  void SendPoison(const std::string& bytes);
  bool Flush() { return producer_->Flush(absl::Seconds(60)); }
  // Every input sent; only while no other thread sends.
  const std::vector<testing::SentInput>& sent() const { return sent_; }
  // How many were sent / have a final decision: from any thread, while one thread sends.
  size_t Sent() const {
    absl::MutexLock lock(&sent_mu_);
    return sent_.size();
  }
  size_t Decided() const {
    absl::MutexLock lock(&sent_mu_);
    return sent_.size() - observer_->Undecided(sent_);
  }

  // Waits until every input has a final decision (or `timeout`), then checks the invariants and records the row.
  testing::CheckReport Settle(absl::Duration timeout, testing::CheckOptions options = {});
  // Adds to the row's note (shown in the docs table).
  void Note(const std::string& text);
  // Marks the row a documented known failure (the test still reports what it saw).
  void KnownFailure(const std::string& why);

  const testing::Observer& observer() const { return *observer_; }
  testing::RedisServer& redis() { return *redis_; }
  // Replaces the Redis server (same port), e.g. after killing it.
  void RestartRedis();
  testing::DevBroker& broker() { return *broker_; }
  const std::string& dir() const { return dir_.path(); }
  void PutAtRiskSignals();  // (again) writes the complaint signals of the at-risk customers

 private:
  void Record();

  std::string name_;
  std::string injected_;
  StackOptions options_;
  absl::Time started_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<testing::DevBroker> broker_;
  std::unique_ptr<testing::Observer> observer_;
  std::unique_ptr<BulkProducer> producer_;
  std::vector<std::unique_ptr<testing::Tactd>> tactds_;
  mutable absl::Mutex sent_mu_;  // sent_'s appends against Sent() and Decided() on another thread
  std::vector<testing::SentInput> sent_;
  std::vector<testing::AtRisk> at_risk_;
  policy::Policy policy_;
  std::string notes_;
  std::string known_failure_;
  std::optional<testing::CheckReport> report_;  // of the last Settle()
  bool settled_ = false;
  int next_ = 0;
  absl::Duration producer_clock_offset_;
};

}  // namespace tact::reliability
