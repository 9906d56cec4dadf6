#include "daemon/pipeline/event_codec.h"

#include <gtest/gtest.h>

namespace tact::pipeline {
namespace {

TEST(DecodeSignalTest, JsonByContentTypeOrSniffingAndBinaryProtobuf) {
  const std::string json =
      R"({"tenant":"acme","customerId":"c1","kind":"CSAT","csat":1,"at":"2026-11-23T10:00:00Z"})";
  for (const char* ct : {"application/json", ""}) {
    absl::StatusOr<v1::Signal> s = DecodeSignal(json, ct);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->kind(), v1::CSAT);
    EXPECT_EQ(s->csat(), 1);
    EXPECT_EQ(s->at().seconds(), 1795428000);
  }
  v1::Signal proto;
  proto.set_tenant("acme");
  proto.set_customer_id("c1");
  proto.set_kind(v1::OPT_OUT);
  absl::StatusOr<v1::Signal> b = DecodeSignal(proto.SerializeAsString(), "application/x-protobuf");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->kind(), v1::OPT_OUT);
}

TEST(DecodeSignalTest, ErrorsNameTheInput) {
  EXPECT_EQ(DecodeSignal("", "").status().message(), "empty message");
  absl::StatusOr<v1::Signal> bad = DecodeSignal(R"({"tenant":"acme","mood":"grumpy"})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(std::string(bad.status().message()).starts_with("invalid JSON signal: ")) << bad.status();
  EXPECT_EQ(DecodeSignal("\xff\xff\xff", "application/x-protobuf").status().message(),
            "invalid protobuf signal: cannot parse tact.v1.Signal");
  EXPECT_EQ(DecodeOutboundEvent("\xff\xff\xff", "application/x-protobuf").status().message(),
            "invalid protobuf event: cannot parse tact.v1.OutboundEvent");
  EXPECT_TRUE(std::string(DecodeSignal("{}", "text/plain").status().message()).starts_with("unsupported content-type"));
}

}  // namespace
}  // namespace tact::pipeline
