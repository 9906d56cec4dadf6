// The reliability fault matrix (issue #9, docs/RELIABILITY.md): each scenario injects one kind of fault into a
// fresh loopback stack while the mixed load flows through Kafka, then checks the invariants I1–I5
// (tests/support/invariants.h) over every output topic and Redis. Short by default (the normal test suite);
// TACT_RELIABILITY=full runs the full sweep's sizes (tests/reliability/sweep.sh).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/store/redis_counter_store.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/reliability.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact::reliability {
namespace {

using testing::CheckReport;
using testing::WaitFor;

constexpr absl::Duration kSettle = absl::Seconds(120);

void ExpectAllHold(const CheckReport& r) { EXPECT_TRUE(r.ok()) << r.Summary(); }

// Waits until at least `n` more inputs have a final decision than `before`.
void WaitDecided(Scenario& s, size_t at_least, const std::string& what) {
  ASSERT_TRUE(WaitFor([&] { return s.Decided() >= at_least; }, absl::Seconds(90), what));
}

TEST(ReliabilityMatrix, KillNineAtRandomPoints) {
  const int rounds = Scale(3, 20);
  const int per_round = Scale(30, 40);
  Scenario s("kill9", absl::StrCat("kill -9 of tactd at a random point, ", rounds, " rounds, restart each time"));
  std::mt19937 rng(20261123);
  for (int round = 0; round < rounds; ++round) {
    s.StartTactd();
    const size_t before = s.Decided();
    s.SendMix(per_round);
    ASSERT_TRUE(s.Flush());
    const size_t more = std::uniform_int_distribution<size_t>(1, per_round)(rng);
    WaitDecided(s, before + more, "decisions in this round");
    EXPECT_EQ(s.StopTactd(s.tactd_count() - 1, SIGKILL), 128 + SIGKILL);
  }
  s.StartTactd();  // a last instance finishes the stream
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
  s.Note(absl::StrCat(r.repeated_records, " records repeated by redelivery, all identical"));
}

TEST(ReliabilityMatrix, SigtermDrainUnderLoad) {
  Scenario s("sigterm-drain", "SIGTERM while the producer keeps sending; a second instance takes over");
  s.StartTactd();
  std::atomic<bool> stop{false};
  std::thread load([&] {  // a steady load, paced by tactd's progress: a mix of 10 whenever at most 20 wait
    while (!stop.load()) {
      s.SendMix(10);
      // (Not asserted: after SIGTERM nothing is decided until the next instance; `stop` ends the wait then.)
      (void)WaitFor([&] { return stop.load() || s.Sent() - s.Decided() <= 20; }, absl::Seconds(120), "the load's pace");
    }
  });
  WaitDecided(s, 60, "decisions before SIGTERM");
  const int code = s.StopTactd(0, SIGTERM);
  const std::string log = s.tactd(0).process().Log();
  stop.store(true);
  load.join();
  EXPECT_EQ(code, 0) << "SIGTERM exits cleanly";
  EXPECT_EQ(log.find("pipeline.drain_incomplete"), std::string::npos) << "the drain finished in its budget";
  s.StartTactd();
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
  // A clean drain commits what it decided: the next instance repeats nothing.
  EXPECT_EQ(r.repeated_records, 0) << r.Summary();
  s.Note(absl::StrCat("exit ", code, ", ", r.repeated_records, " records repeated after the drain"));
}

TEST(ReliabilityMatrix, BrokerDownAndUp) {
  Scenario s("broker-down-up", "the only Kafka broker down (connections refused) for ~5 s under load, then up");
  s.StartTactd();
  s.SendMix(30);
  WaitDecided(s, 10, "decisions before the outage");
  ASSERT_EQ(s.broker().Control("broker-down 1"), "ok");
  s.SendMix(30);  // queued by the producer until the broker is back
  EXPECT_TRUE(WaitFor([&] { return s.tactd().process().Log().find("brokers are down") != std::string::npos; },
                      absl::Seconds(30), "tactd notices the broker down"));
  ASSERT_EQ(s.broker().Control("broker-up 1"), "ok");
  s.SendMix(30);
  ExpectAllHold(s.Settle(kSettle));
}

TEST(ReliabilityMatrix, ProduceErrors) {
  Scenario s("produce-errors", "the next 20 Produce requests fail (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, "
                               "_TRANSPORT in turn)");
  s.StartTactd();
  s.SendMix(10);
  WaitDecided(s, 10, "warm-up decisions");
  ASSERT_EQ(s.broker().Control("errors Produce 20 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT _TRANSPORT"), "ok");
  s.SendMix(Scale(60, 300));
  ExpectAllHold(s.Settle(kSettle));
}

TEST(ReliabilityMatrix, OffsetCommitErrors) {
  Scenario s("commit-errors", "the next 10 OffsetCommit requests fail (REQUEST_TIMED_OUT, NOT_COORDINATOR), then "
                              "kill -9 and restart");
  s.StartTactd();
  s.SendMix(10);
  WaitDecided(s, 10, "warm-up decisions");
  ASSERT_EQ(s.broker().Control("errors OffsetCommit 10 REQUEST_TIMED_OUT NOT_COORDINATOR"), "ok");
  s.SendMix(Scale(60, 300));
  WaitDecided(s, 40, "decisions while commits fail");
  s.StopTactd(0, SIGKILL);  // whatever was not committed is redelivered to the next instance
  s.StartTactd();
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
  s.Note(absl::StrCat(r.repeated_records, " records repeated by redelivery"));
}

TEST(ReliabilityMatrix, PartitionLeaderChange) {
  Scenario s("leader-change", "partition leaders of the input and output topics move between 3 brokers, 6 times "
                              "under load",
             {.partitions = 3, .brokers = 3});
  s.StartTactd();
  for (int move = 0; move < 6; ++move) {
    s.SendMix(Scale(15, 60));
    const int to = 1 + move % 3;
    for (const char* topic : {"tact.outbound", "tact.released", "tact.suppressed", "tact.decisions"}) {
      for (int p = 0; p < 3; ++p) {
        ASSERT_EQ(s.broker().Control(absl::StrCat("leader ", topic, " ", p, " ", 1 + (to + p) % 3)), "ok");
      }
    }
  }
  ExpectAllHold(s.Settle(kSettle));
}

TEST(ReliabilityMatrix, RebalanceStorm) {
  const int rounds = Scale(3, 10);
  Scenario s("rebalance-storm", absl::StrCat("3 instances in one group; ", rounds,
                                             " rounds of one joining and one leaving (SIGTERM or kill -9)"),
             {.partitions = 6});
  s.StartTactd();
  s.StartTactd();
  std::mt19937 rng(9);
  std::vector<size_t> live = {0, 1};
  for (int round = 0; round < rounds; ++round) {
    s.SendMix(Scale(20, 50));
    s.StartTactd();
    live.push_back(s.tactd_count() - 1);
    const size_t before = s.Decided();
    s.SendMix(Scale(20, 50));
    WaitDecided(s, before + 5, "decisions during the rebalance");
    const size_t victim = std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng);
    s.StopTactd(live[victim], round % 2 == 0 ? SIGTERM : SIGKILL);
    live.erase(live.begin() + static_cast<long>(victim));
  }
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
  s.Note(absl::StrCat(r.repeated_records, " records repeated by redelivery"));
}

TEST(ReliabilityMatrix, RedisKilledAndRestartedWithAof) {
  Scenario s("redis-restart-aof", "redis-server kill -9 under load, restarted on its port once tactd "
                                  "reports the store unavailable (appendonly, appendfsync always)",
             {.redis_aof = true});
  s.StartTactd();
  s.SendMix(30);
  WaitDecided(s, 20, "decisions before the outage");
  s.redis().process().Signal(SIGKILL);
  s.redis().process().Wait(absl::Seconds(10));
  s.SendMix(30);
  EXPECT_TRUE(WaitFor([&] { return s.tactd().process().Log().find("store.unavailable") != std::string::npos; },
                      absl::Seconds(30), "tactd waits for the store"));
  s.RestartRedis();
  s.SendMix(30);
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
}

TEST(ReliabilityMatrix, RedisKilledAndRestartedWithoutPersistence) {
  Scenario s("redis-restart-no-persistence",
             "redis-server kill -9 under load and restarted empty (no persistence): counters, signals and "
             "decision markers lost");
  s.StartTactd();
  s.SendMix(60);
  WaitDecided(s, 60, "decisions before the loss");
  s.redis().process().Signal(SIGKILL);
  s.redis().process().Wait(absl::Seconds(10));
  s.RestartRedis();
  // The contact centre's signal feed re-sends the open complaints (tact.signals / Signals.PutSignal); the caps'
  // history cannot be re-sent.
  s.PutAtRiskSignals();
  s.SendMix(60);
  const CheckReport r = s.Settle(kSettle, {.redis_data_lost = true});
  // Nothing is lost and decisions stay consistent; the caps of the windows in progress start again from zero.
  EXPECT_TRUE(r.Get("I1").pass) << r.Summary();
  EXPECT_TRUE(r.Get("I4").pass) << r.Summary();
  EXPECT_TRUE(r.Get("I5").pass) << r.Summary();
  if (!r.Get("I3").pass) {
    s.KnownFailure(absl::StrCat("caps reset by the data loss: ", r.Get("I3").violations,
                                " customer windows over their cap (documented: Redis must persist)"));
  }
}

TEST(ReliabilityMatrix, RedisPausedPastTheDeadline) {
  Scenario s("redis-client-pause", "CLIENT PAUSE 3000 ALL on Redis (store deadline 250 ms), 3 times under load");
  s.StartTactd();
  store::RedisContextPtr c(redisConnect("127.0.0.1", s.redis().port()));
  ASSERT_TRUE(c && !c->err);
  for (int i = 0; i < 3; ++i) {
    s.SendMix(Scale(20, 80));
    store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "CLIENT PAUSE 3000 ALL")));
    ASSERT_TRUE(r && r->type == REDIS_REPLY_STATUS);
    s.SendMix(Scale(20, 80));
    ASSERT_TRUE(WaitFor([&] { return s.Decided() == s.sent().size(); }, absl::Seconds(60), "caught up"));
  }
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);
  EXPECT_NE(s.tactd().process().Log().find("store.unavailable"), std::string::npos) << "the pauses were felt";
}

TEST(ReliabilityMatrix, PoisonMessages) {
  Scenario s("poison", "undecodable, invalid and hostile messages between valid ones");
  s.StartTactd();
  const std::vector<std::string> poison = {
      "\x08\x96\x01\xff\xff\xff",                                      // truncated protobuf
      "{\"eventId\":\"x\"",                                             // truncated JSON
      "{\"eventId\":\"p-1\",\"tenant\":\"acme\",\"channel\":\"EMAIL\"}",  // no customer
      "{\"eventId\":\"p-2\",\"tenant\":\"acme\",\"customerId\":\"c\",\"channel\":\"FAX\"}",
      std::string(200000, '{'),                                         // deep nesting
      std::string("\0\0\0\0", 4),
      "{\"eventId\":\"" + std::string(100000, 'x') + "\",\"tenant\":\"acme\",\"customerId\":\"c\"}",
  };
  for (int round = 0; round < Scale(2, 10); ++round) {
    for (const std::string& p : poison) {
      s.SendMix(5);
      s.SendPoison(p + (round == 0 ? "" : std::string(" ") + std::to_string(round)));
    }
  }
  ExpectAllHold(s.Settle(kSettle));
  EXPECT_TRUE(s.tactd().process().Running());
}

TEST(ReliabilityMatrix, CorruptPolicyOnReload) {
  Scenario s("corrupt-policy-reload", "the policy file overwritten with binary garbage, then truncated at half (a "
                                      "rule boundary: valid YAML without the caps), then a rule with a bad window, "
                                      "each followed by SIGHUP, under load; self-tests in <policies>/tests");
  const std::string dir = s.dir() + "/policies";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/customer-care.yaml";
  std::filesystem::copy_file(std::string(TACT_SOURCE_DIR) + "/policies/default/customer-care.yaml", file);
  // Deployed with its policy tests in <dir>/tests/ (tactd runs them before swapping a set in): a file truncated
  // at a rule boundary is still valid YAML — here it would drop every frequency cap — and only the self-tests
  // refuse it.
  std::filesystem::create_directories(dir + "/tests");
  for (const auto& t : std::filesystem::directory_iterator(std::string(TACT_SOURCE_DIR) + "/policies/default/tests")) {
    std::filesystem::copy_file(t.path(), dir + "/tests/" + t.path().filename().string());
  }
  const std::string good = testing::ReadFile(file);
  s.StartTactd({"--policies", dir});
  const std::vector<std::string> corruptions = {
      std::string("\x89PNG\r\n\x1a\n\0\0garbage", 18), good.substr(0, good.size() / 2),
      absl::StrCat(good, "  - id: broken\n    match: {}\n    limit: {count: 1, window: 0d}\n")};
  int failures_seen = 0;
  for (const std::string& bad : corruptions) {
    s.SendMix(Scale(20, 60));
    std::ofstream(file, std::ios::trunc | std::ios::binary) << bad;
    s.tactd().process().Signal(SIGHUP);
    ++failures_seen;
    ASSERT_TRUE(WaitFor(
        [&] {
          const std::string log = s.tactd().process().Log();
          size_t n = 0;
          for (size_t at = log.find("policy.reload_failed"); at != std::string::npos;
               at = log.find("policy.reload_failed", at + 1)) {
            ++n;
          }
          return n >= static_cast<size_t>(failures_seen);
        },
        absl::Seconds(30), "the reload is refused"));
    s.SendMix(Scale(20, 60));
  }
  std::ofstream(file, std::ios::trunc | std::ios::binary) << good;
  s.tactd().process().Signal(SIGHUP);
  s.SendMix(20);
  const CheckReport r = s.Settle(kSettle);
  ExpectAllHold(r);  // the checker evaluates with the good policy: tactd kept serving it throughout
  EXPECT_TRUE(s.tactd().process().Running());
}

TEST(ReliabilityMatrix, GrpcAbuseWhileKafkaFlows) {
  Scenario s("grpc-abuse", "gRPC: 2 MiB messages, malformed bytes, 64-call floods, oversized batches, from 4 threads "
                           "while Kafka flows");
  testing::Tactd& t = s.StartTactd();
  std::atomic<bool> stop{false};
  std::atomic<int> abusive{0};
  std::atomic<int> unexpected{0};
  auto channel = [&] {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(8 << 20);
    return grpc::CreateCustomChannel(t.grpc_target(), grpc::InsecureChannelCredentials(), args);
  };
  std::vector<std::thread> abusers;
  for (int a = 0; a < 4; ++a) {
    abusers.emplace_back([&, a] {
      auto ch = channel();
      auto stub = v1::Throttle::NewStub(ch);
      grpc::GenericStub generic(ch);
      int n = 0;
      while (!stop.load()) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        grpc::Status st;
        switch ((a + n++) % 4) {
          case 0: {  // oversized: 2 MiB of payload (the limit is 1 MiB)
            v1::CheckRequest req;
            req.mutable_event()->set_event_id("big");
            req.mutable_event()->set_payload(std::string(2 << 20, 'x'));
            v1::CheckResponse resp;
            st = stub->Check(&ctx, req, &resp);
            if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) ++unexpected;
            break;
          }
          case 1: {  // malformed bytes as a Check request
            const std::string junk = "\xff\xff\xff\xff\x0f garbage";
            grpc::Slice slice(junk);
            grpc::ByteBuffer in(&slice, 1), out;
            grpc::CompletionQueue cq;
            std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
                generic.PrepareUnaryCall(&ctx, "/tact.v1.Throttle/Check", in, &cq);
            call->StartCall();
            call->Finish(&out, &st, reinterpret_cast<void*>(1));
            void* tag;
            bool ok;
            cq.Next(&tag, &ok);
            cq.Shutdown();
            while (cq.Next(&tag, &ok)) {
            }
            if (st.ok()) ++unexpected;
            break;
          }
          case 2: {  // a batch over the limit (500)
            v1::CheckBatchRequest req;
            for (int i = 0; i < 600; ++i) {
              *req.add_items()->mutable_event() =
                  testing::ProtoEvent({.event_id = absl::StrCat("b", i), .customer_id = "grpc-batch"});
            }
            v1::CheckBatchResponse resp;
            st = stub->CheckBatch(&ctx, req, &resp);
            if (st.error_code() != grpc::StatusCode::INVALID_ARGUMENT &&
                st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
              ++unexpected;
            }
            break;
          }
          default: {  // a flood of valid-looking checks with missing fields, concurrent on one channel
            std::vector<std::thread> flood;
            for (int f = 0; f < 16; ++f) {
              flood.emplace_back([&, f] {
                grpc::ClientContext c2;
                c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
                v1::CheckRequest req;
                req.mutable_event()->set_event_id(absl::StrCat("flood-", a, "-", n, "-", f));
                req.mutable_event()->set_tenant("acme");
                req.set_dry_run(f % 2 == 0);
                if (f % 4 != 0) req.mutable_event()->set_customer_id(absl::StrCat("grpc-flood-", f));
                req.mutable_event()->set_channel(v1::EMAIL);
                req.mutable_event()->set_message_class(v1::PROMOTION);
                v1::CheckResponse resp;
                (void)stub->Check(&c2, req, &resp);
              });
            }
            for (auto& th : flood) th.join();
          }
        }
        ++abusive;
      }
    });
  }
  for (int i = 0; i < Scale(6, 30); ++i) {
    s.SendMix(20);
    ASSERT_TRUE(s.Flush());
  }
  const CheckReport r = s.Settle(kSettle);
  stop.store(true);
  for (auto& th : abusers) th.join();
  ExpectAllHold(r);
  EXPECT_TRUE(t.process().Running());
  EXPECT_EQ(unexpected.load(), 0) << "abusive calls answered with an unexpected status";
  // Still serving ordinary calls.
  auto stub = v1::Throttle::NewStub(channel());
  grpc::ClientContext ctx;
  v1::CheckRequest req;
  req.mutable_event()->set_event_id("after-abuse");
  req.mutable_event()->set_tenant("acme");
  req.mutable_event()->set_customer_id("grpc-after");
  req.mutable_event()->set_channel(v1::EMAIL);
  req.mutable_event()->set_message_class(v1::PROACTIVE_SERVICE);
  v1::CheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  s.Note(absl::StrCat(abusive.load(), " abusive gRPC calls/floods"));
}

TEST(ReliabilityMatrix, ClockJumpsForwardAndBack) {
  // The checker evaluates each event at its record's decided_at (tactd's clock), so windows and calendar periods
  // are those tactd saw.
  Scenario s("clock-jumps", "tactd's clock offset set to +3h, -2h, +26h (the next day), -25h (behind Redis' clock "
                            "across a day boundary), then 0, under load");
  // The jumps are from noon UTC today, whenever the test runs: from the wall clock, one run between 00:00 and 02:00
  // UTC would put -2h on the day before and +26h more than check.lua's KEEP (26 h) past that day's end, a swing the
  // store does not keep counters across (it drops a period that far behind when it writes the customer's key), and
  // the scenario would test that instead of these jumps.
  const absl::Time now = absl::Now();
  const absl::Duration noon = absl::Hours(12) - (now - absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 86400 * 86400));
  const std::string offset = s.dir() + "/clock-offset";
  std::ofstream(offset) << absl::FormatDuration(noon);
  s.set_producer_clock_offset(noon);
  s.StartTactd({"--test-clock-offset-file", offset});
  for (const char* jump : {"3h", "-2h", "26h", "-25h", "0s"}) {
    s.SendMix(Scale(30, 90));
    ASSERT_TRUE(WaitFor([&] { return s.Decided() == s.sent().size(); }, absl::Seconds(60), "caught up"));
    absl::Duration d;
    ASSERT_TRUE(absl::ParseDuration(jump, &d));
    std::ofstream(offset, std::ios::trunc) << absl::FormatDuration(noon + d);
    // The machine's clock jumps, the producers' with it: a createdAt more than 24h ahead of tactd's clock is
    // refused on both paths (InputEdgesTest covers that), which is not what this scenario is about.
    s.set_producer_clock_offset(noon + d);
    s.SendMix(Scale(30, 90));
  }
  ExpectAllHold(s.Settle(kSettle));
}

}  // namespace
}  // namespace tact::reliability
