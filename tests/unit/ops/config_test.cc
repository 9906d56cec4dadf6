// processing.* settings of tactd: the delivery guarantee and the transaction batch (daemon/ops/config.cc).
#include "daemon/ops/config.h"

#include <gtest/gtest.h>

namespace tact::ops {
namespace {

TEST(ProcessingConfigTest, DefaultsToAtLeastOnce) {
  const Config c;
  EXPECT_EQ(c.processing_guarantee, "at_least_once");
  EXPECT_EQ(c.transactional_id, "");
  EXPECT_EQ(c.transaction_max_events, 500);
  EXPECT_EQ(c.transaction_max_age_ms, 100);
}

TEST(ProcessingConfigTest, FileSetsExactlyOnceAndItsBatch) {
  Config c;
  ASSERT_TRUE(ApplyConfigFile("tactd.yaml",
                              "processing:\n"
                              "  guarantee: exactly_once\n"
                              "  transactional_id: tactd-0\n"
                              "  transaction_max_events: 50\n"
                              "  transaction_max_age_ms: 20\n",
                              c)
                  .ok());
  EXPECT_EQ(c.processing_guarantee, "exactly_once");
  EXPECT_EQ(c.transactional_id, "tactd-0");
  EXPECT_EQ(c.transaction_max_events, 50);
  EXPECT_EQ(c.transaction_max_age_ms, 20);
}

TEST(ProcessingConfigTest, UnknownGuaranteeNamesFileLineAndChoices) {
  Config c;
  const absl::Status s = ApplyConfigFile("tactd.yaml", "processing:\n  guarantee: exactly-once\n", c);
  EXPECT_EQ(s.message(),
            "tactd.yaml:2:3: processing.guarantee: unknown guarantee 'exactly-once' (expected at_least_once or "
            "exactly_once)");
}

TEST(ProcessingConfigTest, EnvironmentAndRangeChecks) {
  Config c;
  EXPECT_TRUE(ApplyEnvironment({{"TACT_PROCESSING_GUARANTEE", "exactly_once"}}, c).ok());
  EXPECT_EQ(c.processing_guarantee, "exactly_once");
  EXPECT_EQ(ApplyEnvironment({{"TACT_PROCESSING_TRANSACTION_MAX_EVENTS", "0"}}, c).message(),
            "TACT_PROCESSING_TRANSACTION_MAX_EVENTS: 0 is out of range [1, 100000]");
}

}  // namespace
}  // namespace tact::ops
