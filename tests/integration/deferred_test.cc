// Deferred delivery end to end (redis-server + tact-devbroker + tactd, the test clock moved through
// --test-clock-offset-file): a DEFER goes to tact.deferred with tact-defer-until; the scheduler holds it and, when
// due, re-injects it so the one decision path decides again (RELEASE at the end of the quiet hours, or when the
// rolling window frees up), also across a tactd restart; an event held past its class's staleness limit ends as
// EXPIRED (decision record + tact.suppressed), never silently dropped, also across a kill -9.
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "daemon/pipeline/deferred_scheduler.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/support/admin.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::Metric;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;
using testing::WriteClockOffset;

constexpr char kZone[] = "America/New_York";

std::string SmsEvent(const std::string& event_id, const std::string& customer, const std::string& cls) {
  return absl::Substitute(
      R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"SMS","messageClass":"$2",)"
      R"("customerTimezone":"$3","payload":"aGVsbG8="})",
      event_id, customer, cls, kZone);
}

bool Mentions(const testing::Record& r, const std::string& event_id) {
  return r.value.find(absl::StrCat("\"", event_id, "\"")) != std::string::npos;
}

std::vector<testing::Record> RecordsOf(const TopicReader& topic, const std::string& event_id) {
  std::vector<testing::Record> out;
  for (const testing::Record& r : topic.Records()) {
    if (Mentions(r, event_id)) out.push_back(r);
  }
  return out;
}

std::vector<v1::DecisionRecord> DecisionsOf(const TopicReader& decisions, const std::string& event_id) {
  std::vector<v1::DecisionRecord> out;
  for (const testing::Record& r : decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok() && rec->event_id() == event_id) {
      out.push_back(*rec);
    }
  }
  return out;
}

int Count(const std::vector<v1::DecisionRecord>& recs, v1::DecisionKind kind) {
  return static_cast<int>(std::count_if(recs.begin(), recs.end(),
                                        [&](const v1::DecisionRecord& r) { return r.decision().decision() == kind; }));
}

class DeferredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(absl::LoadTimeZone(kZone, &zone_));
    clock_file_ = dir_.path() + "/clock-offset";
    redis_ = std::make_unique<RedisServer>(dir_.path());
    broker_ = std::make_unique<DevBroker>(dir_.path(), 3);
    decisions_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.decisions");
    deferred_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.deferred");
    released_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.released");
    suppressed_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.suppressed");
    producer_ = std::make_unique<testing::TestProducer>(broker_->bootstrap());
  }
  void TearDown() override {
    if (HasFailure() && tactd_) {
      std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
    }
  }
  void StartTactd(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--test-clock-offset-file", clock_file_});
    tactd_ = std::make_unique<Tactd>(dir_.path(), broker_->bootstrap(), redis_->address(), extra);
  }
  // Sets the test clock to 23:00 tomorrow in kZone (quiet hours: 21:00–08:00); returns the offset and the
  // quiet period's end (08:00 the day after) in `end`.
  absl::Duration NightOffset(absl::Time* end) {
    const absl::Time real = absl::Now();
    const absl::CivilDay today = absl::ToCivilDay(real, zone_);
    const absl::Time night = absl::FromCivil(absl::CivilSecond(today + 1) + 23 * 3600, zone_);
    *end = absl::FromCivil(absl::CivilSecond(today + 2) + 8 * 3600, zone_);
    return night - real;
  }
  double Backlog() { return Metric(tactd_->admin_port(), "tact_deferred_backlog"); }
  void StopTactd() {
    tactd_->process().Signal(SIGTERM);
    const std::optional<int> rc = tactd_->process().Wait(absl::Seconds(40));
    ASSERT_TRUE(rc.has_value()) << "tactd did not stop on SIGTERM";
    EXPECT_EQ(*rc, 0) << tactd_->process().Log();
  }

  TempDir dir_;
  absl::TimeZone zone_;
  std::string clock_file_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<Tactd> tactd_;
  std::unique_ptr<TopicReader> decisions_, deferred_, released_, suppressed_;
  std::unique_ptr<testing::TestProducer> producer_;
};

TEST_F(DeferredTest, QuietHoursDeferralIsReleasedAtTheWindowEndAcrossARestart) {
  absl::Time end;
  const absl::Duration night = NightOffset(&end);
  WriteClockOffset(clock_file_, night);
  StartTactd();
  producer_->Send("tact.outbound", SmsEvent("q-1", "night-owl", "SERVICE"), "acme:night-owl");

  std::vector<testing::Record> held;
  ASSERT_TRUE(WaitFor([&] { return !(held = RecordsOf(*deferred_, "q-1")).empty(); }, absl::Seconds(30),
                      "the event on tact.deferred"));
  EXPECT_EQ(held[0].headers["tact-decision"], "DEFER");
  EXPECT_EQ(held[0].headers["tact-rule"], "sms-push-quiet-hours");
  EXPECT_EQ(held[0].headers["tact-defer-until"], pipeline::FormatHeaderTime(end));  // 08:00 local, in UTC
  EXPECT_FALSE(held[0].headers["tact-decided-at"].empty());
  EXPECT_EQ(held[0].key, "acme:night-owl");
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 1; }, absl::Seconds(30), "the scheduler holds it"));

  // Restart before it is due: the held record was never committed, so the new instance reads it again.
  StopTactd();
  StartTactd();
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 1; }, absl::Seconds(60), "held again after the restart"));
  EXPECT_TRUE(RecordsOf(*released_, "q-1").empty());

  // Still quiet at 07:59: nothing happens. At 08:00:30 local it goes out.
  WriteClockOffset(clock_file_, end - absl::Minutes(1) - absl::Now());
  ASSERT_TRUE(WaitFor(
      [&] {
        const double next = Metric(tactd_->admin_port(), "tact_deferred_next_due_seconds");
        return next > 0 && next <= 60;
      },
      absl::Seconds(30), "the clock at 07:59 local, the event due in a minute"));
  EXPECT_EQ(Backlog(), 1);
  EXPECT_TRUE(RecordsOf(*released_, "q-1").empty());
  WriteClockOffset(clock_file_, end + absl::Seconds(30) - absl::Now());
  std::vector<testing::Record> out;
  ASSERT_TRUE(WaitFor([&] { return !(out = RecordsOf(*released_, "q-1")).empty(); }, absl::Seconds(60),
                      "released after the quiet hours"));
  EXPECT_EQ(out[0].headers["tact-decision"], "RELEASE");
  EXPECT_EQ(out[0].headers["tact-deferrals"], "1");
  EXPECT_EQ(out[0].headers.count("tact-defer-until"), 0u);
  EXPECT_EQ(out[0].key, "acme:night-owl");
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 0; }, absl::Seconds(30), "nothing held any more"));

  // Exactly one final decision: one DEFER, then one RELEASE.
  std::vector<v1::DecisionRecord> recs;
  ASSERT_TRUE(WaitFor([&] { return Count(recs = DecisionsOf(*decisions_, "q-1"), v1::RELEASE) >= 1; },
                      absl::Seconds(30), "the RELEASE record"));
  EXPECT_EQ(Count(recs, v1::DEFER), 1);
  EXPECT_EQ(Count(recs, v1::RELEASE), 1);
  EXPECT_EQ(Count(recs, v1::SUPPRESS) + Count(recs, v1::EXPIRED), 0);
  EXPECT_EQ(RecordsOf(*released_, "q-1").size(), 1u);
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_deferred_outcomes_total", {{"outcome", "reinjected"}}), 1);
}

TEST_F(DeferredTest, HeldPastTheStalenessLimitEndsAsExpiredAcrossAKill) {
  absl::Time end;
  const absl::Duration night = NightOffset(&end);
  WriteClockOffset(clock_file_, night);
  StartTactd();
  producer_->Send("tact.outbound", SmsEvent("stale-1", "sleeper", "PROMOTION"), "acme:sleeper");
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 1; }, absl::Seconds(30), "the promotion deferred and held"));
  std::vector<v1::DecisionRecord> recs;
  ASSERT_TRUE(WaitFor([&] { return Count(recs = DecisionsOf(*decisions_, "stale-1"), v1::DEFER) == 1; },
                      absl::Seconds(30), "the DEFER record"));

  // kill -9 while it is held: nothing of it was committed, the next instance holds it again. (The pipeline may
  // also decide the event again, if its input offset was not committed yet, and write a second DEFER: the
  // scheduler acts on one of the two.)
  tactd_->process().Signal(SIGKILL);
  ASSERT_TRUE(tactd_->process().Wait(absl::Seconds(10)).has_value());
  StartTactd();
  ASSERT_TRUE(WaitFor([&] { return Backlog() >= 1; }, absl::Seconds(60), "held again after kill -9"));

  // 30 hours later: past PROMOTION's 24h limit (measured from the first deferral: the event has no created_at).
  WriteClockOffset(clock_file_, night + absl::Hours(30));
  ASSERT_TRUE(WaitFor([&] { return Count(recs = DecisionsOf(*decisions_, "stale-1"), v1::EXPIRED) >= 1; },
                      absl::Seconds(60), "the EXPIRED record"));
  // The EXPIRED record itself: a second DEFER from the restarted pipeline (see above) may land after it.
  const v1::DecisionRecord& expired = *std::find_if(recs.begin(), recs.end(), [](const v1::DecisionRecord& r) {
    return r.decision().decision() == v1::EXPIRED;
  });
  EXPECT_EQ(expired.decision().rule_id(), "sms-push-quiet-hours");
  EXPECT_EQ(expired.decision().policy_version(), recs.front().decision().policy_version());
  EXPECT_NE(expired.decision().reason().find("deferred past the staleness limit of 24h for PROMOTION"),
            std::string::npos)
      << expired.decision().reason();
  EXPECT_EQ(expired.customer_hash(), recs.front().customer_hash());
  EXPECT_FALSE(expired.customer_hash_key_id().empty());
  EXPECT_EQ(expired.customer_hash_key_id(), recs.front().customer_hash_key_id());
  // The DEFER's evidence: the quiet period in force, in the customer's zone.
  EXPECT_EQ(recs.front().evidence().quiet_hours().rule_id(), "sms-push-quiet-hours");
  EXPECT_FALSE(recs.front().evidence().quiet_hours().zone().empty());
  EXPECT_FALSE(recs.front().evidence().quiet_hours().local_time().empty());
  EXPECT_EQ(expired.message_class(), v1::PROMOTION);
  std::vector<testing::Record> out;
  ASSERT_TRUE(WaitFor([&] { return !(out = RecordsOf(*suppressed_, "stale-1")).empty(); }, absl::Seconds(30),
                      "the event on tact.suppressed"));
  EXPECT_EQ(out[0].headers["tact-decision"], "EXPIRED");
  EXPECT_EQ(out[0].headers["tact-rule"], "sms-push-quiet-hours");
  // Every copy on tact.deferred handled (one EXPIRED, any second copy superseded), and exactly one EXPIRED.
  auto handled = [&] {
    return Metric(tactd_->admin_port(), "tact_deferred_outcomes_total", {{"outcome", "expired"}}) +
           Metric(tactd_->admin_port(), "tact_deferred_outcomes_total", {{"outcome", "superseded"}});
  };
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 0 && handled() == RecordsOf(*deferred_, "stale-1").size(); },
                      absl::Seconds(30), "every deferred copy handled"));
  EXPECT_EQ(Count(DecisionsOf(*decisions_, "stale-1"), v1::EXPIRED), 1);
  EXPECT_EQ(RecordsOf(*suppressed_, "stale-1").size(), 1u);
  EXPECT_TRUE(RecordsOf(*released_, "stale-1").empty());
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_deferred_outcomes_total", {{"outcome", "expired"}, {"class", "PROMOTION"}}),
            1);

  // tactctl audit shows it like any other decision.
  std::string table;
  FILE* p = popen(absl::StrCat(TACTCTL_BIN, " audit --brokers ", broker_->bootstrap(),
                               " --decision EXPIRED --expect 1 2>&1").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) table.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(pclose(p)), 0) << table;
  EXPECT_NE(table.find("stale-1"), std::string::npos) << table;
  EXPECT_NE(table.find("1 EXPIRED"), std::string::npos) << table;
}

TEST_F(DeferredTest, DeferredBecauseTheRollingWindowIsFullIsReleasedWhenItFreesUp) {
  const std::string policies = dir_.path() + "/policies";
  std::filesystem::create_directories(policies);
  std::ofstream(policies + "/hourly.yaml") << R"(version: "hourly-1"
rules:
  - id: proactive-1-per-hour
    description: One proactive service email per customer per rolling hour; the next one waits for a free slot.
    match: { channel: EMAIL, message_class: PROACTIVE_SERVICE }
    limit: { count: 1, window: 1h, kind: rolling, scope: customer }
    on_exceed: defer
)";
  WriteClockOffset(clock_file_, absl::ZeroDuration());
  StartTactd({"--policies", policies});
  auto email = [](const std::string& id) {
    return absl::Substitute(
        R"({"eventId":"$0","tenant":"acme","customerId":"busy","channel":"EMAIL","messageClass":"PROACTIVE_SERVICE"})",
        id);
  };
  producer_->Send("tact.outbound", email("w-1"), "acme:busy");
  ASSERT_TRUE(WaitFor([&] { return RecordsOf(*released_, "w-1").size() == 1; }, absl::Seconds(30), "w-1 released"));
  producer_->Send("tact.outbound", email("w-2"), "acme:busy");
  std::vector<testing::Record> held;
  ASSERT_TRUE(WaitFor([&] { return !(held = RecordsOf(*deferred_, "w-2")).empty(); }, absl::Seconds(30),
                      "w-2 deferred"));
  EXPECT_EQ(held[0].headers["tact-rule"], "proactive-1-per-hour");
  absl::Time until;
  ASSERT_TRUE(pipeline::ParseHeaderTime(held[0].headers["tact-defer-until"], &until)) << held[0].headers["tact-defer-until"];
  EXPECT_GT(until, absl::Now() + absl::Minutes(55));  // when w-1 leaves the window
  EXPECT_LT(until, absl::Now() + absl::Minutes(61));
  ASSERT_TRUE(WaitFor([&] { return Backlog() == 1; }, absl::Seconds(30), "w-2 held"));

  WriteClockOffset(clock_file_, absl::Minutes(61));
  std::vector<testing::Record> out;
  ASSERT_TRUE(WaitFor([&] { return !(out = RecordsOf(*released_, "w-2")).empty(); }, absl::Seconds(60),
                      "w-2 released once the window freed up"));
  EXPECT_EQ(out[0].headers["tact-deferrals"], "1");
  std::vector<v1::DecisionRecord> recs;
  ASSERT_TRUE(WaitFor([&] { return Count(recs = DecisionsOf(*decisions_, "w-2"), v1::RELEASE) == 1; },
                      absl::Seconds(30), "w-2's RELEASE record"));
  EXPECT_EQ(Count(recs, v1::DEFER), 1);
  EXPECT_EQ(recs.back().decision().policy_version(), "hourly-1");
}

}  // namespace
}  // namespace tact
