// PolicyReloader against a real directory: all-or-nothing reload on demand (SIGHUP) and on file change; a policy
// directory that cannot be read (symlink loop, dangling symlink, unreadable file, directory named *.yaml) is an
// error naming the path, for the reloader, for tactd at start and while it runs, never an exception. Under
// policies.trusted_keys only a set signed by a trusted key is activated.
#include "daemon/decision/policy_reloader.h"

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "daemon/core/ed25519.h"
#include "nlohmann/json.hpp"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_signature.h"
#include "daemon/decision/policy_test_runner.h"
#include "daemon/policy/parse.h"
#include "tact/v1/policies.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

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

// Policies.GetPolicy of a running tactd.
v1::PolicyInfo GetPolicy(const testing::Tactd& tactd) {
  auto stub = v1::Policies::NewStub(grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::PolicyInfo info;
  EXPECT_TRUE(stub->GetPolicy(&ctx, v1::GetPolicyRequest(), &info).ok());
  return info;
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
  PolicyReloader reloader(dir.path(), holder, clock);
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

// The shipped layout (policies/default with its tests in policies/default/tests): every load runs those tests, so
// a loosened cap with a version bump is refused while the last good set keeps serving; the set loaded first
// counts the cases it passed.
TEST(PolicyReloaderTest, TheShippedPolicyTestsGateEveryLoad) {
  testing::TempDir dir;
  std::filesystem::copy(std::string(TACT_SOURCE_DIR) + "/policies/default", dir.path(),
                        std::filesystem::copy_options::recursive);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(dir.path(), holder, clock);
  ASSERT_TRUE(reloader.Reload().ok()) << reloader.stats().last_error;
  absl::StatusOr<std::vector<PolicyTestCase>> cases = LoadPolicyTests(PolicyTestsDir(dir.path()));
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_GT(cases->size(), 0u);
  EXPECT_EQ(reloader.stats().tests_passed, static_cast<int>(cases->size()));
  const std::string version = holder.Get()->version;

  const std::string file = dir.path() + "/customer-care.yaml";
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t rule = text.find("id: promotion-1-per-day");
  ASSERT_NE(rule, std::string::npos);
  text.replace(text.find("count: 1", rule), 8, "count: 2");  // loosened
  text.replace(text.find(version), version.size(), version + ".1");
  Write(file, text);
  absl::Status s = reloader.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("policy test failed"), std::string::npos) << s;
  EXPECT_NE(std::string(s.message()).find(PolicyTestsDir(dir.path())), std::string::npos) << s;
  EXPECT_EQ(holder.Get()->version, version);
  EXPECT_EQ(reloader.stats().reload_failures_total, 1);
}

// No test case: the set loads untested (tests_passed 0, tactd logs policy.untested), or is refused under
// policies.require_tests; tests added after start gate the next reload (the directory is looked at every time).
TEST(PolicyReloaderTest, AnUntestedSetLoadsOrIsRefusedUnderRequireTests) {
  testing::TempDir dir;
  Write(dir.path() + "/care.yaml", kGood);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader lenient(dir.path(), holder, clock);
  ASSERT_TRUE(lenient.Reload().ok());
  EXPECT_EQ(lenient.stats().tests_passed, 0);

  PolicyHolder strict_holder;
  PolicyReloader strict(dir.path(), strict_holder, clock, PolicyTestGate{.require = true});
  absl::Status s = strict.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()),
            dir.path() + "/tests: no policy test cases, and policies.require_tests is set: a policy set goes live "
                         "only with tests that pass (policies/README.md \"Policy tests\")");
  EXPECT_EQ(strict_holder.Get(), nullptr);

  std::filesystem::create_directories(dir.path() + "/tests");
  Write(dir.path() + "/tests/t.yaml", R"(tests:
  - name: the second promotion of the day is released, wrongly
    steps:
      - { at: 2026-11-20T09:00:00Z, send: { channel: EMAIL, class: PROMOTION }, expect: RELEASE }
      - { at: 2026-11-20T10:00:00Z, send: { channel: EMAIL, class: PROMOTION }, expect: RELEASE }
)");
  EXPECT_FALSE(lenient.Reload().ok());  // the tests appeared after the first load: they gate this one
  EXPECT_EQ(lenient.stats().reload_failures_total, 1);
  EXPECT_EQ(holder.Get()->version, "v1");
}

// PollForChange's answer as text, so that a test expecting one outcome fails (not aborts) on another.
std::string PollResult(PolicyReloader& reloader) {
  absl::StatusOr<bool> polled = reloader.PollForChange();
  if (!polled.ok()) return "failed: " + std::string(polled.status().message());
  return *polled ? "reloaded" : "unchanged";
}

// One way each for a *.yaml entry to be unusable, and the exact error naming it. `dir` is the directory that
// holds the entry.
struct BadEntry {
  const char* name;
  std::function<void(const std::string& path)> make;
  std::function<std::string(const std::string& path)> message;
};

std::vector<BadEntry> BadEntries() {
  return {
      {"symlink-loop",
       [](const std::string& p) { ASSERT_EQ(symlink(p.c_str(), p.c_str()), 0); },  // a link to itself
       [](const std::string& p) { return p + ": cannot be read: Too many levels of symbolic links"; }},
      {"dangling-symlink",
       [](const std::string& p) { ASSERT_EQ(symlink((p + ".gone").c_str(), p.c_str()), 0); },
       [](const std::string& p) { return absl::StrCat(p, ": a symbolic link to '", p, ".gone', which does not exist"); }},
      {"directory",
       [](const std::string& p) { ASSERT_TRUE(std::filesystem::create_directory(p)); },
       [](const std::string& p) {
         return p + ": is a directory; every *.yaml and *.yml entry must be a file or a symbolic link to one";
       }},
      // A file whose read fails (these tests run as root, for whom a chmod 000 file is readable): reading a
      // process's own memory from offset 0 fails with EIO.
      {"unreadable-file",
       [](const std::string& p) { ASSERT_EQ(symlink("/proc/self/mem", p.c_str()), 0); },
       [](const std::string& p) { return p + ": cannot read: Input/output error"; }},
  };
}

TEST(PolicyDirTest, AnUnusableEntryIsAnErrorNamingIt) {
  for (const BadEntry& bad : BadEntries()) {
    SCOPED_TRACE(bad.name);
    testing::TempDir dir;
    Write(dir.path() + "/care.yaml", kGood);
    const std::string entry = dir.path() + "/zz.yaml";
    bad.make(entry);
    absl::StatusOr<std::vector<policy::PolicyFile>> files = ReadPolicyDir(dir.path());
    ASSERT_FALSE(files.ok());
    EXPECT_EQ(files.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(std::string(files.status().message()), bad.message(entry));
    // The same in a policy test directory.
    std::filesystem::create_directories(dir.path() + "/tests");
    const std::string test_entry = dir.path() + "/tests/zz.yaml";
    bad.make(test_entry);
    absl::StatusOr<std::vector<PolicyTestCase>> tests = LoadPolicyTests(dir.path() + "/tests");
    ASSERT_FALSE(tests.ok());
    EXPECT_EQ(std::string(tests.status().message()), bad.message(test_entry));
  }
}

// Kubernetes mounts a ConfigMap as symlinks: care.yaml -> ..data/care.yaml, ..data -> ..2026_12_06_.../. They are
// followed; the hidden directories are not read (they are not named *.yaml).
TEST(PolicyDirTest, SymlinksToFilesAreFollowedAsInAConfigMapVolume) {
  testing::TempDir dir;
  const std::string snapshot = dir.path() + "/..2026_12_06_09_00_00.123";
  ASSERT_TRUE(std::filesystem::create_directory(snapshot));
  Write(snapshot + "/care.yaml", kGood);
  ASSERT_EQ(symlink("..2026_12_06_09_00_00.123", (dir.path() + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/care.yaml", (dir.path() + "/care.yaml").c_str()), 0);
  absl::StatusOr<std::vector<policy::PolicyFile>> files = ReadPolicyDir(dir.path());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().path, dir.path() + "/care.yaml");
  EXPECT_EQ(files->front().text, kGood);
  absl::StatusOr<policy::Policy> p = LoadPolicyDir(dir.path());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, "v1");
}

// Hidden entries are not policy: an editor's lock file (emacs writes .#care.yaml as a dangling symlink while a
// buffer is modified) or a half-written temporary must not fail the reload.
TEST(PolicyDirTest, HiddenEntriesAreNotRead) {
  testing::TempDir dir;
  Write(dir.path() + "/care.yaml", kGood);
  ASSERT_EQ(symlink("root@host.1234:1701849600", (dir.path() + "/.#care.yaml").c_str()), 0);
  Write(dir.path() + "/.care.yaml.tmp.yaml", "not: [valid");
  absl::StatusOr<std::vector<policy::PolicyFile>> files = ReadPolicyDir(dir.path());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().path, dir.path() + "/care.yaml");
}

// A reload (file change or SIGHUP) that meets an unusable entry keeps the last good policy, counts the failure
// once per distinct error and keeps the error for Policies.GetPolicy; removing the entry recovers.
TEST(PolicyReloaderTest, UnreadablePolicyDirectoryKeepsLastGoodAndIsCountedOnce) {
  for (const BadEntry& bad : BadEntries()) {
    SCOPED_TRACE(bad.name);
    testing::TempDir dir;
    Write(dir.path() + "/care.yaml", kGood);
    PolicyHolder holder;
    FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
    PolicyReloader reloader(dir.path(), holder, clock);  // no tests/: loads untested
    ASSERT_TRUE(reloader.Reload().ok());

    const std::string entry = dir.path() + "/zz.yaml";
    bad.make(entry);
    absl::StatusOr<bool> polled = reloader.PollForChange();
    ASSERT_FALSE(polled.ok());
    EXPECT_EQ(std::string(polled.status().message()), bad.message(entry));
    EXPECT_EQ(holder.Get()->version, "v1");
    EXPECT_EQ(reloader.stats().reload_failures_total, 1);
    EXPECT_EQ(reloader.stats().last_error, bad.message(entry));
    EXPECT_EQ(PollResult(reloader), "unchanged");  // reported once, not on every poll
    EXPECT_EQ(reloader.stats().reload_failures_total, 1);
    EXPECT_FALSE(reloader.Reload().ok());  // SIGHUP
    EXPECT_EQ(reloader.stats().reload_failures_total, 2);
    EXPECT_EQ(PollResult(reloader), "unchanged");  // the poll after it does not count the same error again
    EXPECT_EQ(reloader.stats().reload_failures_total, 2);
    EXPECT_EQ(holder.Get()->version, "v1");

    std::error_code ec;
    std::filesystem::remove(entry, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(PollResult(reloader), "reloaded");
    EXPECT_TRUE(reloader.stats().last_error.empty());
    EXPECT_EQ(reloader.stats().reloads_total, 2);
  }
}

TEST(PolicyReloaderTest, UnreadableTestDirectoryBlocksTheSwap) {
  for (const BadEntry& bad : BadEntries()) {
    SCOPED_TRACE(bad.name);
    testing::TempDir dir;
    Write(dir.path() + "/care.yaml", kGood);
    PolicyHolder holder;
    FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
    PolicyReloader reloader(dir.path(), holder, clock);
    ASSERT_TRUE(reloader.Reload().ok());

    std::filesystem::create_directories(dir.path() + "/tests");
    const std::string entry = dir.path() + "/tests/zz.yaml";
    bad.make(entry);
    std::string next = kGood;
    next.replace(next.find("v1"), 2, "v2");
    Write(dir.path() + "/care.yaml", next);
    absl::Status s = reloader.Reload();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(std::string(s.message()), bad.message(entry));
    EXPECT_EQ(holder.Get()->version, "v1");
    EXPECT_EQ(reloader.stats().last_error, bad.message(entry));
  }
  // The test directory itself a symlink loop.
  testing::TempDir dir;
  Write(dir.path() + "/care.yaml", kGood);
  const std::string tests = dir.path() + "/tests";
  ASSERT_EQ(symlink(tests.c_str(), tests.c_str()), 0);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(dir.path(), holder, clock);
  absl::Status s = reloader.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()), tests + ": cannot be read: Too many levels of symbolic links");
  EXPECT_EQ(holder.Get(), nullptr);
}

// tactd at start: a clear logged error and exit code 2 (bad input), not an abort (134) and a crash loop. Each
// case's tactd waits up to 5 s to hand its policy.reload_failed record to the unreachable broker before it exits,
// so all cases run side by side.
TEST(TactdPolicyStartTest, UnreadablePolicyDirectoryIsALoggedErrorNotAnAbort) {
  struct Case {
    std::string name;
    std::string message;
    std::unique_ptr<testing::TempDir> dir;
    std::unique_ptr<testing::Subprocess> tactd;
  };
  std::vector<Case> cases;
  for (const bool in_tests : {false, true}) {
    for (const BadEntry& bad : BadEntries()) {
      Case c{.name = absl::StrCat(bad.name, in_tests ? " in tests/" : ""), .dir = std::make_unique<testing::TempDir>()};
      const std::string path = c.dir->path();
      Write(path + "/care.yaml", kGood);
      if (in_tests) std::filesystem::create_directories(path + "/tests");
      const std::string entry = path + (in_tests ? "/tests/zz.yaml" : "/zz.yaml");
      bad.make(entry);
      c.message = bad.message(entry);
      c.tactd = std::make_unique<testing::Subprocess>(
          std::vector<std::string>{TACTD_BIN, "--policies", path, "--kafka-brokers", "127.0.0.1:1", "--redis",
                                   "127.0.0.1:1", "--grpc-plaintext", "true", "--grpc-listen", "127.0.0.1:0",
                                   "--admin-listen", "127.0.0.1:1"},
          path + "/tactd.log", std::vector<std::string>{"TACT_CUSTOMER_HASH_KEY=test-key-not-secret"});
      cases.push_back(std::move(c));
    }
  }
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.tactd->Wait(absl::Seconds(30)), 2);
    const std::string log = c.tactd->Log();
    EXPECT_NE(log.find("\"event\":\"policy.reload_failed\""), std::string::npos) << log;
    EXPECT_NE(log.find(c.message), std::string::npos) << log;
  }
}

// The running daemon: a symlink loop appearing in its policy directory is noticed by the file-change poll and by
// SIGHUP; tactd keeps serving the last good policy, counts each failure in tact_policy_reload_failures_total and
// shows the error in Policies.GetPolicy; removing the loop clears it.
TEST(TactdPolicyReloadTest, SymlinkLoopKeepsTheLastGoodPolicyAndIsReported) {
  testing::TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  std::filesystem::copy_file(std::string(TACT_SOURCE_DIR) + "/policies/default/customer-care.yaml",
                             policies + "/customer-care.yaml");
  testing::RedisServer redis(dir.path());
  testing::DevBroker broker(dir.path(), 1);
  testing::Tactd tactd(dir.path(), broker.bootstrap(), redis.address(), {"--policies", policies});
  auto failures = [&] { return testing::Metric(tactd.admin_port(), "tact_policy_reload_failures_total"); };
  auto get_policy = [&] { return GetPolicy(tactd); };
  const v1::PolicyInfo before = get_policy();
  ASSERT_FALSE(before.version().empty());
  EXPECT_EQ(failures(), 0.0);

  const std::string loop = policies + "/loop.yaml";
  ASSERT_EQ(symlink(loop.c_str(), loop.c_str()), 0);
  const std::string want = loop + ": cannot be read: Too many levels of symbolic links";
  ASSERT_TRUE(testing::WaitFor([&] { return failures() == 1.0; }, absl::Seconds(20), "the poll's failed reload"));
  tactd.process().Signal(SIGHUP);
  ASSERT_TRUE(testing::WaitFor([&] { return failures() == 2.0; }, absl::Seconds(20), "SIGHUP's failed reload"));
  const v1::PolicyInfo during = get_policy();
  EXPECT_EQ(during.version(), before.version());
  EXPECT_EQ(during.digest(), before.digest());
  EXPECT_EQ(during.last_reload_error(), want);
  EXPECT_TRUE(tactd.process().Running());
  EXPECT_EQ(failures(), 2.0);  // not once per poll

  std::filesystem::remove(loop);
  ASSERT_TRUE(testing::WaitFor([&] { return get_policy().last_reload_error().empty(); }, absl::Seconds(20),
                               "the error cleared by the next poll"));
  EXPECT_EQ(get_policy().digest(), before.digest());
}

// policies.trusted_keys: an unsigned set, a set changed after signing and a set signed only by an untrusted key
// are refused (last good kept, counted); a set signed by a trusted key loads. Keys are made at run time.
TEST(PolicyReloaderTest, UnderTrustedKeysOnlyAWellSignedSetLoads) {
  testing::TempDir dir;
  const std::string policies = dir.path() + "/p";
  std::filesystem::create_directories(policies);
  Write(policies + "/care.yaml", kGood);
  const Ed25519PemPair trusted = *GenerateEd25519KeyPair();
  const Ed25519PemPair stranger = *GenerateEd25519KeyPair();
  Write(dir.path() + "/trusted.pem", trusted.public_pem);
  PolicyHolder holder;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyReloader reloader(policies, holder, clock, {}, {.trusted_keys = dir.path() + "/trusted.pem"});

  absl::Status s = reloader.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(policies + "/SIGNATURE: missing"));
  EXPECT_EQ(holder.Get(), nullptr);

  ASSERT_TRUE(SignPolicyDir(policies, trusted.private_pem, "trusted-private.pem").ok());
  ASSERT_TRUE(reloader.Reload().ok());
  ASSERT_NE(holder.Get(), nullptr);
  EXPECT_EQ(holder.Get()->version, "v1");

  std::string v2 = kGood;  // a new version, not signed again
  v2.replace(v2.find("v1"), 2, "v2");
  Write(policies + "/care.yaml", v2);
  s = reloader.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("does not verify: the files changed after signing"));
  EXPECT_EQ(holder.Get()->version, "v1");

  std::filesystem::remove(policies + "/SIGNATURE");
  const SignatureCheck by_stranger = *SignPolicyDir(policies, stranger.private_pem, "stranger.pem");
  s = reloader.Reload();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()), absl::StrCat(policies, "/SIGNATURE:1: signed by ", by_stranger.key_id,
                                                   ", which is not in policies.trusted_keys"));
  EXPECT_EQ(reloader.stats().reload_failures_total, 3);
  EXPECT_EQ(holder.Get()->version, "v1");

  // Co-signed by the trusted key: only SIGNATURE changed, and the file-change poll picks it up.
  ASSERT_TRUE(SignPolicyDir(policies, trusted.private_pem, "trusted-private.pem").ok());
  EXPECT_EQ(*reloader.PollForChange(), true);
  EXPECT_EQ(holder.Get()->version, "v2");
  EXPECT_EQ(reloader.stats().reloads_total, 2);

  // A file that does not parse: the history record names its content digest (the attempt key also covers
  // SIGNATURE, which is not part of that digest).
  Write(policies + "/care.yaml", "version: \"v3\"\nrules: [ {id: x} ]\n");
  ASSERT_FALSE(reloader.Reload().ok());
  EXPECT_EQ(reloader.stats().last_attempt.digest, *PolicyDirContentDigest(policies));
  Write(policies + "/care.yaml", v2);

  // Without trusted keys nothing is checked: the same unsigned change loads.
  PolicyHolder lenient_holder;
  std::filesystem::remove(policies + "/SIGNATURE");
  PolicyReloader lenient(policies, lenient_holder, clock);
  EXPECT_TRUE(lenient.Reload().ok());
}

// The running daemon with policies.trusted_keys and a signed copy of policies/default: a policy file edited after
// signing is refused by the file-change poll and by SIGHUP (counted in tact_policy_reload_failures_total, the
// reason in Policies.GetPolicy), the signed version keeps serving.
TEST(TactdPolicyReloadTest, AChangeAfterSigningIsRefusedUnderTrustedKeys) {
  testing::TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::copy(std::string(TACT_SOURCE_DIR) + "/policies/default", policies,
                        std::filesystem::copy_options::recursive);
  const Ed25519PemPair key = *GenerateEd25519KeyPair();
  Write(dir.path() + "/trusted.pem", key.public_pem);
  const SignatureCheck made = *SignPolicyDir(policies, key.private_pem, "release-signer.pem");
  testing::RedisServer redis(dir.path());
  testing::DevBroker broker(dir.path(), 1);
  testing::Tactd tactd(dir.path(), broker.bootstrap(), redis.address(),
                       {"--policies", policies, "--policies-trusted-keys", dir.path() + "/trusted.pem"});
  auto failures = [&] { return testing::Metric(tactd.admin_port(), "tact_policy_reload_failures_total"); };
  auto get_policy = [&] { return GetPolicy(tactd); };
  const v1::PolicyInfo before = get_policy();
  ASSERT_FALSE(before.version().empty());
  EXPECT_EQ(failures(), 0.0);

  const std::string file = policies + "/customer-care.yaml";
  std::string text = testing::ReadFile(file);
  text.replace(text.find(before.version()), before.version().size(), "tampered.1");
  Write(file, text);
  ASSERT_TRUE(testing::WaitFor([&] { return failures() == 1.0; }, absl::Seconds(20), "the poll's refused reload"));
  tactd.process().Signal(SIGHUP);
  ASSERT_TRUE(testing::WaitFor([&] { return failures() == 2.0; }, absl::Seconds(20), "SIGHUP's refused reload"));
  const v1::PolicyInfo during = get_policy();
  EXPECT_EQ(during.version(), before.version());
  EXPECT_EQ(during.digest(), before.digest());
  EXPECT_THAT(during.last_reload_error(),
              ::testing::HasSubstr(absl::StrCat("signature by key ", made.key_id, " does not verify")));
  EXPECT_TRUE(tactd.process().Running());
}

// The policy history: tactd records its start's load and every reload, activated or refused, on
// tact.policy-history with version, digest, provenance and instance; tactctl policy history reads them back.
TEST(TactdPolicyHistoryTest, EveryLoadAttemptIsRecordedWithProvenanceAndReadBack) {
  testing::TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  Write(policies + "/care.yaml", std::string(R"(version: "h.1"
provenance: { author: Ana Auditor, approver: Carl Compliance, reason: first promotion cap, ticket: COMP-7 }
)") + std::string(kGood).substr(std::string(kGood).find("rules:")));
  testing::RedisServer redis(dir.path());
  testing::DevBroker broker(dir.path(), 1);
  testing::Tactd tactd(dir.path(), broker.bootstrap(), redis.address(), {"--policies", policies});
  testing::TopicReader history(broker.bootstrap(), kPolicyHistoryTopic);
  ASSERT_TRUE(testing::WaitFor([&] { return history.Count() >= 1; }, absl::Seconds(20), "the start's record"));

  Write(policies + "/care.yaml", "version: \"h.2\"\nrules: [ {id: x} ]\n");  // refused: no description
  tactd.process().Signal(SIGHUP);
  ASSERT_TRUE(testing::WaitFor([&] { return history.Count() >= 2; }, absl::Seconds(20), "the refused reload"));

  const std::vector<testing::Record> records = history.Records();
  const nlohmann::json started = nlohmann::json::parse(records[0].value);
  EXPECT_EQ(started["result"], "activated");
  EXPECT_EQ(started["version"], "h.1");
  EXPECT_EQ(started["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(started["provenance"]["author"], "Ana Auditor");
  EXPECT_EQ(started["provenance"]["approver"], "Carl Compliance");
  EXPECT_EQ(started["provenance"]["ticket"], "COMP-7");
  EXPECT_EQ(started["provenance"]["reason"], "first promotion cap");
  EXPECT_FALSE(started["instance"].get<std::string>().empty());
  EXPECT_EQ(started["activated_at"], started["at"]);
  EXPECT_EQ(records[0].key, absl::StrCat(started["instance"].get<std::string>(), "|",
                                         started["digest"].get<std::string>(), "|activated"));
  const nlohmann::json refused = nlohmann::json::parse(records[1].value);
  EXPECT_EQ(refused["result"], "refused");
  EXPECT_NE(refused["error"].get<std::string>().find("care.yaml:2:"), std::string::npos) << refused.dump();
  EXPECT_TRUE(refused.contains("refused_at"));

  testing::Subprocess tactctl({TACTCTL_BIN, "policy", "history", "--brokers", broker.bootstrap(), "--expect", "2"},
                              dir.path() + "/tactctl.out");
  ASSERT_EQ(tactctl.Wait(absl::Seconds(60)), std::optional<int>(0)) << tactctl.Log();
  const std::string out = tactctl.Log();
  EXPECT_NE(out.find("activated h.1"), std::string::npos) << out;
  EXPECT_NE(out.find("Ana Auditor"), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("2 record(s)"), std::string::npos) << out;
}

}  // namespace
}  // namespace tact::decision
