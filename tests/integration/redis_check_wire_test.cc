// check.lua's wire format against a real redis-server: what a check sends back and what it stores, where the
// format is chosen for Redis' CPU (the header of check.lua, docs/benchmarks.md).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "absl/strings/match.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;

class RedisCheckWireTest : public ::testing::Test {
 protected:
  RedisCheckWireTest() : redis_(dir_.path()) { conn_.reset(redisConnect("127.0.0.1", redis_.port())); }

  RedisReplyPtr Send(const std::string& wire) {
    redisAppendFormattedCommand(conn_.get(), wire.data(), wire.size());
    void* raw = nullptr;
    EXPECT_EQ(redisGetReply(conn_.get(), &raw), REDIS_OK);
    return RedisReplyPtr(static_cast<redisReply*>(raw));
  }

  TempDir dir_;
  RedisServer redis_;
  RedisContextPtr conn_;
};

// A customer without signal fields gets one number (-n) for the plan's n signal checks instead of a pair each, and
// its key holds its latest decision marker last.
TEST_F(RedisCheckWireTest, NoSignalPairsWithoutSignalFieldsAndTheMarkerLast) {
  const std::string sha = Send(RedisCommand({"SCRIPT", "LOAD", kCheckLua}).wire)->str;
  const std::vector<std::string> fields = {"csat:1", "complaint:*"};
  policy::Plan plan;
  plan.matched_rules = {"csat", "complaint", "cap"};
  plan.signals.push_back({.rule_id = "csat", .fields = {fields.data(), 1}});
  plan.signals.push_back({.rule_id = "complaint", .fields = {fields.data() + 1, 1}});
  plan.limits.push_back({.rule_id = "cap", .counter = "r:cap", .count = 3, .window = absl::Hours(1)});
  const CustomerCheck check{.tenant = "acme", .customer_id = "c1", .event_id = "e1",
                            .now = absl::FromUnixSeconds(1'800'000'000), .spec = decision::ToCheckSpec(plan),
                            .marker = "the-marker"};
  const RedisReplyPtr r = Send(BuildCall(sha, {&check, 1}, absl::Hours(72), KeySchema(), false).wire);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 1u);
  const redisReply& one = *r->element[0];
  ASSERT_EQ(one.elements, 5u);  // not a duplicate, reserved, -2 signal checks, the cap's used and frees_at
  EXPECT_EQ(one.element[1]->integer, 1);
  EXPECT_EQ(one.element[2]->integer, -2);
  EXPECT_EQ(one.element[3]->integer, 0);
  const std::string key = CustomerKey(KeySchema().CustomerPrefix("acme", "c1"));
  const RedisReplyPtr blob = Send(RedisCommand({"GET", key}).wire);
  ASSERT_EQ(blob->type, REDIS_REPLY_STRING);
  EXPECT_TRUE(absl::EndsWith(absl::string_view(blob->str, blob->len), "e11|0:-1,0:-1|0:0|the-marker"))
      << std::string_view(blob->str, blob->len);
}

}  // namespace
}  // namespace tact::store
