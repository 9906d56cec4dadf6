#include "daemon/decision/batch_sequencer.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/support/wait.h"
#include "tests/unit/decision/decision_test_support.h"

namespace tact::decision {
namespace {

using test_support::MakeEvent;
using test_support::ParseTestPolicy;
using testing::WaitFor;

// One log of what happened, in order: the clock logs "prepared" (DecisionService::Prepare reads the time once per
// batch, and nothing else of a sequenced batch does), the store "sent <first event id>" / "returned <id>".
class Steps {
 public:
  void Add(std::string step) {
    absl::MutexLock lock(&mu_);
    steps_.push_back(std::move(step));
  }
  std::vector<std::string> Get() {
    absl::MutexLock lock(&mu_);
    return steps_;
  }
  bool Saw(const std::string& step) {
    const std::vector<std::string> s = Get();
    return std::find(s.begin(), s.end(), step) != s.end();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> steps_ ABSL_GUARDED_BY(mu_);
};

class StepClock final : public Clock {
 public:
  explicit StepClock(Steps& steps) : steps_(steps) {}
  absl::Time Now() const override {
    steps_.Add("prepared");
    return absl::FromUnixSeconds(1'800'000'000);
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }

 private:
  Steps& steps_;
};

// The in-memory store, logging each call by its first event id; a call for "hold" blocks until released.
class SteppedStore final : public store::CounterStore {
 public:
  explicit SteppedStore(Steps& steps) : steps_(steps) {}
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck> checks,
                                                                  absl::Time deadline) override {
    const std::string id = checks.front().event_id;
    steps_.Add("sent " + id);
    if (id == "hold") release.WaitForNotification();
    absl::StatusOr<std::vector<store::CheckResult>> out =
        fail.ok() ? inner.CheckAndReserve(checks, deadline) : absl::StatusOr<std::vector<store::CheckResult>>(fail);
    steps_.Add("returned " + id);
    return out;
  }
  absl::Status PutSignal(const store::SignalWrite& s, absl::Time now, absl::Time deadline) override {
    return inner.PutSignal(s, now, deadline);
  }
  bool Healthy() override { return true; }

  store::InMemoryCounterStore inner;
  absl::Status fail;  // every call fails with this when set (set it only while no call runs)
  absl::Notification release;

 private:
  Steps& steps_;
};

class BatchSequencerTest : public ::testing::Test {
 protected:
  BatchSequencerTest() { policies_.Set(ParseTestPolicy(test_support::kTwoPerWeekPolicy)); }
  ~BatchSequencerTest() override {  // a failed assertion never leaves the sequencer stuck on a held call
    if (!store_.release.HasBeenNotified()) store_.release.Notify();
  }
  // Submits one batch of `events` and waits for its decisions.
  DecidedBatch Decide(const std::vector<const Event*>& events) {
    std::vector<DecisionService::Request> requests;
    for (const Event* e : events) requests.push_back({e, {}});
    return sequencer_.Submit(requests).get();
  }

  Steps steps_;
  StepClock clock_{steps_};
  PolicyHolder policies_;
  SteppedStore store_{steps_};
  CustomerHasher hasher_{"k"};
  DecisionService service_{policies_, store_, clock_, hasher_};
  BatchSequencer sequencer_{service_};
};

TEST_F(BatchSequencerTest, NextBatchIsPreparedAlongsideButSentOnlyAfterThePreviousReturned) {
  const Event first = MakeEvent("hold");
  const Event second = MakeEvent("next");
  const std::vector<DecisionService::Request> a{{&first, {}}};
  const std::vector<DecisionService::Request> b{{&second, {}}};
  std::future<DecidedBatch> out_a = sequencer_.Submit(a);
  ASSERT_TRUE(WaitFor([&] { return steps_.Saw("sent hold"); }, absl::Seconds(10), "the held store call was sent"));
  std::future<DecidedBatch> out_b = sequencer_.Submit(b);
  // Prepared while the first is in the store, and not sent.
  ASSERT_TRUE(WaitFor([&] { return steps_.Get().size() == 3; }, absl::Seconds(10), "three steps"));
  EXPECT_FALSE(steps_.Saw("sent next"));
  store_.release.Notify();
  DecidedBatch decided_a = out_a.get();
  DecidedBatch decided_b = out_b.get();
  EXPECT_EQ(steps_.Get(), (std::vector<std::string>{"prepared", "sent hold", "prepared", "returned hold",
                                                    "sent next", "returned next"}));
  ASSERT_TRUE(decided_a[0].ok() && decided_b[0].ok());
  EXPECT_EQ(decided_a[0]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(decided_b[0]->decision().decision(), v1::RELEASE);
}

TEST_F(BatchSequencerTest, OneCustomersEventsAcrossBatchesAreDecidedInSubmissionOrder) {
  store_.release.Notify();
  const Event e1 = MakeEvent("a");
  const Event e2 = MakeEvent("b");
  const Event e3 = MakeEvent("c");
  std::vector<std::vector<DecisionService::Request>> batches{{{&e1, {}}}, {{&e2, {}}}, {{&e3, {}}}};
  std::vector<std::future<DecidedBatch>> futures;
  for (const auto& b : batches) futures.push_back(sequencer_.Submit(b));
  EXPECT_EQ(futures[0].get()[0]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(futures[1].get()[0]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(futures[2].get()[0]->decision().decision(), v1::SUPPRESS);  // the third of two a week
  const std::vector<std::string> s = steps_.Get();
  std::vector<std::string> sent;
  for (const std::string& step : s) {
    if (step.starts_with("sent ") || step.starts_with("returned ")) sent.push_back(step);
  }
  EXPECT_EQ(sent, (std::vector<std::string>{"sent a", "returned a", "sent b", "returned b", "sent c", "returned c"}));
}

TEST_F(BatchSequencerTest, BatchAfterAStoreOutageIsNotSentAndPassesTheOutageOn) {
  store_.release.Notify();
  store_.fail = absl::UnavailableError("redis: connection refused");
  const Event first = MakeEvent("a");
  const Event promo = MakeEvent("b");
  const Event receipt = MakeEvent("c", v1::TRANSACTIONAL);
  const Event last = MakeEvent("d");
  EXPECT_TRUE(absl::IsUnavailable(Decide({&first})[0].status()));
  store_.fail = absl::OkStatus();  // the store is back, but the batches after the failed one are not sent
  DecidedBatch out2 = Decide({&promo, &receipt});
  ASSERT_TRUE(absl::IsUnavailable(out2[0].status()));
  EXPECT_EQ(out2[0].status().message(),
            "not sent: an earlier batch's store step failed (redis: connection refused)");  // the first failure
  ASSERT_TRUE(out2[1].ok());  // fails open as on any store failure
  EXPECT_TRUE(out2[1]->decision().degraded());
  DecidedBatch out3 = Decide({&last});
  ASSERT_TRUE(absl::IsUnavailable(out3[0].status()));
  EXPECT_EQ(out3[0].status().message(), "not sent: an earlier batch's store step failed (redis: connection refused)");
  EXPECT_EQ(steps_.Get(), (std::vector<std::string>{"prepared", "sent a", "returned a", "prepared", "prepared"}));
}

TEST_F(BatchSequencerTest, BatchOfOnlyFailOpenEventsStopsNothing) {
  store_.release.Notify();
  store_.fail = absl::UnavailableError("redis: connection refused");
  const Event receipt = MakeEvent("r", v1::TRANSACTIONAL);
  const Event next = MakeEvent("n");
  DecidedBatch out1 = Decide({&receipt});
  ASSERT_TRUE(out1[0].ok());
  EXPECT_TRUE(out1[0]->decision().degraded());  // decided: nothing of this batch is held
  store_.fail = absl::OkStatus();
  DecidedBatch out2 = Decide({&next});
  ASSERT_TRUE(out2[0].ok()) << out2[0].status();
  EXPECT_FALSE(out2[0]->decision().degraded());
  EXPECT_TRUE(steps_.Saw("sent n"));
}

TEST_F(BatchSequencerTest, BatchAfterANonOutageFailureIsSent) {
  store_.release.Notify();
  store_.fail = absl::InternalError("check.lua: unexpected reply");
  const Event first = MakeEvent("a");
  const Event second = MakeEvent("b");
  EXPECT_TRUE(absl::IsInternal(Decide({&first})[0].status()));  // dead-lettered, not held: no outage
  store_.fail = absl::OkStatus();
  DecidedBatch out2 = Decide({&second});
  ASSERT_TRUE(out2[0].ok()) << out2[0].status();
  EXPECT_EQ(out2[0]->decision().decision(), v1::RELEASE);
}

TEST_F(BatchSequencerTest, BatchWithoutAStoreStepPassesTheOutageOn) {
  store_.release.Notify();
  store_.fail = absl::UnavailableError("redis: connection refused");
  const Event first = MakeEvent("a");
  const Event last = MakeEvent("d");
  EXPECT_TRUE(absl::IsUnavailable(Decide({&first})[0].status()));
  store_.fail = absl::OkStatus();
  EXPECT_TRUE(Decide({}).empty());  // nothing to decide: no store step
  DecidedBatch out = Decide({&last});
  ASSERT_TRUE(absl::IsUnavailable(out[0].status()));
  EXPECT_TRUE(absl::StrContains(out[0].status().message(), "not sent")) << out[0].status();
}

TEST_F(BatchSequencerTest, FreshBatchAfterAnOutageIsSent) {
  store_.release.Notify();
  store_.fail = absl::UnavailableError("redis: connection refused");
  const Event first = MakeEvent("a");
  const Event retry = MakeEvent("a");
  EXPECT_TRUE(absl::IsUnavailable(Decide({&first})[0].status()));
  store_.fail = absl::OkStatus();  // the store is back; the caller holds "a" and submits it again, afresh
  const std::vector<DecisionService::Request> requests{{&retry, {}}};
  DecidedBatch out = sequencer_.Submit(requests, BatchSequencer::Follows::kNothing).get();
  ASSERT_TRUE(out[0].ok()) << out[0].status();
  EXPECT_EQ(out[0]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(steps_.Get(), (std::vector<std::string>{"prepared", "sent a", "returned a", "prepared", "sent a",
                                                    "returned a"}));
}

TEST_F(BatchSequencerTest, DestructorDecidesWhatWasSubmitted) {
  store_.release.Notify();
  const Event e = MakeEvent("a");
  const std::vector<DecisionService::Request> requests{{&e, {}}};
  std::future<DecidedBatch> out;
  {
    BatchSequencer sequencer(service_);
    out = sequencer.Submit(requests);
  }
  ASSERT_EQ(out.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(out.get()[0].ok());
}

}  // namespace
}  // namespace tact::decision
