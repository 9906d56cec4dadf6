// PolicyReloader against a real directory: all-or-nothing reload on demand (SIGHUP) and on file change.
#include "daemon/decision/policy_reloader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/process.h"

namespace tact::decision {
namespace {

constexpr char kGood[] = R"(version: "v1"
rules:
  - id: promo-daily
    description: one a day
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
)";

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST(PolicyReloaderTest, InvalidChangeKeepsLastGoodAndIsCountedOnce) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/care.yaml";
  Write(file, kGood);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(dir.path(), holder, clock);

  ASSERT_TRUE(reloader.Reload().ok());
  ASSERT_NE(holder.Get(), nullptr);
  EXPECT_EQ(holder.Get()->version, "v1");
  EXPECT_EQ(*reloader.PollForChange(), false);  // nothing changed

  // A typo: the reload fails with file:line:col, the old policy keeps serving.
  std::string bad = kGood;
  bad.replace(bad.find("limit:"), 6, "limt:");
  Write(file, bad);
  absl::StatusOr<bool> polled = reloader.PollForChange();
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(std::string(polled.status().message()),
            file + ":6:5: rule 'promo-daily': unknown key 'limt' (expected one of: id, description, match, limit, "
                   "suppress_if, quiet_hours, on_exceed, mode)");
  EXPECT_EQ(holder.Get()->version, "v1");
  PolicyReloadStats st = reloader.stats();
  EXPECT_EQ(st.reload_failures_total, 1);
  EXPECT_EQ(st.reloads_total, 1);
  EXPECT_EQ(st.version, "v1");
  EXPECT_NE(st.last_error.find(":6:5:"), std::string::npos);
  // The same broken content is reported once, not on every poll.
  EXPECT_EQ(*reloader.PollForChange(), false);
  EXPECT_EQ(reloader.stats().reload_failures_total, 1);
  // SIGHUP retries explicitly.
  EXPECT_FALSE(reloader.Reload().ok());
  EXPECT_EQ(reloader.stats().reload_failures_total, 2);

  // Fixed, with a new version: picked up by the poll.
  std::string fixed = kGood;
  fixed.replace(fixed.find("v1"), 2, "v2");
  Write(file, fixed);
  EXPECT_EQ(*reloader.PollForChange(), true);
  EXPECT_EQ(holder.Get()->version, "v2");
  st = reloader.stats();
  EXPECT_EQ(st.reloads_total, 2);
  EXPECT_TRUE(st.last_error.empty());
}

// A file cut short at a rule boundary is still valid YAML with the same version line: refused, because one
// version must mean one content.
TEST(PolicyReloaderTest, ChangedContentUnderTheSameVersionIsRefused) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/care.yaml";
  Write(file, kGood);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(dir.path(), holder, clock);
  ASSERT_TRUE(reloader.Reload().ok());
  const std::string digest = holder.Get()->digest;

  std::string looser = kGood;
  looser.replace(looser.find("count: 1"), 8, "count: 9");
  Write(file, looser);
  absl::StatusOr<bool> polled = reloader.PollForChange();
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(std::string(polled.status().message()),
            dir.path() + ": the policy files changed but their version is still 'v1': give the changed set a new "
                         "version (decision records name the version, so one version must mean one content)");
  EXPECT_EQ(holder.Get()->digest, digest);
  EXPECT_EQ(reloader.stats().reload_failures_total, 1);

  looser.replace(looser.find("v1"), 2, "v2");  // the same change, versioned: taken
  Write(file, looser);
  EXPECT_EQ(*reloader.PollForChange(), true);
  EXPECT_EQ(holder.Get()->version, "v2");
}

TEST(PolicyReloaderTest, FailingSelfTestBlocksTheSwap) {
  testing::TempDir dir;
  Write(dir.path() + "/care.yaml", kGood);
  std::filesystem::create_directories(dir.path() + "/tests");
  Write(dir.path() + "/tests/t.yaml", R"(tests:
  - name: the second promotion of the day is suppressed
    steps:
      - at: 2026-11-20T09:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: RELEASE
      - at: 2026-11-20T10:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: { decision: SUPPRESS, rule: promo-daily }
)");
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(dir.path(), holder, clock, dir.path() + "/tests");
  ASSERT_TRUE(reloader.Reload().ok());

  std::string loose = kGood;  // valid YAML, but the test no longer holds
  loose.replace(loose.find("count: 1"), 8, "count: 5");
  loose.replace(loose.find("v1"), 2, "v2");
  Write(dir.path() + "/care.yaml", loose);
  absl::Status s = reloader.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("policy test failed"), std::string::npos) << s;
  EXPECT_EQ(holder.Get()->version, "v1");
}

}  // namespace
}  // namespace tact::decision
