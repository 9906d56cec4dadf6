#include "daemon/store/new_customer_share.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tact::store {
namespace {

TEST(NewCustomerShareTest, GuessesWhileAtLeastThreeQuartersOfTheCustomersReadLatelyHadNoKey) {
  NewCustomerShare share;
  EXPECT_TRUE(share.Guess());  // nothing read yet
  share.Saw(24, 32);
  EXPECT_TRUE(share.Guess());
  share.Saw(0, 1);
  EXPECT_FALSE(share.Guess());  // 24 of 33
  share.Saw(3, 3);
  EXPECT_TRUE(share.Guess());  // 27 of 36
  NewCustomerShare known(/*at_first=*/false);
  EXPECT_FALSE(known.Guess());
  known.Saw(0, 0);
  EXPECT_FALSE(known.Guess());
  known.Saw(3, 4);
  EXPECT_TRUE(known.Guess());
}

TEST(NewCustomerShareTest, FollowsTheLatestCustomersAsOlderCountsDecay) {
  NewCustomerShare share;
  for (int i = 0; i < 1000; ++i) share.Saw(0, 32);  // a long run of returning customers
  EXPECT_FALSE(share.Guess());
  int calls = 0;
  while (!share.Guess() && calls < 1000) {  // then only new ones: the guess comes back within two windows
    share.Saw(32, 32);
    ++calls;
  }
  EXPECT_TRUE(share.Guess());
  EXPECT_LE(calls * 32, 2 * static_cast<int>(NewCustomerShare::kWindow));
  EXPECT_GT(calls * 32, static_cast<int>(NewCustomerShare::kWindow) / 2);  // the returning ones still weigh
}

TEST(NewCustomerShareTest, ASmallerWindowFollowsSoonerAndResetForgetsTheCounts) {
  NewCustomerShare gone(/*at_first=*/false, /*window=*/256);
  for (int i = 0; i < 100; ++i) gone.Saw(0, 32);  // known customers whose keys are there
  EXPECT_FALSE(gone.Guess());
  EXPECT_LE(gone.Count(), 256u);
  EXPECT_GT(gone.Count(), 128u);
  int calls = 0;
  while (!gone.Guess() && calls < 1000) {  // then a flushed Redis: within two windows, not two of 4096
    gone.Saw(32, 32);
    ++calls;
  }
  EXPECT_TRUE(gone.Guess());
  EXPECT_LE(calls * 32, 2 * 256);
  gone.Reset();
  EXPECT_EQ(gone.Count(), 0u);
  EXPECT_FALSE(gone.Guess());  // at_first again
}

TEST(NewCustomerShareTest, CallsFromManyThreadsAreAllCounted) {
  NewCustomerShare share;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) share.Saw(t < 3 ? 1 : 0, 1);  // three threads of four see new customers
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(share.Guess());  // exactly 300 of 400 (no decay below the window): a lost update would tip it
  share.Saw(0, 1);
  EXPECT_FALSE(share.Guess());
}

}  // namespace
}  // namespace tact::store
