#include "daemon/ops/metrics.h"

#include <gtest/gtest.h>

#include "daemon/api/grpc_stats.h"
#include "daemon/ops/readiness.h"
#include "tact/v1/throttle.pb.h"

namespace tact::ops {
namespace {

#define TEST_STATS(COUNTER, GAUGE, HISTOGRAM)                      \
  COUNTER(widgets_total, "Widgets made", (color, size))            \
  COUNTER(resets_total, "Resets", ())                              \
  GAUGE(queue_depth, "Queued widgets", ())                         \
  HISTOGRAM(widget_duration_seconds, "Time to make one", (color))
TACT_STATS_STRUCT(TestStats, TEST_STATS);

TEST(ParseLabelNamesTest, Forms) {
  EXPECT_EQ(ParseLabelNames("(decision, rule)"), (std::vector<std::string>{"decision", "rule"}));
  EXPECT_EQ(ParseLabelNames("(op)"), (std::vector<std::string>{"op"}));
  EXPECT_TRUE(ParseLabelNames("()").empty());
}

TEST(StatsStructTest, RegistersPrefixedFamiliesAndSerializes) {
  prometheus::Registry registry;
  TestStats stats(registry);
  stats.widgets_total.Inc({"red", "L"});
  stats.widgets_total.Inc({"red", "L"}, 2);
  stats.queue_depth.Set({}, 4);
  stats.widget_duration_seconds.Observe({"red"}, 0.003);
  const std::string text = SerializeMetrics(registry);
  EXPECT_NE(text.find("# TYPE tact_widgets_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("tact_widgets_total{color=\"red\",size=\"L\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("tact_resets_total 0"), std::string::npos) << text;  // unlabeled: exported from the start
  EXPECT_NE(text.find("tact_queue_depth 4"), std::string::npos) << text;
  EXPECT_NE(text.find("tact_widget_duration_seconds_bucket{color=\"red\",le=\"0.005\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tact_widget_duration_seconds_count{color=\"red\"} 1"), std::string::npos) << text;
}

// A batch's observations at once read exactly as one by one: on a bucket's bound, between bounds, above the last.
TEST(StatsStructTest, ObserveTimesIsThatManyObservations) {
  for (const double v : {0.001, 0.003, 42.0}) {
    prometheus::Registry one_by_one_registry, at_once_registry;
    TestStats one_by_one(one_by_one_registry), at_once(at_once_registry);
    for (int i = 0; i < 3; ++i) one_by_one.widget_duration_seconds.Observe({"red"}, v);
    one_by_one.widget_duration_seconds.Observe({"blue"}, 0.5);
    at_once.widget_duration_seconds.ObserveTimes({"red"}, v, 3);
    at_once.widget_duration_seconds.ObserveTimes({"blue"}, 0.5, 1);
    at_once.widget_duration_seconds.ObserveTimes({"green"}, 0.5, 0);  // nothing: no series either
    EXPECT_EQ(SerializeMetrics(at_once_registry), SerializeMetrics(one_by_one_registry)) << v;
  }
}

TEST(LabelCountsTest, CountsEachLabelSetInFirstSeenOrder) {
  LabelCounts counts;
  counts.Add("kafka", "RELEASE", "none");
  counts.Add("grpc", "SUPPRESS", "promo-1");
  counts.Add("kafka", "RELEASE", "none");
  counts.Add("kafka", "RELEASE", "promo-1");
  counts.Add("kafka");
  ASSERT_EQ(counts.entries().size(), 4u);
  EXPECT_EQ(counts.entries()[0].a, "kafka");
  EXPECT_EQ(counts.entries()[0].n, 2);
  EXPECT_EQ(counts.entries()[1].c, "promo-1");
  EXPECT_EQ(counts.entries()[1].n, 1);
  EXPECT_EQ(counts.entries()[2].c, "promo-1");
  EXPECT_EQ(counts.entries()[3].b, "");
  EXPECT_EQ(counts.entries()[3].n, 1);
}

TEST(StatsStructTest, RemoveDropsASeries) {
  prometheus::Registry registry;
  TestStats stats(registry);
  stats.widgets_total.Inc({"blue", "S"});
  stats.widgets_total.Remove({"blue", "S"});
  stats.widgets_total.Remove({"never", "seen"});
  EXPECT_EQ(SerializeMetrics(registry).find("color=\"blue\""), std::string::npos);
}

TEST(StatsStructTest, EachLabelValueTupleIsItsOwnSeriesAcrossRepeatedCalls) {
  prometheus::Registry registry;
  TestStats stats(registry);
  // Joined without their boundaries, these three would be one series.
  stats.widgets_total.Inc({"ab", ""});
  stats.widgets_total.Inc({"a", "b"}, 2);
  stats.widgets_total.Inc({"", "ab"}, 4);
  for (int i = 0; i < 3; ++i) stats.widgets_total.Inc({"a", "b"});
  const std::string text = SerializeMetrics(registry);
  EXPECT_NE(text.find("tact_widgets_total{color=\"ab\",size=\"\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("tact_widgets_total{color=\"a\",size=\"b\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("tact_widgets_total{color=\"\",size=\"ab\"} 4"), std::string::npos) << text;
  EXPECT_EQ(&stats.widgets_total.With({"a", "b"}), &stats.widgets_total.With({"a", "b"}));
}

TEST(StatsStructTest, ASeriesUsedAgainAfterRemoveStartsOver) {
  prometheus::Registry registry;
  TestStats stats(registry);
  stats.widgets_total.Inc({"blue", "S"}, 5);
  stats.widgets_total.Remove({"blue", "S"});
  stats.widgets_total.Inc({"blue", "S"});  // a new series, exported again
  const std::string text = SerializeMetrics(registry);
  EXPECT_NE(text.find("tact_widgets_total{color=\"blue\",size=\"S\"} 1"), std::string::npos) << text;
}

TEST(StatusCodeLabelTest, LowerCase) {
  EXPECT_EQ(StatusCodeLabel(absl::StatusCode::kUnavailable), "unavailable");
  EXPECT_EQ(StatusCodeLabel(absl::StatusCode::kDeadlineExceeded), "deadline_exceeded");
}

TEST(ReadinessTest, Components) {
  Readiness r = Evaluate({.policy_loaded = true, .redis_reachable = true, .kafka_joined = true});
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.detail, R"({"policy":true,"redis":true,"kafka":"idle"})");
  r = Evaluate({.policy_loaded = true, .redis_reachable = false, .kafka_joined = true, .kafka_assigned = true});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.detail, R"({"policy":true,"redis":false,"kafka":"assigned"})");
  r = Evaluate({.policy_loaded = true, .redis_reachable = true});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.detail, R"({"policy":true,"redis":true,"kafka":"joining"})");
  EXPECT_FALSE(Evaluate({.redis_reachable = true, .kafka_joined = true}).ready);
}

TEST(ReadinessTest, RedisClusterNodesAreListed) {
  const Readiness r = Evaluate({.policy_loaded = true,
                                .redis_reachable = false,
                                .kafka_joined = true,
                                .redis_nodes = {{"127.0.0.1:7001", true}, {"127.0.0.1:7002", false}}});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.detail,
            R"({"policy":true,"redis":false,"redis_nodes":{"127.0.0.1:7001":true,"127.0.0.1:7002":false},)"
            R"("kafka":"idle"})");
}

TEST(GrpcMethodLabelTest, OnlyKnownMethods) {
  ASSERT_NE(v1::CheckRequest::descriptor(), nullptr);  // links tact.v1's descriptors into this binary
  EXPECT_EQ(api::MethodLabel("/tact.v1.Throttle/Check"), "/tact.v1.Throttle/Check");
  EXPECT_EQ(api::MethodLabel("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
  EXPECT_EQ(api::MethodLabel("/tact.v1.Throttle/Nope"), "unknown");
  EXPECT_EQ(api::MethodLabel("/evil.Service/cust-123"), "unknown");
  EXPECT_EQ(api::MethodLabel("garbage"), "unknown");
  EXPECT_EQ(api::MethodLabel(nullptr), "unknown");
  EXPECT_EQ(api::GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
}

}  // namespace
}  // namespace tact::ops
