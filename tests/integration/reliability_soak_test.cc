// Bounded soak (docs/RELIABILITY.md): steady load through Kafka and gRPC for TACT_SOAK_SECONDS (skipped when
// unset; tests/reliability/soak.sh sets it), then the invariants over everything the Kafka path decided.
// Reports tactd's RSS and open file descriptors, Redis used_memory and latency percentiles (Kafka: produce →
// decided_at; gRPC: Check round trip) over the first and the last minute-ish window, and fails when they grow
// beyond the bounds below. Writes the figures as one JSON object to TACT_SOAK_REPORT when set.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/proto_time.h"
#include "daemon/store/redis_counter_store.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/reliability.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact::reliability {
namespace {

// Growth bounds between the start and the end sample (after warm-up). RSS: allocator arenas and caches settle
// in the first minutes; anything beyond this is a leak. Redis holds one decision marker per event for seen_ttl
// (72h) plus the counters, so its memory grows with the events decided — bounded per event, not in total.
constexpr double kMaxRssGrowth = 1.25;          // end RSS ≤ 1.25 × start RSS + 16 MiB
constexpr int64_t kRssSlackBytes = 16 << 20;
constexpr int kMaxFdGrowth = 8;                  // end fds ≤ start fds + 8
constexpr int64_t kMaxRedisBytesPerEvent = 2048;  // Redis growth ≤ 2 KiB per event decided in between
constexpr double kMaxP99Growth = 3.0;            // end p99 ≤ 3 × start p99 + 50 ms (a shared, busy machine)

struct Sample {
  int64_t rss = 0;
  int fds = 0;
  int64_t redis_used = 0;
  size_t decided = 0;
};

int64_t RssBytes(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

int FdCount(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/fd"))) ++n;
  return n;
}

int64_t RedisUsedMemory(int port) {
  store::RedisContextPtr c(redisConnect("127.0.0.1", port));
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "INFO memory")));
  if (!r || r->type != REDIS_REPLY_STRING) return -1;
  const std::string info(r->str, r->len);
  const size_t at = info.find("used_memory:");
  return at == std::string::npos ? -1 : std::stoll(info.substr(at + 12));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST(ReliabilitySoak, SteadyLoadThroughKafkaAndGrpc) {
  const char* env = std::getenv("TACT_SOAK_SECONDS");
  if (env == nullptr) GTEST_SKIP() << "set TACT_SOAK_SECONDS (tests/reliability/soak.sh)";
  const absl::Duration duration = absl::Seconds(std::atoi(env));
  const int kafka_rate = std::getenv("TACT_SOAK_KAFKA_RATE") ? std::atoi(std::getenv("TACT_SOAK_KAFKA_RATE")) : 100;
  const int grpc_rate = std::getenv("TACT_SOAK_GRPC_RATE") ? std::atoi(std::getenv("TACT_SOAK_GRPC_RATE")) : 100;
  const absl::Duration window = std::clamp(duration / 5, absl::Seconds(10), absl::Seconds(60));

  Scenario s("soak", absl::StrCat("steady load for ", absl::FormatDuration(duration), ": ", kafka_rate,
                                  " events/s on Kafka + ", grpc_rate, " Check/s on gRPC"),
             {.partitions = 3, .customers = 2000});
  testing::Tactd& t = s.StartTactd();
  const pid_t pid = t.process().pid();
  const absl::Time begin = absl::Now();
  const absl::Time end = begin + duration;

  // gRPC load: distinct customers, half dry runs; latency per call with its start time.
  absl::Mutex mu;
  std::vector<std::pair<absl::Time, double>> grpc_lat;  // (start, ms)
  std::atomic<int> grpc_errors{0};
  std::thread grpc_load([&] {
    auto stub = v1::Throttle::NewStub(grpc::CreateChannel(t.grpc_target(), grpc::InsecureChannelCredentials()));
    for (int i = 0; absl::Now() < end; ++i) {
      const absl::Time next = begin + absl::Seconds(1) * i / grpc_rate;
      if (const absl::Duration wait = next - absl::Now(); wait > absl::ZeroDuration()) absl::SleepFor(wait);  // pacing
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::CheckRequest req;
      req.set_dry_run(i % 2 == 0);
      *req.mutable_event() = testing::ProtoEvent({.event_id = absl::StrCat("soak-grpc-", i),
                                                  .customer_id = absl::StrCat("soak-grpc-c", i % 5000),
                                                  .message_class = i % 3 == 0 ? v1::PROMOTION : v1::PROACTIVE_SERVICE});
      v1::CheckResponse resp;
      const absl::Time t0 = absl::Now();
      const grpc::Status st = stub->Check(&ctx, req, &resp);
      const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
      if (!st.ok()) ++grpc_errors;
      absl::MutexLock lock(&mu);
      grpc_lat.emplace_back(t0, ms);
    }
  });

  auto sample = [&] {
    return Sample{.rss = RssBytes(pid), .fds = FdCount(pid), .redis_used = RedisUsedMemory(s.redis().port()),
                  .decided = s.observer().DecisionRecords().size()};
  };
  // Kafka load on this thread: kafka_rate events per second, in 10 ms slices.
  Sample start, last;
  absl::Time start_at = absl::InfiniteFuture();
  bool started = false;
  for (int i = 0; absl::Now() < end; ++i) {
    const absl::Time next = begin + absl::Milliseconds(10) * i;
    if (const absl::Duration wait = next - absl::Now(); wait > absl::ZeroDuration()) absl::SleepFor(wait);  // pacing
    const int due = static_cast<int>(kafka_rate * absl::ToDoubleSeconds(absl::Now() - begin)) -
                    static_cast<int>(s.sent().size());
    if (due > 0) s.SendMix(due);
    if (!started && absl::Now() >= begin + window) {
      start = sample();
      start_at = absl::Now();
      started = true;
    }
  }
  grpc_load.join();
  ASSERT_TRUE(s.Flush());
  const testing::CheckReport report = s.Settle(absl::Seconds(180));
  last = sample();

  // Latency: Kafka produce (created_at) → decided_at, per window; gRPC round trips per window.
  std::vector<double> k_first, k_last, g_first, g_last;
  const std::vector<v1::DecisionRecord> records = s.observer().DecisionRecords();
  std::map<std::string, absl::Time> first_decided;
  for (const v1::DecisionRecord& r : records) first_decided.try_emplace(r.event_id(), TimeFromProto(r.decided_at()));
  for (const testing::SentInput& in : s.sent()) {
    auto it = first_decided.find(in.event.event_id);
    if (it == first_decided.end() || in.sent_at == absl::InfinitePast()) continue;
    const double ms = absl::ToDoubleMilliseconds(it->second - in.sent_at);
    if (in.sent_at < begin + window) k_first.push_back(ms);
    if (in.sent_at >= end - window) k_last.push_back(ms);
  }
  int64_t grpc_writes_between = 0;  // non-dry-run checks after the start sample: each stores a marker
  for (size_t i = 0; i < grpc_lat.size(); ++i) {
    const auto& [at, ms] = grpc_lat[i];
    if (at >= start_at && i % 2 == 1) ++grpc_writes_between;
    if (at < begin + window) g_first.push_back(ms);
    if (at >= end - window) g_last.push_back(ms);
  }
  const std::string figures = absl::StrFormat(
      "{\"seconds\":%d,\"kafka_rate\":%d,\"grpc_rate\":%d,\"events\":%d,\"grpc_calls\":%d,\"grpc_errors\":%d,"
      "\"rss_start\":%d,\"rss_end\":%d,\"fds_start\":%d,\"fds_end\":%d,\"redis_start\":%d,\"redis_end\":%d,"
      "\"decided_between\":%d,\"grpc_writes_between\":%d,"
      "\"kafka_p50_start\":%.1f,\"kafka_p99_start\":%.1f,\"kafka_p50_end\":%.1f,\"kafka_p99_end\":%.1f,"
      "\"grpc_p50_start\":%.2f,\"grpc_p99_start\":%.2f,\"grpc_p50_end\":%.2f,\"grpc_p99_end\":%.2f,"
      "\"invariants\":\"%s\"}",
      static_cast<int>(absl::ToInt64Seconds(duration)), kafka_rate, grpc_rate, static_cast<int>(s.sent().size()),
      static_cast<int>(grpc_lat.size()), grpc_errors.load(), start.rss, last.rss, start.fds, last.fds,
      start.redis_used, last.redis_used, static_cast<int>(last.decided - start.decided),
      static_cast<int>(grpc_writes_between), Percentile(k_first, 0.5),
      Percentile(k_first, 0.99), Percentile(k_last, 0.5), Percentile(k_last, 0.99), Percentile(g_first, 0.5),
      Percentile(g_first, 0.99), Percentile(g_last, 0.5), Percentile(g_last, 0.99), report.PassedList());
  std::cout << "[soak] " << figures << "\n";
  if (const char* path = std::getenv("TACT_SOAK_REPORT"); path != nullptr) std::ofstream(path) << figures << "\n";

  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(grpc_errors.load(), 0);
  EXPECT_LE(last.rss, static_cast<int64_t>(kMaxRssGrowth * static_cast<double>(start.rss)) + kRssSlackBytes);
  EXPECT_LE(last.fds, start.fds + kMaxFdGrowth);
  const int64_t decided = static_cast<int64_t>(last.decided - start.decided) + grpc_writes_between;
  EXPECT_LE(last.redis_used - start.redis_used, kMaxRedisBytesPerEvent * std::max<int64_t>(decided, 1));
  EXPECT_LE(Percentile(k_last, 0.99), kMaxP99Growth * Percentile(k_first, 0.99) + 50);
  EXPECT_LE(Percentile(g_last, 0.99), kMaxP99Growth * Percentile(g_first, 0.99) + 50);
}

}  // namespace
}  // namespace tact::reliability
