#include "daemon/store/redis_check_call.h"

#include <gtest/gtest.h>
#include <hiredis/read.h>

#include <string>
#include <vector>

#include "daemon/store/keys.h"

namespace tact::store {
namespace {

// A command's arguments, read back from its wire text by hiredis' reader (an array of bulk strings).
std::vector<std::string> Args(const RedisCommand& command) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  redisReaderFeed(reader.get(), command.wire.data(), command.wire.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  RedisReplyPtr r(static_cast<redisReply*>(raw));
  std::vector<std::string> out;
  for (size_t i = 0; r != nullptr && i < r->elements; ++i) out.emplace_back(r->element[i]->str, r->element[i]->len);
  return out;
}

RedisReplyPtr Reply(std::string_view wire) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  redisReaderFeed(reader.get(), wire.data(), wire.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

std::vector<CustomerCheck> TwoCustomers() {
  std::vector<CustomerCheck> checks;
  for (const char* c : {"c-1", "c-2"}) {
    CustomerCheck check{.tenant = "acme", .customer_id = c, .event_id = std::string("e-") + c,
                        .now = absl::FromUnixSeconds(1000), .marker = "m"};
    check.spec.limits.push_back({.counter = "r:cap", .count = 3, .window = absl::Hours(1)});
    checks.push_back(check);
  }
  return checks;
}

TEST(RedisCheckCallTest, ANodeBatchDeclaresNoKeyAndPutsTheKeysLast) {
  const KeySchema schema("secret");
  const std::vector<CustomerCheck> checks = TwoCustomers();
  std::vector<std::string> prefixes;
  for (const CustomerCheck& c : checks) prefixes.push_back(schema.CustomerPrefix(c.tenant, c.customer_id));
  const std::vector<std::string> call = Args(BuildCall("sha", checks, absl::Hours(72), schema, false));
  const std::vector<size_t> both = {0, 1};
  const std::vector<std::string> batch = Args(BuildNodeBatchCall("sha", checks, prefixes, both, absl::Hours(72)));
  // The same call as one node's (keys declared), the same again from known prefixes.
  EXPECT_EQ(Args(BuildCall("sha", checks, prefixes, absl::Hours(72))), call);
  ASSERT_EQ(call.size(), batch.size());
  ASSERT_EQ(call[2], "4");
  EXPECT_EQ(batch[0], "EVALSHA");
  EXPECT_EQ(batch[2], "0");
  const std::vector<std::string> keys = {SeenKey(prefixes[0], "e-c-1"), CustomerKey(prefixes[0]),
                                         SeenKey(prefixes[1], "e-c-2"), CustomerKey(prefixes[1])};
  EXPECT_EQ(std::vector<std::string>(call.begin() + 3, call.begin() + 7), keys);
  EXPECT_EQ(std::vector<std::string>(batch.end() - 4, batch.end()), keys);  // what check.lua reads as KEYS
  EXPECT_EQ(std::vector<std::string>(batch.begin() + 3, batch.end() - 4),
            std::vector<std::string>(call.begin() + 7, call.end()));  // ARGV as before
  // The checks named, in the order named.
  const std::vector<size_t> second = {1};
  const std::vector<std::string> one = Args(BuildNodeBatchCall("sha", checks, prefixes, second, absl::Hours(72)));
  EXPECT_EQ(std::vector<std::string>(one.end() - 2, one.end()), std::vector<std::string>(keys.begin() + 2, keys.end()));
}

TEST(RedisCheckCallTest, ANodeBatchReplySaysWhichChecksDidNotRun) {
  // check 1 decided (reserved, no signals, 1 used), check 2 {2}: not run, check 3 a duplicate.
  const RedisReplyPtr r = Reply(
      "*3\r\n*5\r\n:0\r\n:1\r\n:0\r\n:1\r\n:0\r\n*1\r\n:2\r\n*3\r\n:1\r\n$6\r\n1||1:0\r\n$1\r\nm\r\n");
  std::vector<bool> not_here;
  absl::StatusOr<std::vector<CheckResult>> results = ParseNodeBatchReply(*r, 3, not_here);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(not_here, (std::vector<bool>{false, true, false}));
  EXPECT_TRUE((*results)[0].outcome.reserved);
  EXPECT_EQ((*results)[0].outcome.usage.at(0).used, 1);
  EXPECT_FALSE((*results)[1].duplicate);
  EXPECT_TRUE((*results)[1].outcome.usage.empty());
  EXPECT_TRUE((*results)[2].duplicate);
  // A one-node call never answers {2}: there it is a malformed reply.
  EXPECT_FALSE(ParseCallReply(*r, 3).ok());
  EXPECT_FALSE(ParseNodeBatchReply(*r, 2, not_here).ok());  // not one reply per check
}

}  // namespace
}  // namespace tact::store
