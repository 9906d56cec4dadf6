#include "daemon/store/cluster_slots.h"

#include <gtest/gtest.h>
#include <hiredis/read.h>

#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/redis_wire.h"

namespace tact::store {
namespace {

// Answers of CLUSTER KEYSLOT on redis-server 7.0.15.
TEST(ClusterSlotsTest, KeySlotMatchesClusterKeyslot) {
  EXPECT_EQ(Crc16Xmodem("123456789"), 0x31C3);  // the CRC16/XMODEM check value
  EXPECT_EQ(KeySlot("123456789"), 12739);
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("{user1000}.following"), 3443);
  EXPECT_EQ(KeySlot("{user1000}.followers"), 3443);
  EXPECT_EQ(KeySlot(""), 0);
  EXPECT_EQ(KeySlot("{}"), 15257);           // an empty tag: the whole key is hashed
  EXPECT_EQ(KeySlot("foo{}{bar}"), 8363);    // the first '{' has an empty tag: whole key
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), 4015);  // tag "{bar"
  EXPECT_EQ(KeySlot("{bar"), 4015);
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), 5061);  // the first tag only
  EXPECT_EQ(KeySlot("tact:{0123456789abcdef0123456789abcdef}:seen:e1"), 1829);
}

TEST(ClusterSlotsTest, EveryKeyOfACustomerHasItsTagsSlot) {
  const KeySchema schema("secret");
  const std::string prefix = schema.CustomerPrefix("acme", "c-1");
  EXPECT_EQ(KeySlot(SeenKey(prefix, "e-9")), KeySlot(SignalsKey(prefix)));
  EXPECT_EQ(KeySlot(IndexKey(prefix)), KeySlot(prefix + "r:rule:scope"));
}

// tactctl customer forget on a cluster looks for a customer's keys in one slot per prefix: every prefix it erases
// (the keyed one and the legacy "tact:{<tenant>:<customer>}:") settles the slot of all keys starting with it,
// whatever the ids hold ('{', '}' and ':' included); a prefix that does not is reported as such.
TEST(ClusterSlotsTest, PrefixSlotIsTheSlotOfEveryKeyWithThePrefix) {
  const KeySchema schema("secret");
  const std::vector<std::pair<std::string, std::string>> ids = {
      {"acme", "c-1"}, {"acme", "a{b"}, {"acme", "{"}, {"acme", "x}y"}, {"a:b", "c"}, {"a{b", "c"}, {"a}b", "c"},
      {"}", "}"},      {"", ""},        {"acme", "}:z"}};
  int legacy = 0;
  for (const auto& [tenant, customer] : ids) {
    const std::vector<std::string> prefixes = CustomerPrefixes(schema, tenant, customer);
    legacy += prefixes.size() > 1 ? 1 : 0;
    for (const std::string& prefix : prefixes) {
      const std::optional<int> slot = PrefixSlot(prefix);
      ASSERT_TRUE(slot.has_value()) << prefix;
      for (const char* suffix : {"s", "seen:e{1}", "seen:{", "}", "sig", "c:r:2027-01-01"}) {
        EXPECT_EQ(KeySlot(prefix + suffix), *slot) << prefix << suffix;
      }
    }
  }
  EXPECT_EQ(legacy, 4);  // the legacy prefix too where the ids have one
  EXPECT_EQ(PrefixSlot("tact:{acme:ana}:"), KeySlot("acme:ana"));
  EXPECT_EQ(PrefixSlot("{x}"), KeySlot("x"));
  // Keys whose slot their suffix decides.
  for (const char* prefix : {"", "tact:", "tact:{", "tact:{acme", "tact:{}:", "}{", "tact:}x{"}) {
    EXPECT_EQ(PrefixSlot(prefix), std::nullopt) << prefix;
  }
  EXPECT_NE(KeySlot("tact:{}:a"), KeySlot("tact:{}:b"));
}

TEST(ClusterSlotsTest, FirstEvalKeyIsTheKeyAfterNumkeys) {
  EXPECT_EQ(FirstEvalKey(RedisCommand({"EVALSHA", "abc", "2", "k1", "k2", "argv"}).wire), "k1");
  EXPECT_EQ(FirstEvalKey(RedisCommand({"EVAL", "return 1", "0", "x"}).wire), std::nullopt);
  EXPECT_EQ(FirstEvalKey(RedisCommand({"GET", "k"}).wire), std::nullopt);
  EXPECT_EQ(FirstEvalKey("*4\r\n$4\r\nEVAL\r\n$1"), std::nullopt);  // truncated
  const CustomerCheck check{.tenant = "t", .customer_id = "c", .event_id = "e", .now = absl::FromUnixSeconds(1)};
  const KeySchema schema;
  const RedisCommand call = BuildCall("sha", {&check, 1}, absl::Hours(1), schema, false);
  ASSERT_TRUE(FirstEvalKey(call.wire).has_value());
  EXPECT_EQ(KeySlot(*FirstEvalKey(call.wire)), KeySlot(schema.CustomerPrefix("t", "c")));
}

RedisReplyPtr Reply(std::string_view wire) { return testing::ReplyFromWire(wire); }

TEST(ClusterSlotsTest, ParsesClusterSlotsIntoASlotMap) {
  // Two ranges; Redis 7 adds a fourth element (networking metadata) to a node entry; "?" = the queried host.
  const RedisReplyPtr r = Reply(
      "*2\r\n"
      "*4\r\n:0\r\n:8191\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nid\r\n*0\r\n*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n"
      "$2\r\nid\r\n"
      "*3\r\n:8192\r\n:16383\r\n*3\r\n$1\r\n?\r\n:7002\r\n$2\r\nid\r\n");
  absl::StatusOr<std::vector<SlotRange>> ranges = ParseClusterSlots(*r, {.host = "10.0.0.5", .port = 7001});
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].master, (NodeAddress{"127.0.0.1", 7001}));
  ASSERT_EQ((*ranges)[0].replicas.size(), 1u);
  EXPECT_EQ((*ranges)[0].replicas[0].port, 7004);
  EXPECT_EQ((*ranges)[1].master, (NodeAddress{"10.0.0.5", 7002}));
  absl::StatusOr<SlotMap> map = SlotMap::FromRanges(*ranges);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->Owner(0)->port, 7001);
  EXPECT_EQ(map->Owner(8191)->port, 7001);
  EXPECT_EQ(map->Owner(8192)->port, 7002);
  EXPECT_EQ(map->Owner(16383)->port, 7002);
  EXPECT_EQ(map->Owner(16384), nullptr);
  EXPECT_EQ(map->masters().size(), 2u);
  EXPECT_EQ(map->replicas().size(), 1u);
  EXPECT_EQ(map->unserved(), 0);
}

TEST(ClusterSlotsTest, AGapInTheSlotMapHasNoOwner) {
  absl::StatusOr<SlotMap> map = SlotMap::FromRanges({{.first = 0, .last = 99, .master = {"h", 1}}});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->Owner(100), nullptr);
  EXPECT_EQ(map->unserved(), kClusterSlots - 100);
  EXPECT_FALSE(SlotMap::FromRanges({{.first = 10, .last = 16384, .master = {"h", 1}}}).ok());
}

TEST(ClusterSlotsTest, MalformedClusterSlotsIsAnError) {
  EXPECT_FALSE(ParseClusterSlots(*Reply("$3\r\nfoo\r\n"), {}).ok());
  EXPECT_FALSE(ParseClusterSlots(*Reply("*1\r\n*2\r\n:0\r\n:1\r\n"), {}).ok());
  EXPECT_FALSE(ParseClusterSlots(*Reply("*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n"), {}).ok());
}

TEST(ClusterSlotsTest, RedisAddressTakesClusterSeeds) {
  RedisSettings s;
  ASSERT_TRUE(ParseRedisAddress("redis+cluster://10.0.0.1:7000,redis-1.svc:7001", &s).ok());
  ASSERT_EQ(s.cluster_seeds.size(), 2u);
  EXPECT_EQ(s.cluster_seeds[1], (NodeAddress{"redis-1.svc", 7001}));
  EXPECT_EQ(s.host, "10.0.0.1");
  EXPECT_EQ(s.port, 7000);
  ASSERT_TRUE(ParseRedisAddress("127.0.0.1:6379", &s).ok());
  EXPECT_TRUE(s.cluster_seeds.empty());
  const absl::Status bad = ParseRedisAddress("redis+cluster://10.0.0.1:7000,,", &s);
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_NE(bad.message().find("seed '' must be host:port"), std::string::npos) << bad;
  EXPECT_FALSE(ParseRedisAddress("redis+cluster://", &s).ok());
}

TEST(ClusterSlotsTest, ParsesRedirections) {
  Redirection moved = ParseRedirection("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(moved.kind, Redirection::Kind::kMoved);
  EXPECT_EQ(moved.slot, 3999);
  EXPECT_EQ(moved.target, (NodeAddress{"127.0.0.1", 6381}));
  Redirection ask = ParseRedirection("ASK 12182 ::1:7000");
  EXPECT_EQ(ask.kind, Redirection::Kind::kAsk);
  EXPECT_EQ(ask.target, (NodeAddress{"::1", 7000}));
  EXPECT_EQ(ParseRedirection("TRYAGAIN Multiple keys request during rehashing of slot").kind,
            Redirection::Kind::kTryAgain);
  EXPECT_EQ(ParseRedirection("CLUSTERDOWN The cluster is down").kind, Redirection::Kind::kClusterDown);
  EXPECT_EQ(ParseRedirection("MOVED 99999 h:1").kind, Redirection::Kind::kNone);
  EXPECT_EQ(ParseRedirection("MOVED 1 nohostport").kind, Redirection::Kind::kNone);
  EXPECT_EQ(ParseRedirection("ERR unknown command").kind, Redirection::Kind::kNone);
  EXPECT_EQ(ParseRedirection("CROSSSLOT Keys in request don't hash to the same slot").kind, Redirection::Kind::kNone);
}

}  // namespace
}  // namespace tact::store
