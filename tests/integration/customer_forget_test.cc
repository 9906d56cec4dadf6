// tactctl customer forget end to end: tactd decides promotions of two customers through Kafka (state in a real
// redis-server), the built tactctl erases one of them; that customer's keys are gone and its next promotion is
// released as a new customer's, the other customer is untouched, and the tombstone is on tact.erasures.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/core/customer_hash.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_connection.h"
#include "tests/support/events.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::TopicReader;
using testing::WaitFor;

constexpr char kHashKey[] = "test-key-not-secret";  // tactd's TACT_CUSTOMER_HASH_KEY in tests/support/stack.cc

class CustomerForgetTest : public ::testing::Test {
 protected:
  CustomerForgetTest()
      : redis_(dir_.path()),
        broker_(dir_.path(), 1),
        tactd_(dir_.path(), broker_.bootstrap(), redis_.address()),
        decisions_(broker_.bootstrap(), "tact.decisions"),
        erasures_(broker_.bootstrap(), "tact.erasures"),
        producer_(broker_.bootstrap()) {
    conn_.reset(redisConnect("127.0.0.1", redis_.port()));
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- tactd log ----\n" << tactd_.process().Log() << "\n";
  }

  // Sends a promotion through tact.outbound and returns its decision (from tact.decisions).
  std::string Decide(const std::string& event_id, const std::string& customer) {
    producer_.Send("tact.outbound",
                   testing::JsonEvent(testing::OutageEvent(event_id, customer, v1::PROMOTION)),
                   "acme:" + customer);
    return testing::AwaitDecision(decisions_, event_id);
  }

  // The customer's keys in Redis (tactd runs without TACT_REDIS_KEY_SECRET: the public key schema).
  size_t Keys(const std::string& customer) {
    const std::string pattern = store::KeySchema().CustomerPrefix("acme", customer) + "*";
    store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(conn_.get(), "KEYS %s", pattern.c_str())));
    return r == nullptr || r->type != REDIS_REPLY_ARRAY ? 0 : r->elements;
  }

  testing::CliRun Forget(const std::string& customer) {
    return testing::RunCli(dir_, {TACTCTL_BIN, "customer", "forget", "--tenant", "acme", "--customer", customer,
                                  "--redis", redis_.address(), "--brokers", broker_.bootstrap(), "--operator",
                                  "dpo@example.com", "--reason", "GDPR Art. 17 request", "--ticket", "DPO-1234",
                                  "--timeout", "20"},
                           {absl::StrCat("TACT_CUSTOMER_HASH_KEY=", kHashKey)});
  }

  testing::TempDir dir_;
  testing::RedisServer redis_;
  testing::DevBroker broker_;
  testing::Tactd tactd_;
  TopicReader decisions_;
  TopicReader erasures_;
  testing::TestProducer producer_;
  std::unique_ptr<redisContext, store::RedisContextDeleter> conn_;
};

TEST_F(CustomerForgetTest, ForgottenCustomerStartsAfreshAndTheTombstoneIsOnTheTopic) {
  // promotion-1-per-day (policies/default): the second promotion of a day is suppressed.
  EXPECT_EQ(Decide("a1", "cust-a"), "RELEASE");
  EXPECT_EQ(Decide("b1", "cust-b"), "RELEASE");
  EXPECT_EQ(Decide("a2", "cust-a"), "SUPPRESS");
  const size_t a_keys = Keys("cust-a");
  const size_t b_keys = Keys("cust-b");
  ASSERT_GT(a_keys, 0u);
  ASSERT_GT(b_keys, 0u);

  const testing::CliRun r = Forget("cust-a");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("cust-a"), std::string::npos) << r.output;  // only the hash
  EXPECT_EQ(Keys("cust-a"), 0u);
  EXPECT_EQ(Keys("cust-b"), b_keys);

  const std::string hash = CustomerHasher(kHashKey).Hash("acme", "cust-a");
  ASSERT_TRUE(WaitFor([&] { return erasures_.Count() >= 1; }, absl::Seconds(30), "the tombstone"));
  const testing::Record tomb = erasures_.Records().front();
  EXPECT_EQ(tomb.key, hash);
  const nlohmann::json t = nlohmann::json::parse(tomb.value);
  EXPECT_EQ(t["type"], "customer_erased");
  EXPECT_EQ(t["tenant"], "acme");
  EXPECT_EQ(t["customer_hash"], hash);
  EXPECT_EQ(t["keys_removed"], a_keys);
  EXPECT_EQ(t["operator"], "dpo@example.com");
  EXPECT_EQ(t["ticket"], "DPO-1234");
  EXPECT_EQ(tomb.value.find("cust-a"), std::string::npos);

  // cust-a is a new customer (released again the same day, and a1 is not a duplicate any more); cust-b is not.
  EXPECT_EQ(Decide("a3", "cust-a"), "RELEASE");
  EXPECT_EQ(Decide("b2", "cust-b"), "SUPPRESS");

  // Nothing stored for someone never seen: exit 1, and the request is recorded all the same.
  const testing::CliRun none = Forget("cust-never-seen");
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_TRUE(WaitFor([&] { return erasures_.Count() >= 2; }, absl::Seconds(30), "the second tombstone"));
}

}  // namespace
}  // namespace tact
