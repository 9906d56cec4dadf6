// check.lua's wire format against a real redis-server: what a check sends back and what it stores, where the
// format is chosen for Redis' CPU (the header of check.lua, docs/benchmarks.md).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "tests/support/redis_wire.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

// A reply as text, nested arrays in brackets.
std::string Render(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) return absl::StrCat(r.integer);
  if (r.type != REDIS_REPLY_ARRAY) return absl::StrCat("'", absl::string_view(r.str, r.len), "'");
  std::string out = "[";
  for (size_t i = 0; i < r.elements; ++i) absl::StrAppend(&out, i == 0 ? "" : " ", Render(*r.element[i]));
  return out + "]";
}

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

  std::string Text(const std::vector<std::string>& args) { return testing::RedisText(conn_.get(), args); }

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

// A customer with no state takes check.lua's shortcut (its outcome worked out by tactd per spec: FreshCode, FreshHead
// in redis_check_call.cc; its key written as one string). What it stores, the expiry and the reply are exactly what
// the full path gives a customer whose key exists but holds nothing ("2 0\n"): released with a rolling and a
// calendar limit, suppressed and deferred by a quiet hold, a dry run, and two limits of one counter (no shortcut);
// with the older layouts looked at (an EXISTS finds nothing) and not.
TEST_F(RedisCheckWireTest, ANewCustomersShortcutStoresWhatTheFullPathWould) {
  const std::string sha = Send(RedisCommand({"SCRIPT", "LOAD", kCheckLua}).wire)->str;
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::vector<std::string> fields = {"csat:1"};
  CheckSpec spec;
  spec.signals.push_back({.fields = {fields.data(), 1}});
  spec.limits.push_back({.counter = "r:day", .count = 2, .kind = WindowKind::kRolling, .window = absl::Hours(24)});
  spec.limits.push_back({.counter = "c:week:w1", .count = 3, .kind = WindowKind::kCalendar,
                         .period_end = now + absl::Hours(100)});
  CheckSpec shared = spec;  // two limits counting in one counter
  shared.limits[1].counter = shared.limits[0].counter;
  struct Case {
    const char* name;
    Hold hold;
    bool dry_run;
    bool shared_counter;
  };
  for (const bool older_layouts : {true, false}) {
    for (const Case& c :
         {Case{"released", Hold::kNone, false, false}, Case{"suppressed", Hold::kSuppress, false, false},
          Case{"deferred", Hold::kDefer, false, false}, Case{"dry run", Hold::kNone, true, false},
          Case{"one counter", Hold::kNone, false, true}}) {
      SCOPED_TRACE(absl::StrCat(c.name, older_layouts ? ", older layouts" : ""));
      CheckSpec& check_spec = c.shared_counter ? shared : spec;
      check_spec.hold = c.hold;
      std::vector<CustomerCheck> checks;
      for (const char* who : {"fresh", "empty"}) {
        checks.push_back({.tenant = "acme", .customer_id = absl::StrCat(c.name, who, older_layouts), .event_id = "e1",
                          .now = now, .spec = check_spec, .dry_run = c.dry_run, .marker = "m4;the-marker"});
      }
      const KeySchema schema;
      const std::string fresh = CustomerKey(schema.CustomerPrefix("acme", checks[0].customer_id));
      const std::string empty = CustomerKey(schema.CustomerPrefix("acme", checks[1].customer_id));
      Send(RedisCommand({"SET", empty, "2 0\n"}).wire);
      const RedisReplyPtr r = Send(BuildCall(sha, checks, absl::Hours(72), schema, false, older_layouts).wire);
      ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
      ASSERT_EQ(r->elements, 2u);
      EXPECT_EQ(Render(*r->element[0]), Render(*r->element[1]));
      const std::string a = Text({"GET", fresh});
      if (c.hold == Hold::kDefer || c.dry_run) {  // nothing written: the empty key stays as it was
        EXPECT_EQ(a, "nil");
        EXPECT_EQ(Text({"GET", empty}), "2 0\n");
        continue;
      }
      EXPECT_EQ(a, Text({"GET", empty}));
      EXPECT_TRUE(absl::StrContains(a, "m4;the-marker")) << a;
      const int64_t ttl = std::stoll(Text({"PTTL", fresh}));
      EXPECT_GT(ttl, 0);
      EXPECT_NEAR(static_cast<double>(ttl), std::stod(Text({"PTTL", empty})), 1000.0);
    }
  }
}

}  // namespace
}  // namespace tact::store
