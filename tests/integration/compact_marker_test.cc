// "m4;" decision markers through the real stack (redis-server + tact-devbroker + tactd): a redelivered event gets
// its earlier decision, rule and counters included, from a NEW tactd started on changed policy files, which finds
// the earlier policy in Redis's policy archive. Needs a CounterStore with PutArchived/GetArchived (RedisCounterStore
// since store v2's archive, h-archive).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/grpc_client.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::WaitFor;

constexpr char kV1[] = R"(version: "v1"
rules:
  - id: service-1-per-week
    description: one proactive service message a week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 1, window: 7d }
)";
constexpr char kV2[] = R"(version: "v2"
rules:
  - id: service-10-per-week
    description: ten a week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 10, window: 7d }
)";

std::string PolicyDir(const std::string& dir, const char* text) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/care.yaml") << text;
  return dir;
}

v1::Decision Check(testing::Tactd& tactd, const std::string& id) {
  auto channel = grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  testing::PrepareCall(ctx, "");
  v1::CheckResponse resp;
  const grpc::Status s =
      v1::Throttle::NewStub(channel)->Check(&ctx, testing::CheckRequestFor(id, "acme", "maria"), &resp);
  EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  return resp.decision();
}

TEST(CompactMarkerStackTest, RedeliveryOnANewTactdWithChangedPolicyGetsTheEarlierRuleAndCounters) {
  testing::TempDir dir;
  testing::RedisServer redis(dir.path());
  testing::DevBroker broker(dir.path(), 1);
  const std::string p1 = PolicyDir(dir.path() + "/p1", kV1);
  v1::Decision released;
  v1::Decision suppressed;
  {
    testing::Tactd first(dir.path(), broker.bootstrap(), redis.address(), {"--policies", p1});
    ASSERT_TRUE(WaitFor([&] { return first.process().Log().find("\"policy.archived\"") != std::string::npos; },
                        absl::Seconds(20), "the policy archived in Redis"))
        << first.process().Log();
    released = Check(first, "m4-a");
    suppressed = Check(first, "m4-b");
    ASSERT_EQ(released.decision(), v1::RELEASE);
    ASSERT_EQ(suppressed.decision(), v1::SUPPRESS);
    ASSERT_EQ(suppressed.rule_id(), "service-1-per-week");
  }  // stopped
  // Another instance on other files (another directory, another version) that would release both.
  const std::string p2 = PolicyDir(dir.path() + "/p2", kV2);
  testing::Tactd second(dir.path(), broker.bootstrap(), redis.address(), {"--policies", p2});
  const v1::Decision again = Check(second, "m4-b");
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.decision(), v1::SUPPRESS);
  EXPECT_EQ(again.rule_id(), "service-1-per-week");
  EXPECT_EQ(again.policy_version(), "v1");
  EXPECT_EQ(again.policy_digest(), suppressed.policy_digest());
  EXPECT_EQ(again.reason(), suppressed.reason());
  // Its counters (and so its evidence: a duplicate's record is not published again) come from the plan made again
  // under v1 and the outcome stored with it.
  ASSERT_EQ(again.counters_size(), 1);
  EXPECT_EQ(again.counters(0).rule_id(), "service-1-per-week");
  EXPECT_EQ(again.counters(0).used(), 1);
  EXPECT_EQ(again.counters(0).limit(), 1);
  EXPECT_EQ(again.counters(0).window(), "rolling 7d");
  const v1::Decision again_released = Check(second, "m4-a");
  EXPECT_TRUE(again_released.duplicate());
  EXPECT_EQ(again_released.decision(), v1::RELEASE);
  ASSERT_EQ(again_released.matched_rules_size(), 1);
  EXPECT_EQ(again_released.matched_rules(0), "service-1-per-week");
  EXPECT_EQ(Check(second, "m4-c").rule_id(), "");  // a new event: the new policy (10 a week) releases it
  if (HasFailure()) std::cerr << "---- tactd log ----\n" << second.process().Log() << "\n";
}

}  // namespace
}  // namespace tact
