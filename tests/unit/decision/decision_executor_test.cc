#include "daemon/decision/decision_executor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact::decision {
namespace {

constexpr char kPolicy[] = R"(
version: "v1"
rules:
  - id: proactive-2
    description: two proactive emails per week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 2, window: 7d }
)";

// The in-memory store, recording the event ids of each call; the first call waits for `release`.
class RecordingStore final : public store::CounterStore {
 public:
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck> checks,
                                                                  absl::Time deadline) override {
    bool first = false;
    {
      absl::MutexLock lock(&mu_);
      std::vector<std::string>& call = calls_.emplace_back();
      for (const store::CustomerCheck& c : checks) call.push_back(c.event_id);
      first = calls_.size() == 1;
    }
    if (first) release.WaitForNotification();
    return inner_.CheckAndReserve(checks, deadline);
  }
  absl::Status PutSignal(const store::SignalWrite& s, absl::Time now, absl::Time deadline) override {
    return inner_.PutSignal(s, now, deadline);
  }
  bool Healthy() override { return true; }
  std::vector<std::vector<std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool Called() {
    absl::MutexLock lock(&mu_);
    return !calls_.empty();
  }

  absl::Notification release;

 private:
  store::InMemoryCounterStore inner_;
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> calls_ ABSL_GUARDED_BY(mu_);
};

class DecisionExecutorTest : public ::testing::Test {
 protected:
  DecisionExecutorTest() {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"p.yaml", kPolicy}});
    EXPECT_TRUE(p.ok()) << p.status();
    policies_.Set(std::make_shared<const policy::Policy>(*p));
  }

  // A unit of `ids` for one customer; each decision lands in `out` (by position), `left` counts down.
  std::vector<DecisionExecutor::Request> Unit(const std::vector<std::string>& ids, const std::string& customer,
                                              std::vector<v1::DecisionKind>& out) {
    out.assign(ids.size(), v1::DECISION_UNSPECIFIED);
    std::vector<DecisionExecutor::Request> unit;
    for (size_t i = 0; i < ids.size(); ++i) {
      const Event event = testing::MakeEvent({.event_id = ids[i], .customer_id = customer});
      unit.push_back({event, {}, [this, &out, i](absl::StatusOr<Decided> d) {
                        absl::MutexLock lock(&mu_);
                        out[i] = d.ok() ? d->decision().decision() : v1::DECISION_UNSPECIFIED;
                        ++done_;
                      }});
    }
    return unit;
  }
  void AwaitDone(int n) {
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          return done_ >= n;
        },
        absl::Seconds(10), "every decision done"));
  }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  PolicyHolder policies_;
  RecordingStore store_;
  CustomerHasher hasher_{"k"};
  DecisionService service_{policies_, store_, clock_, hasher_};
  absl::Mutex mu_;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(DecisionExecutorTest, AnOrderedUnitIsDecidedWholeInOneStoreCallEvenWhenLargerThanABatch) {
  DecisionExecutor executor(service_, /*threads=*/1, /*max_queue=*/100, /*max_batch=*/4);
  std::vector<v1::DecisionKind> blocker, a, b, c;
  // The one thread holds the blocker at the store while the rest queues up behind it.
  ASSERT_TRUE(executor.SubmitInOrder(Unit({"x1"}, "other", blocker)));
  ASSERT_TRUE(testing::WaitFor([&] { return store_.Called(); }, absl::Seconds(10), "the blocker at the store"));
  ASSERT_TRUE(executor.SubmitInOrder(Unit({"a1", "a2", "a3"}, "ana", a)));
  ASSERT_TRUE(executor.SubmitInOrder(Unit({"b1"}, "ben", b)));
  ASSERT_TRUE(executor.SubmitInOrder(Unit({"c1", "c2", "c3", "c4", "c5", "c6"}, "cy", c)));
  store_.release.Notify();
  AwaitDone(11);
  using Ids = std::vector<std::string>;
  EXPECT_EQ(store_.calls(), (std::vector<Ids>{{"x1"}, {"a1", "a2", "a3", "b1"}, {"c1", "c2", "c3", "c4", "c5", "c6"}}));
  // In one call, a customer's later items see what the earlier ones reserved.
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(c, (std::vector<v1::DecisionKind>{v1::RELEASE, v1::RELEASE, v1::SUPPRESS, v1::SUPPRESS, v1::SUPPRESS,
                                              v1::SUPPRESS}));
  EXPECT_EQ(a, (std::vector<v1::DecisionKind>{v1::RELEASE, v1::RELEASE, v1::SUPPRESS}));
}

TEST_F(DecisionExecutorTest, AUnitTheQueueCannotHoldIsRefusedWhole) {
  store_.release.Notify();
  DecisionExecutor executor(service_, 1, /*max_queue=*/3, 4);
  std::vector<v1::DecisionKind> out;
  EXPECT_FALSE(executor.SubmitInOrder(Unit({"a1", "a2", "a3", "a4"}, "ana", out)));
  EXPECT_TRUE(store_.calls().empty());
  EXPECT_TRUE(executor.SubmitInOrder(Unit({"a1", "a2", "a3"}, "ana", out)));
  AwaitDone(3);
}

}  // namespace
}  // namespace tact::decision
