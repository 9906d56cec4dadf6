#include "daemon/pipeline/output_limits.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "daemon/pipeline/input_worker.h"

namespace tact::pipeline {
namespace {

std::string Header(const OutputRecord& r, std::string_view key) {
  const std::string* v = FindHeader(r.headers, key);
  return v != nullptr ? *v : "<none>";
}

size_t Varint(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The record batch the broker measures: 61-byte v2 header + one record with zig-zag varints.
int64_t ExactBatchSize(const OutputRecord& r) {
  auto zz = [](int64_t v) { return Varint(static_cast<uint64_t>((v << 1) ^ (v >> 63))); };
  int64_t body = 1 + zz(0) + zz(0) + zz(static_cast<int64_t>(r.key.size())) + static_cast<int64_t>(r.key.size()) +
                 zz(static_cast<int64_t>(r.value.size())) + static_cast<int64_t>(r.value.size()) +
                 zz(static_cast<int64_t>(r.headers.size()));
  for (const auto& [k, v] : r.headers) {
    body += zz(static_cast<int64_t>(k.size())) + static_cast<int64_t>(k.size()) +
            zz(static_cast<int64_t>(v.size())) + static_cast<int64_t>(v.size());
  }
  return 61 + zz(body) + body;
}

TEST(RecordWireSizeTest, NeverBelowTheBatchTheBrokerMeasuresNorLibrdkafkasCheck) {
  for (size_t value : {0u, 1u, 127u, 128u, 16383u, 16384u, 999880u, 1u << 20}) {
    for (size_t key : {0u, 7u, 300u}) {
      OutputRecord r{.topic = "t", .key = std::string(key, 'k'), .value = std::string(value, 'v'),
                     .headers = {{"tact-decision", "RELEASE"}, {"content-type", std::string(200, 'c')}}};
      const int64_t estimate = RecordWireSize(r);
      EXPECT_GE(estimate, ExactBatchSize(r)) << value << " " << key;
      EXPECT_LE(estimate, ExactBatchSize(r) + 64) << "not wildly over: " << value << " " << key;
      // librdkafka 2.0.2 refuses when 36 + key + value + serialized headers > message.max.bytes.
      int64_t librdkafka = 36 + static_cast<int64_t>(key + value);
      for (const auto& [k, v] : r.headers) librdkafka += static_cast<int64_t>(k.size() + v.size() + Varint(k.size()) + Varint(v.size()));
      EXPECT_GE(estimate, librdkafka);
    }
  }
}

TEST(TopicLimitsTest, KnownTopicsAndTheFallback) {
  TopicLimits limits;
  EXPECT_EQ(limits.Limit("tact.released"), kFallbackMaxMessageBytes);
  limits.Set("tact.released", 2000000);
  limits.Set("tact.dlq", 500000);
  EXPECT_EQ(limits.Limit("tact.released"), 2000000);
  EXPECT_EQ(limits.Largest(), 2000000);
  EXPECT_EQ(limits.Smallest(), 500000);
  const KafkaSettings s = ProducerSizeSettings(limits);
  EXPECT_EQ(s, (KafkaSettings{{"message.max.bytes", "2004096"}, {"batch.size", "500000"}}));
  EXPECT_EQ(ProducerSizeSettings(TopicLimits()),
            (KafkaSettings{{"message.max.bytes", "1004096"}, {"batch.size", "1000000"}}));
}

// A broker that does not know a topic yet (created a moment before tactd started) is asked again, for that topic
// only; a refusal is not asked again; a deadline ends it with the last error.
TEST(AskUntilKnownTest, AsksAgainForTheTopicsABrokerDidNotKnowYetAndStopsAtARefusalOrTheDeadline) {
  const std::vector<std::string> topics{"tact.released", "tact.dlq"};
  std::vector<std::vector<std::string>> asked;
  TopicLimits limits;
  const std::string error = AskUntilKnown(
      topics, absl::Now() + absl::Hours(1),
      [&](const std::vector<std::string>& these, absl::Duration, TopicLimits& into) {
        asked.push_back(these);
        into.Set("tact.dlq", 1000000);
        if (asked.size() < 3) return DescribeOutcome{.error = "tact.released: unknown topic", .retriable = true};
        into.Set("tact.released", 20000);
        return DescribeOutcome{};
      },
      limits, absl::ZeroDuration());
  EXPECT_EQ(error, "");
  EXPECT_EQ(limits.Limit("tact.released"), 20000);
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0], topics);
  EXPECT_EQ(asked[2], std::vector<std::string>{"tact.released"});

  asked.clear();
  TopicLimits refused;
  EXPECT_EQ(AskUntilKnown(
                topics, absl::Now() + absl::Hours(1),
                [&](const std::vector<std::string>& these, absl::Duration, TopicLimits&) {
                  asked.push_back(these);
                  return DescribeOutcome{.error = "tact.released: authorization failed", .retriable = false};
                },
                refused, absl::ZeroDuration()),
            "tact.released: authorization failed");
  EXPECT_EQ(asked.size(), 1u);
  EXPECT_FALSE(refused.Known("tact.released"));

  asked.clear();
  EXPECT_EQ(AskUntilKnown(
                topics, absl::Now() - absl::Seconds(1),
                [&](const std::vector<std::string>& these, absl::Duration timeout, TopicLimits&) {
                  asked.push_back(these);
                  EXPECT_GT(timeout, absl::ZeroDuration()) << "each request has some time";
                  return DescribeOutcome{.error = "no answer in time", .retriable = true};
                },
                refused, absl::ZeroDuration()),
            "no answer in time");
  EXPECT_EQ(asked.size(), 1u) << "past its deadline: asked once";
}

TEST(DeadLetterFormTest, KeepsTheRecordWhenTheDlqTakesIt) {
  TopicLimits limits;
  OutputRecord r{.topic = "tact.released", .key = "acme:c1", .value = std::string(5000, 'v'),
                 .headers = {{"x-trace", "1"}, {"tact-decision", "RELEASE"}}};
  const OutputRecord d = DeadLetterForm(r, "too large: 5100 bytes (refused by tact.released)", {"tact.outbound", 3}, 42,
                                        "tact.dlq", limits);
  EXPECT_EQ(d.topic, "tact.dlq");
  EXPECT_EQ(d.key, "acme:c1");
  EXPECT_EQ(d.value, r.value);
  EXPECT_EQ(Header(d, "x-trace"), "1");
  EXPECT_EQ(Header(d, "tact-decision"), "RELEASE");  // released but never delivered: it says so
  EXPECT_EQ(Header(d, "tact-dlq-reason"), "too large: 5100 bytes (refused by tact.released)");
  EXPECT_EQ(Header(d, "tact-source-topic"), "tact.outbound");
  EXPECT_EQ(Header(d, "tact-source-partition"), "3");
  EXPECT_EQ(Header(d, "tact-source-offset"), "42");
  EXPECT_FALSE(IsDeadLetterStub(d));
}

TEST(DeadLetterFormTest, AStubWhenTheDlqCannotTakeItWhole) {
  TopicLimits limits;
  limits.Set("tact.dlq", 10000);
  OutputRecord r{.topic = "tact.dlq", .key = std::string(300, 'k'), .value = std::string(20000, 'v'),
                 .headers = {{"x-customer", "maria@example.com"}, {"tact-rule", "promo-cap"}}};
  AddDeadLetterHeaders(r.headers, "customer_id: longer than 256 bytes", {"tact.outbound", 0}, 7);
  const OutputRecord d =
      DeadLetterForm(r, "customer_id: longer than 256 bytes", {"tact.outbound", 0}, 7, "tact.dlq", limits);
  EXPECT_TRUE(IsDeadLetterStub(d));
  EXPECT_TRUE(limits.Fits(d));
  EXPECT_EQ(d.key, "");  // too long to keep
  EXPECT_EQ(Header(d, "x-customer"), "<none>");  // no input headers
  EXPECT_EQ(Header(d, "tact-rule"), "promo-cap");
  EXPECT_EQ(Header(d, "content-type"), "application/json");
  const std::string reason = Header(d, "tact-dlq-reason");
  EXPECT_TRUE(absl::StartsWith(reason, "too large: ")) << reason;
  EXPECT_TRUE(absl::StrContains(reason, "(tact.dlq accepts at most 10000); customer_id: longer than 256 bytes"))
      << reason;
  EXPECT_EQ(d.value, R"({"tact_dlq_stub":{"source_topic":"tact.outbound","source_partition":0,"source_offset":7,)"
                     R"("topic":"tact.dlq","bytes":)" + std::to_string(RecordWireSize(300, 20000, {{"x-customer", "maria@example.com"}, {"tact-rule", "promo-cap"}})) +
                     R"(,"value_bytes":20000}})");
  int reasons = 0;
  for (const auto& [k, v] : d.headers) reasons += k == "tact-dlq-reason";
  EXPECT_EQ(reasons, 1);  // replaced, not added twice
}

TEST(DeadLetterFormTest, AReasonThatSaysTooLargeAlreadyIsKept) {
  const OutputRecord d = DeadLetterForm({.topic = "tact.released", .value = std::string(2000000, 'v')},
                                        "too large: 2001100 bytes (tact.released accepts at most 1000000)",
                                        {"tact.outbound", 1}, 9, "tact.dlq", TopicLimits());
  EXPECT_TRUE(IsDeadLetterStub(d));
  EXPECT_EQ(Header(d, "tact-dlq-reason"), "too large: 2001100 bytes (tact.released accepts at most 1000000)");
}

TEST(DeadLetterFormTest, StubOnlyWhatever) {
  const OutputRecord d = DeadLetterForm({.topic = "tact.dlq", .value = "small"}, "too large: 100 bytes (refused by tact.dlq)",
                                        {"tact.outbound", 1}, 9, "tact.dlq", TopicLimits(), /*stub_only=*/true);
  EXPECT_TRUE(IsDeadLetterStub(d));
}

TEST(RewriteTooLargeTest, ARoutedOutputBecomesItsDlqFormThenAStubThenNothingSmaller) {
  TopicLimits limits;
  OutputRecord r{.topic = "tact.released", .key = "acme:c1", .value = std::string(100, 'v'),
                 .headers = {{"tact-decision", "RELEASE"}}};
  const int64_t routed_bytes = RecordWireSize(r);
  // Refused by the broker after the decision: the DLQ form, whole.
  EXPECT_EQ(RewriteTooLarge(r, 0, {"tact.outbound", 2}, 5, "tact.dlq", limits), routed_bytes);
  EXPECT_EQ(r.topic, "tact.dlq");
  EXPECT_EQ(r.value, std::string(100, 'v'));
  EXPECT_EQ(Header(r, "tact-decision"), "RELEASE");
  EXPECT_EQ(Header(r, "tact-dlq-reason"), "too large: " + std::to_string(routed_bytes) + " bytes (refused by tact.released)");
  // tact.dlq refuses that too: a stub, both reasons kept.
  ASSERT_TRUE(RewriteTooLarge(r, 0, {"tact.outbound", 2}, 5, "tact.dlq", limits).has_value());
  EXPECT_TRUE(IsDeadLetterStub(r));
  EXPECT_TRUE(absl::StartsWith(Header(r, "tact-dlq-reason"), "too large: ")) << Header(r, "tact-dlq-reason");
  EXPECT_TRUE(absl::StrContains(Header(r, "tact-dlq-reason"), "(refused by tact.dlq); too large: "));
  EXPECT_EQ(Header(r, "tact-decision"), "RELEASE");
  // Nothing smaller than a stub.
  EXPECT_EQ(RewriteTooLarge(r, 0, {"tact.outbound", 2}, 5, "tact.dlq", limits), std::nullopt);
}

TEST(TooLargeTest, ErrorsAndReasons) {
  EXPECT_TRUE(IsTooLarge(RdKafka::ERR_MSG_SIZE_TOO_LARGE));
  EXPECT_TRUE(IsTooLarge(RdKafka::ERR_RECORD_LIST_TOO_LARGE));
  EXPECT_FALSE(IsTooLarge(RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED));
  EXPECT_EQ(TooLargeReason(1001008, "tact.released", 1000000),
            "too large: 1001008 bytes (tact.released accepts at most 1000000)");
  EXPECT_EQ(TooLargeReason(12, "tact.dlq", 0), "too large: 12 bytes (refused by tact.dlq)");
}

TEST(RetryTest, BackoffDoublesToItsCapAndItemsComeOutWhenDue) {
  EXPECT_EQ(RetryDelay(1, absl::Milliseconds(100), absl::Seconds(5)), absl::Milliseconds(100));
  EXPECT_EQ(RetryDelay(2, absl::Milliseconds(100), absl::Seconds(5)), absl::Milliseconds(200));
  EXPECT_EQ(RetryDelay(6, absl::Milliseconds(100), absl::Seconds(5)), absl::Milliseconds(3200));
  EXPECT_EQ(RetryDelay(7, absl::Milliseconds(100), absl::Seconds(5)), absl::Seconds(5));
  EXPECT_EQ(RetryDelay(1000, absl::Milliseconds(100), absl::Seconds(5)), absl::Seconds(5));

  using std::chrono::milliseconds;
  const std::chrono::steady_clock::time_point t0{};
  RetryQueue<int> q(absl::Milliseconds(100), absl::Seconds(5));
  q.Push(1, /*attempt=*/1, t0);
  q.Push(2, /*attempt=*/3, t0);
  q.PushNow(3, t0);
  EXPECT_EQ(q.PopDue(t0), std::vector<int>{3});
  EXPECT_EQ(q.NextDue(), t0 + milliseconds(100));
  EXPECT_TRUE(q.PopDue(t0 + milliseconds(99)).empty());
  EXPECT_EQ(q.PopDue(t0 + milliseconds(100)), std::vector<int>{1});
  EXPECT_EQ(q.PopDue(t0 + milliseconds(400)), std::vector<int>{2});
  EXPECT_TRUE(q.empty());
  // A drain loop waits for the next due retry, never spins, never sleeps past its cap.
  EXPECT_EQ(DrainWaitMs(std::nullopt, t0, 100), 100);
  EXPECT_EQ(DrainWaitMs(t0 + milliseconds(30), t0, 100), 30);
  EXPECT_EQ(DrainWaitMs(t0 + milliseconds(3000), t0, 100), 100);
  EXPECT_EQ(DrainWaitMs(t0 - milliseconds(5), t0, 100), 0);
}

}  // namespace
}  // namespace tact::pipeline
