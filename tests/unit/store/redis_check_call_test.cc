// check.lua's call as RedisCounterStore builds it and its reply as it reads it (redis_check_call.h), from Redis'
// wire text.
#include "daemon/store/redis_check_call.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/store/keys.h"
#include "tests/support/redis_wire.h"

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

RedisReplyPtr Reply(std::string_view wire) { return testing::ReplyFromWire(wire); }

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

// Each check's legacy-prefix argument (the 5th after its spec number): the legacy prefix with legacy_keys, "" without,
// and "-" (no older layout at all) with older_layouts false, whatever legacy_keys says; on a cluster's calls too.
TEST(RedisCheckCallTest, OlderLayoutsOffSendsNoOlderLayoutsForEveryCheck) {
  const KeySchema schema("secret");
  const std::vector<CustomerCheck> checks = TwoCustomers();
  std::vector<std::string> prefixes;
  for (const CustomerCheck& c : checks) prefixes.push_back(schema.CustomerPrefix(c.tenant, c.customer_id));
  const std::vector<size_t> both = {0, 1};
  // The per-check args are last but the keys (node batch: after them): spec, event id, write, marker, legacy, key
  // start, 1 suffix.
  auto legacy_args = [](const std::vector<std::string>& args, size_t keys_after) {
    const size_t end = args.size() - keys_after;
    return std::vector<std::string>{args[end - 10], args[end - 3]};
  };
  EXPECT_EQ(legacy_args(Args(BuildCall("sha", checks, absl::Hours(72), schema, true)), 0),
            (std::vector<std::string>{"tact:{acme:c-1}:", "tact:{acme:c-2}:"}));
  EXPECT_EQ(legacy_args(Args(BuildCall("sha", checks, absl::Hours(72), schema, false)), 0),
            (std::vector<std::string>{"", ""}));
  const std::vector<std::string> none = {"-", "-"};
  EXPECT_EQ(legacy_args(Args(BuildCall("sha", checks, absl::Hours(72), schema, true, false)), 0), none);
  EXPECT_EQ(legacy_args(Args(BuildCall("sha", checks, prefixes, absl::Hours(72), false)), 0), none);
  EXPECT_EQ(legacy_args(Args(BuildNodeBatchCall("sha", checks, prefixes, both, absl::Hours(72), false)), 4), none);
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

// A customer without signal fields: the script sends -2 for the spec's two signal checks and no pair for them.
TEST(RedisCheckCallTest, ANegativeSignalCountIsThatManyChecksNotHolding) {
  const RedisReplyPtr r = Reply("*1\r\n*5\r\n:0\r\n:1\r\n:-2\r\n:3\r\n:1700000000000\r\n");
  absl::StatusOr<std::vector<CheckResult>> got = ParseCallReply(*r, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  const StoreOutcome& o = got->front().outcome;
  EXPECT_TRUE(o.reserved);
  ASSERT_EQ(o.signals.size(), 2u);
  for (const SignalResult& s : o.signals) {
    EXPECT_FALSE(s.hit);
    EXPECT_EQ(s.until, absl::InfiniteFuture());
  }
  ASSERT_EQ(o.usage.size(), 1u);
  EXPECT_EQ(o.usage[0].used, 3);
  EXPECT_EQ(o.usage[0].frees_at, absl::FromUnixMillis(1700000000000));
}

TEST(RedisCheckCallTest, SignalPairsAreReadWhenSent) {
  const RedisReplyPtr r = Reply("*1\r\n*7\r\n:0\r\n:0\r\n:1\r\n:1\r\n:-1\r\n:0\r\n:0\r\n");
  absl::StatusOr<std::vector<CheckResult>> got = ParseCallReply(*r, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  const StoreOutcome& o = got->front().outcome;
  EXPECT_FALSE(o.reserved);
  ASSERT_EQ(o.signals.size(), 1u);
  EXPECT_TRUE(o.signals[0].hit);
  EXPECT_EQ(o.signals[0].until, absl::InfiniteFuture());
  ASSERT_EQ(o.usage.size(), 1u);
  EXPECT_EQ(o.usage[0].frees_at, absl::InfinitePast());
  // A pair short: malformed.
  EXPECT_FALSE(ParseCallReply(*Reply("*1\r\n*4\r\n:0\r\n:0\r\n:1\r\n:1\r\n"), 1).ok());
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The checks of one call that carry the same decision marker (a campaign's, mostly) send it once: every byte of
// an argument costs Redis' Lua.
TEST(RedisCheckCallTest, ADecisionMarkerTheChecksShareIsSentOnce) {
  std::vector<CustomerCheck> checks;
  for (const char* marker : {"marker-of-campaign-a", "marker-of-campaign-a", "marker-of-campaign-b"}) {
    checks.push_back({.tenant = "t", .customer_id = absl::StrCat("c", checks.size()),
                      .event_id = absl::StrCat("e", checks.size()), .now = absl::FromUnixSeconds(1),
                      .marker = marker});
  }
  const std::string wire = BuildCall("sha", checks, absl::Hours(1), KeySchema(), false).wire;
  EXPECT_EQ(Count(wire, "marker-of-campaign-a"), 1u);
  EXPECT_EQ(Count(wire, "marker-of-campaign-b"), 1u);
}

}  // namespace
}  // namespace tact::store
