// The campaign release gate on the decision path, end to end: tactd with redis-server and tact-devbroker as
// processes, a policy with a `campaign_gates:` section, and tactd's test clock (--test-clock-offset-file) moved
// from one 15-minute interval to the next. Staffing is put and a campaign planned (PACE), released and
// acknowledged over gRPC; its events flow through tact.outbound and at most the planned batch per interval is
// released, the overflow deferred to the next batch; a contact flood on tact.signals pauses the campaign.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_service.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/redis_capacity_store.h"
#include "tact/v1/capacity.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/campaign_fixtures.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::EventFields;
using testing::JsonEvent;
using testing::ProtoEvent;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

const std::string kGates = std::string("version: \"gates-it\"\nrules: []\n") + testing::kPromotionGateYaml;

// tactd's clock is moved to the campaign's start (tests/support/campaign_fixtures.h: a Monday, 10:00 UTC).
const absl::Time kStart = testing::kCampaignStart;
using testing::CallbackSpec;
using testing::SmallDesk;

// A promotion email of `campaign` to its own customer, created at the test's start.
EventFields GateEvent(const std::string& event_id, const std::string& campaign) {
  return {.event_id = event_id, .customer_id = "cust-" + event_id, .message_class = v1::PROMOTION,
          .campaign_id = campaign, .created_at = "2027-01-04T09:00:00Z", .payload = "aGVsbG8="};
}

class CapacityGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::filesystem::copy_file(std::string(TACT_SOURCE_DIR) + "/policies/default/customer-care.yaml",
                               policies + "/customer-care.yaml");
    std::ofstream(policies + "/gates.yaml") << kGates;
    clock_file_ = dir_.path() + "/clock-offset";
    MoveClockTo(kStart + absl::Seconds(1));
    redis_ = std::make_unique<RedisServer>(dir_.path());
    broker_ = std::make_unique<DevBroker>(dir_.path(), 1);
    decisions_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.decisions");
    deferred_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.deferred");
    notices_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.campaign-notices");
    tactd_ = std::make_unique<Tactd>(dir_.path(), broker_->bootstrap(), redis_->address(),
                                     std::vector<std::string>{"--policies", policies, "--test-clock-offset-file",
                                                              clock_file_});
    producer_ = std::make_unique<testing::TestProducer>(broker_->bootstrap());
    auto channel = grpc::CreateChannel(tactd_->grpc_target(), grpc::InsecureChannelCredentials());
    capacity_ = v1::Capacity::NewStub(channel);
    campaigns_ = v1::Campaigns::NewStub(channel);
    throttle_ = v1::Throttle::NewStub(channel);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
  }

  // tactd's wall clock = real time + the offset in the file (re-read on change).
  void MoveClockTo(absl::Time t) {
    std::ofstream(clock_file_, std::ios::trunc) << absl::FormatDuration(absl::Trunc(t - absl::Now(), absl::Seconds(1)));
  }

  std::vector<v1::DecisionRecord> RecordsFor(const std::string& event_id) const {
    std::vector<v1::DecisionRecord> out;
    for (const testing::Record& r : decisions_->Records()) {
      absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
      if (rec.ok() && rec->event_id() == event_id) out.push_back(*rec);
    }
    return out;
  }
  // The latest decision for each of `ids`, waiting until every one has `n` records.
  std::vector<v1::Decision> Decisions(const std::vector<std::string>& ids, size_t n = 1) const {
    std::vector<v1::Decision> out;
    for (const std::string& id : ids) {
      EXPECT_TRUE(WaitFor([&] { return RecordsFor(id).size() >= n; }, absl::Seconds(60),
                          absl::StrCat(n, " decision record(s) for ", id)));
      const std::vector<v1::DecisionRecord> recs = RecordsFor(id);
      out.push_back(recs.empty() ? v1::Decision{} : recs.back().decision());
    }
    return out;
  }
  // A dry run over gRPC (takes no slot) until the gate answers `kind`, with a reason starting with `reason` when
  // one is given: its campaign cache lives about a second, and a stale entry may give the same kind for another
  // reason (a deferral for "not released" just after the release).
  bool WaitForGate(v1::DecisionKind kind, const std::string& campaign, const std::string& reason = "") {
    return WaitFor(
        [&] {
          grpc::ClientContext ctx;
          v1::CheckRequest req;
          req.set_dry_run(true);
          *req.mutable_event() = ProtoEvent({.event_id = "probe", .customer_id = "probe-customer",
                                             .message_class = v1::PROMOTION, .campaign_id = campaign});
          v1::CheckResponse resp;
          return throttle_->Check(&ctx, req, &resp).ok() && resp.decision().decision() == kind &&
                 absl::StartsWith(resp.decision().reason(), reason);
        },
        absl::Seconds(30), "gate answers " + std::string(decision::DecisionName(kind)) + " " + reason);
  }
  void Send(const std::vector<std::string>& ids, const std::string& campaign) {
    for (const std::string& id : ids) producer_->Send("tact.outbound", JsonEvent(GateEvent(id, campaign)));
  }

  TempDir dir_;
  std::string clock_file_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<TopicReader> decisions_;
  std::unique_ptr<TopicReader> deferred_;
  std::unique_ptr<TopicReader> notices_;
  std::unique_ptr<Tactd> tactd_;
  std::unique_ptr<testing::TestProducer> producer_;
  std::unique_ptr<v1::Capacity::Stub> capacity_;
  std::unique_ptr<v1::Campaigns::Stub> campaigns_;
  std::unique_ptr<v1::Throttle::Stub> throttle_;
};

std::vector<std::string> Ids(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(absl::StrCat(prefix, i));
  return out;
}

TEST_F(CapacityGateTest, PacedCampaignReleasesThePlannedBatchPerIntervalThroughKafka) {
  {
    grpc::ClientContext ctx;
    v1::PutStaffingResponse resp;
    const grpc::Status s = capacity_->PutStaffing(&ctx, SmallDesk(), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Before release: deferred, the decision record says why.
  Send({"early-0"}, "callback-week");
  std::vector<v1::Decision> d = Decisions({"early-0"});
  EXPECT_EQ(d[0].decision(), v1::DEFER);
  EXPECT_EQ(d[0].rule_id(), "campaign-gate:promotions");
  EXPECT_EQ(d[0].reason(), "campaign callback-week not released");
  EXPECT_EQ(TimeFromProto(d[0].defer_until()), kStart + absl::Minutes(15));

  v1::Campaign released;
  {
    grpc::ClientContext ctx;
    v1::ReleaseCampaignRequest req;
    *req.mutable_campaign() = CallbackSpec("callback-week", 60);
    const grpc::Status s = campaigns_->ReleaseCampaign(&ctx, req, &released);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const v1::CampaignPlan& plan = released.plan();
  ASSERT_EQ(plan.verdict(), v1::VERDICT_PACE) << plan.reason();
  ASSERT_GE(plan.schedule_size(), 2);
  const int64_t first = plan.schedule(0).messages();
  const int64_t second = plan.schedule(1).messages();
  ASSERT_EQ(TimeFromProto(plan.schedule(0).start()), kStart);
  const absl::Time next = TimeFromProto(plan.schedule(1).start());
  ASSERT_EQ(next, kStart + absl::Minutes(15));
  ASSERT_GT(first, 0);
  ASSERT_GT(second, 0);
  ASSERT_LE(first, 40) << "the small desk should pace a few messages per interval";

  // Released but not acknowledged by the contact centre: still deferred, with the missing condition.
  ASSERT_TRUE(WaitForGate(v1::DEFER, "callback-week", "waiting for contact-centre acknowledgement"));
  Send({"unacked-0"}, "callback-week");
  d = Decisions({"unacked-0"});
  EXPECT_EQ(d[0].decision(), v1::DEFER);
  EXPECT_EQ(d[0].reason(), "waiting for contact-centre acknowledgement");
  {
    grpc::ClientContext ctx;
    v1::AcknowledgeCampaignRequest req;
    req.set_tenant("acme");
    req.set_campaign_id("callback-week");
    req.set_acknowledged_by("wfm-team");
    v1::Campaign c;
    ASSERT_TRUE(campaigns_->AcknowledgeCampaign(&ctx, req, &c).ok());
  }
  ASSERT_TRUE(WaitForGate(v1::RELEASE, "callback-week"));

  // Interval 1: the batch is released, the overflow deferred to the next batch.
  const std::vector<std::string> wave1 = Ids("w1-", 0, static_cast<int>(first) + 3);
  Send(wave1, "callback-week");
  d = Decisions(wave1);
  int released1 = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i].decision() == v1::RELEASE) {
      ++released1;
      continue;
    }
    EXPECT_EQ(d[i].decision(), v1::DEFER) << wave1[i];
    EXPECT_EQ(d[i].rule_id(), "campaign-gate:promotions");
    EXPECT_EQ(TimeFromProto(d[i].defer_until()), next) << d[i].reason();
    EXPECT_EQ(d[i].reason(), absl::StrCat("paced: interval batch of ", first, " used, next batch at ",
                                          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", next, absl::UTCTimeZone())));
  }
  EXPECT_EQ(released1, first);
  ASSERT_TRUE(WaitFor([&] { return deferred_->Count() >= 5; }, absl::Seconds(30), "5 events on tact.deferred"));

  // Interval 2: the deferred scheduler decides the overflow (and the two early events) again when due, and new
  // events arrive; together they get exactly the next batch.
  MoveClockTo(next + absl::Seconds(1));
  std::vector<std::string> due = {"early-0", "unacked-0"};
  for (size_t i = 0; i < wave1.size(); ++i) {
    if (d[i].decision() == v1::DEFER) due.push_back(wave1[i]);
  }
  ASSERT_EQ(due.size(), 5u);
  Decisions(due, 2);  // decided again (the scheduler acts at defer_until on tactd's clock)
  const std::vector<std::string> wave2 = Ids("w2-", 0, static_cast<int>(second) + 2);
  Send(wave2, "callback-week");
  Decisions(wave2);
  int released2 = 0;
  int deferred2 = 0;
  for (const testing::Record& r : decisions_->Records()) {
    absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
    if (!rec.ok() || TimeFromProto(rec->decided_at()) < next || rec->event_id() == "probe") continue;
    released2 += rec->decision().decision() == v1::RELEASE;
    deferred2 += rec->decision().decision() == v1::DEFER;
  }
  EXPECT_EQ(released2, second);
  EXPECT_EQ(deferred2, static_cast<int>(due.size() + wave2.size()) - second);

  // Feedback: a flood of contacts naming the campaign on tact.signals pauses it; the pause is on
  // tact.campaign-notices and in GetCampaign, and its messages are deferred with the reason.
  const int contacts = std::max<int>(5, static_cast<int>(1.5 * static_cast<double>(first + second)) + 1);
  const std::string at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", next + absl::Seconds(30), absl::UTCTimeZone());
  for (int i = 0; i < contacts; ++i) {
    producer_->Send("tact.signals",
                    absl::Substitute(R"({"tenant":"acme","customerId":"caller-$0","kind":"CONTACT",)"
                                     R"("campaignId":"callback-week","signalId":"call-$0","at":"$1"})",
                                     i, at),
                    absl::StrCat("acme:caller-", i));
  }
  v1::Campaign paused;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext ctx;
        v1::GetCampaignRequest req;
        req.set_tenant("acme");
        req.set_campaign_id("callback-week");
        return campaigns_->GetCampaign(&ctx, req, &paused).ok() && paused.state() == v1::CAMPAIGN_PAUSED;
      },
      absl::Seconds(60), "the campaign paused by contacts"));
  EXPECT_NE(paused.pause_reason().find("× plan"), std::string::npos) << paused.pause_reason();
  EXPECT_GE(paused.figures_at_pause().contacts(), 5);
  EXPECT_GT(paused.figures().released(), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const testing::Record& r : notices_->Records()) {
          if (r.key == "acme:callback-week" && r.value.find("\"kind\":\"PAUSED\"") != std::string::npos) return true;
        }
        return false;
      },
      absl::Seconds(30), "a PAUSED notice on tact.campaign-notices"));
  ASSERT_TRUE(WaitForGate(v1::DEFER, "callback-week", "campaign callback-week paused: "));
  Send({"after-pause"}, "callback-week");
  d = Decisions({"after-pause"});
  EXPECT_EQ(d[0].decision(), v1::DEFER);
  EXPECT_EQ(d[0].reason(), "campaign callback-week paused: " + paused.pause_reason());
}

// The Redis side of the gate and of the feedback loop: the same semantics as InMemoryCapacityStore.
TEST(RedisCapacityStoreTest, PacedSlotsAndFeedbackCountsAreExactAndIdempotent) {
  TempDir dir;
  RedisServer redis(dir.path());
  store::RedisSettings settings;
  ASSERT_TRUE(store::ParseRedisAddress(redis.address(), &settings).ok());
  store::RedisCapacityStore s(settings);
  const absl::Time interval = kStart;
  auto reserve = [&](const std::string& id, bool dry_run = false) {
    absl::StatusOr<store::SlotReservation> r = s.ReserveSlot("acme", "c1", interval, id, 2, dry_run);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : store::SlotReservation{};
  };
  EXPECT_TRUE(reserve("a").admitted);
  EXPECT_TRUE(reserve("a").admitted);  // redelivery: same slot
  EXPECT_EQ(reserve("a").used, 1);
  EXPECT_TRUE(reserve("b", /*dry_run=*/true).admitted);
  EXPECT_EQ(reserve("b", true).used, 1);  // a dry run takes nothing
  EXPECT_TRUE(reserve("b").admitted);
  const store::SlotReservation full = reserve("c");
  EXPECT_FALSE(full.admitted);
  EXPECT_EQ(full.used, 2);
  ASSERT_TRUE(s.ReturnSlot("acme", "c1", interval, "b").ok());
  EXPECT_TRUE(reserve("c").admitted);
  EXPECT_TRUE(reserve("x").admitted == false);
  // Another interval has its own batch.
  EXPECT_TRUE(s.ReserveSlot("acme", "c1", interval + absl::Minutes(15), "x", 2, false)->admitted);

  for (const char* id : {"e1", "e2", "e2", "e3"}) ASSERT_TRUE(s.CountReleased("acme", "c1", id).ok());
  absl::StatusOr<store::CampaignCounts> counts = s.AddFeedback("acme", "c1", "sig-1", 1, 1);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->contacts, 1);
  EXPECT_EQ(counts->complaints, 1);
  EXPECT_EQ(counts->released, 3);
  counts = s.AddFeedback("acme", "c1", "sig-1", 1, 1);  // the same signal again: counted once
  EXPECT_EQ(counts->contacts, 1);
  counts = s.AddFeedback("acme", "c1", "", 1, 0);  // no signal_id: always counted
  counts = s.AddFeedback("acme", "c1", "", 1, 0);
  EXPECT_EQ(counts->contacts, 3);
  counts = s.GetCounts("acme", "c1");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->contacts, 3);
  EXPECT_EQ(counts->complaints, 1);
  EXPECT_EQ(counts->released, 3);
  counts = s.GetCounts("acme", "never");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->contacts, 0);
  EXPECT_EQ(counts->released, 0);
}

}  // namespace
}  // namespace tact
