// TaskThreads: a call's tasks run at once (one waits for another), on threads kept for the next calls.
#include "daemon/store/task_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/support/wait.h"

namespace tact::store {
namespace {

TEST(TaskThreadsTest, ACallsTasksRunAtOnceAndItsThreadsAreKept) {
  TaskThreads threads;
  for (int call = 0; call < 3; ++call) {
    // Tasks 1 and 2 each wait for the other, and task 0 (the caller's) for both: they end only if all run at once.
    absl::Notification started[3];
    std::atomic<int> ran{0};
    std::thread::id caller;
    threads.Run(3, [&](size_t i) {
      if (i == 0) caller = std::this_thread::get_id();
      started[i].Notify();
      for (size_t other : {1u, 2u}) {
        if (other != i && !started[other].WaitForNotificationWithTimeout(absl::Seconds(30))) {
          ADD_FAILURE() << "task " << i << " waited for task " << other;
        }
      }
      ++ran;
    });
    EXPECT_EQ(ran.load(), 3);
    EXPECT_EQ(caller, std::this_thread::get_id());
    EXPECT_EQ(threads.threads(), 2u) << "call " << call;  // made by the first call, kept
  }
  threads.Run(1, [&](size_t i) { EXPECT_EQ(i, 0u); });  // one task: the caller's alone
  threads.Run(0, [&](size_t) { ADD_FAILURE(); });
  EXPECT_EQ(threads.threads(), 2u);
}

TEST(TaskThreadsTest, CallsAtOnceGetThreadsOfTheirOwn) {
  TaskThreads threads;
  absl::Notification release;
  std::atomic<int> waiting{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      threads.Run(2, [&](size_t i) {
        if (i == 1) {  // every call's second task waits until all three are running
          ++waiting;
          EXPECT_TRUE(release.WaitForNotificationWithTimeout(absl::Seconds(30)));
        }
      });
    });
  }
  // None waits for a thread another call's task holds: all three are running at once.
  EXPECT_TRUE(testing::WaitFor([&] { return waiting.load() == 3; }, absl::Seconds(30), "three tasks running"));
  release.Notify();
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(threads.threads(), 3u);
}

}  // namespace
}  // namespace tact::store
