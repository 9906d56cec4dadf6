#include "daemon/decision/signal_intake.h"

#include <gtest/gtest.h>

#include "daemon/core/proto_time.h"
#include "daemon/store/in_memory_counter_store.h"

namespace tact::decision {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::Signal Csat(int score) {
  v1::Signal s;
  s.set_tenant("acme");
  s.set_customer_id("c-1");
  s.set_kind(v1::CSAT);
  s.set_csat(score);
  *s.mutable_at() = TimeToProto(kNow - absl::Hours(1));
  return s;
}

std::string Error(const v1::Signal& s) {
  bool writes = false;
  absl::StatusOr<policy::Signal> r = SignalFromProto(s, kNow, "signal.", &writes);
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST(SignalFromProto, NamesTheOffendingField) {
  v1::Signal s = Csat(2);
  EXPECT_EQ(Error(s), "ok");
  s.clear_tenant();
  EXPECT_EQ(Error(s), "signal.tenant: required");
  s = Csat(9);
  EXPECT_EQ(Error(s), "signal.csat: must be 1..5");
  s = Csat(2);
  s.clear_at();
  EXPECT_EQ(Error(s), "signal.at: required (when it happened)");
  s = Csat(2);
  *s.mutable_at() = TimeToProto(kNow + absl::Hours(1));
  EXPECT_EQ(Error(s), "signal.at: more than 5 minutes in the future");
  s = Csat(2);
  s.set_kind(v1::COMPLAINT_OPENED);
  EXPECT_EQ(Error(s), "signal.ref: required (the ticket or callback id), at most 256 characters");
  s = Csat(2);
  s.set_kind(static_cast<v1::SignalKind>(77));
  EXPECT_NE(Error(s).find("signal.kind: required: one of CSAT"), std::string::npos);
  s = Csat(2);
  s.set_channel(static_cast<v1::Channel>(42));
  EXPECT_NE(Error(s).find("signal.channel: unknown value"), std::string::npos);
}

TEST(SignalFromProto, ContactWritesNothingForTheCustomer) {
  v1::Signal s = Csat(0);
  s.set_kind(v1::CONTACT);
  s.set_campaign_id("spring-sale");
  bool writes = true;
  ASSERT_TRUE(SignalFromProto(s, kNow, "", &writes).ok());
  EXPECT_FALSE(writes);
}

class RecordingFeedback final : public CampaignFeedback {
 public:
  absl::Status OnCampaignSignal(const v1::Signal& signal, absl::Time) override {
    campaigns.push_back(signal.campaign_id());
    return absl::OkStatus();
  }
  std::vector<std::string> campaigns;
};

TEST(SignalIntake, StoresAndAttributesOnlySignalsNamingACampaign) {
  store::InMemoryCounterStore store;
  RecordingFeedback feedback;
  SignalIntake intake(store, &feedback);
  v1::Signal s = Csat(1);
  ASSERT_TRUE(intake.Put(s, kNow, absl::InfiniteFuture()).ok());
  s.set_campaign_id("spring-sale");
  ASSERT_TRUE(intake.Put(s, kNow, absl::InfiniteFuture()).ok());
  s.set_csat(0);
  EXPECT_EQ(intake.Put(s, kNow, absl::InfiniteFuture()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(feedback.campaigns, std::vector<std::string>{"spring-sale"});
}

}  // namespace
}  // namespace tact::decision
