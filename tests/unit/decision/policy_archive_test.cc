#include "daemon/decision/policy_archive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_reloader.h"

namespace tact::decision {
namespace {

// The archive side of a counter store: a map with expiry, or failing / without an archive.
class ArchiveStore final : public store::CounterStore {
 public:
  explicit ArchiveStore(const Clock& clock) : clock_(clock) {}
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck>,
                                                                  absl::Time) override {
    return absl::UnimplementedError("not here");
  }
  absl::Status PutSignal(const store::SignalWrite&, absl::Time, absl::Time) override {
    return absl::UnimplementedError("not here");
  }
  bool Healthy() override { return true; }
  absl::Status PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                           absl::Time) override {
    if (!fail.ok()) return fail;
    texts[std::string(name)] = {std::string(text), clock_.Now() + ttl};
    ++puts;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<std::string>> GetArchived(std::string_view name, absl::Time) override {
    if (!fail.ok()) return fail;
    ++gets;
    auto it = texts.find(std::string(name));
    if (it == texts.end() || it->second.second <= clock_.Now()) return std::optional<std::string>();
    return std::optional<std::string>(it->second.first);
  }

  absl::Status fail;
  std::map<std::string, std::pair<std::string, absl::Time>> texts;
  int puts = 0;
  int gets = 0;

 private:
  const Clock& clock_;
};

constexpr char kV1[] = R"(
version: "v1"
rules:
  - id: cap
    description: two a week
    limit: { count: 2, window: 7d }
)";
constexpr char kV2[] = R"(
version: "v2"
rules:
  - id: cap
    description: three a week
    limit: { count: 3, window: 7d }
)";

std::shared_ptr<const policy::Policy> Parse(const std::vector<policy::PolicyFile>& files) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy(files);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::make_shared<const policy::Policy>(p.ok() ? *std::move(p) : policy::Policy{});
}

TEST(PolicyArchiveTest, FilesRoundTripAndBadTextIsAnError) {
  const std::vector<policy::PolicyFile> files = {{"dir/a.yaml", kV1}, {"dir/b.yaml", std::string("x\0y", 3)}};
  absl::StatusOr<std::vector<policy::PolicyFile>> back = DecodeArchivedFiles(EncodeArchivedFiles(files));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].path, "dir/a.yaml");
  EXPECT_EQ((*back)[1].text, files[1].text);
  const std::string text = EncodeArchivedFiles(files);
  for (size_t n = 0; n < text.size(); n += 7) EXPECT_FALSE(DecodeArchivedFiles(text.substr(0, n)).ok()) << n;
  EXPECT_FALSE(DecodeArchivedFiles(text + "x").ok());
}

TEST(PolicyArchiveTest, AnotherInstanceFindsThePolicyInTheStore) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ArchiveStore store(clock);
  const std::vector<policy::PolicyFile> files = {{"/etc/tact/policies/p.yaml", kV1}};
  const auto v1 = Parse(files);
  PolicyArchive first(clock, {.ttl = absl::Hours(96)});
  first.AttachStore(&store);
  first.Remember(v1, files);
  ASSERT_TRUE(first.Refresh().ok());
  ASSERT_EQ(store.puts, 1);
  EXPECT_EQ(store.texts.begin()->first, v1->digest);

  PolicyArchive second(clock);  // another tactd
  second.AttachStore(&store);
  const std::shared_ptr<const policy::Policy> found = second.Find(v1->digest);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->digest, v1->digest);
  EXPECT_EQ(found->version, "v1");
  ASSERT_EQ(found->rules.size(), 1u);
  EXPECT_EQ(found->rules[0].limit->count, 2);
  EXPECT_EQ(second.Find(v1->digest), found);  // parsed once, then from memory
  EXPECT_EQ(store.gets, 1);
  EXPECT_EQ(second.Find(std::string(64, 'a')), nullptr);
  // Expired (no refresh for longer than the TTL): gone.
  clock.Advance(absl::Hours(97));
  PolicyArchive third(clock);
  third.AttachStore(&store);
  EXPECT_EQ(third.Find(v1->digest), nullptr);
}

TEST(PolicyArchiveTest, ArchivedTextOfAnotherPolicyIsNeverTakenForIt) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ArchiveStore store(clock);
  const auto v1 = Parse({{"p.yaml", kV1}});
  store.texts[v1->digest] = {EncodeArchivedFiles({{"p.yaml", kV2}}), clock.Now() + absl::Hours(1)};
  PolicyArchive archive(clock);
  archive.AttachStore(&store);
  EXPECT_EQ(archive.Find(v1->digest), nullptr);
  store.texts[v1->digest] = {"garbage", clock.Now() + absl::Hours(1)};
  clock.Advance(absl::Minutes(1));
  EXPECT_EQ(archive.Find(v1->digest), nullptr);
}

TEST(PolicyArchiveTest, RefreshPutsWhenDueAndRetriesFailures) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ArchiveStore store(clock);
  const std::vector<policy::PolicyFile> files = {{"p.yaml", kV1}};
  PolicyArchive archive(clock, {.ttl = absl::Hours(96)});
  archive.AttachStore(&store);
  EXPECT_TRUE(archive.Refresh().ok());  // nothing in force yet
  archive.Remember(Parse(files), files);
  store.fail = absl::UnavailableError("redis down");
  EXPECT_FALSE(archive.Refresh().ok());
  EXPECT_TRUE(archive.Refresh().ok());  // not due again yet
  clock.Advance(absl::Seconds(10));
  store.fail = absl::OkStatus();
  EXPECT_TRUE(archive.Refresh().ok());
  EXPECT_EQ(store.puts, 1);
  EXPECT_EQ(archive.counts().put_failures, 1);
  clock.Advance(absl::Minutes(59));
  EXPECT_TRUE(archive.Refresh().ok());
  EXPECT_EQ(store.puts, 1);
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(archive.Refresh().ok());
  EXPECT_EQ(store.puts, 2);  // refreshed: it outlives the markers written under it
  EXPECT_EQ(store.texts.begin()->second.second, clock.Now() + absl::Hours(96));
  // A new policy in force is put at once.
  const std::vector<policy::PolicyFile> next = {{"p.yaml", kV2}};
  archive.Remember(Parse(next), next);
  EXPECT_TRUE(archive.Refresh().ok());
  EXPECT_EQ(store.puts, 3);
}

TEST(PolicyArchiveTest, AStoreWithoutAnArchiveFindsOnlyWhatIsInMemory) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ArchiveStore store(clock);
  store.fail = absl::UnimplementedError("this counter store has no archive");
  const std::vector<policy::PolicyFile> files = {{"p.yaml", kV1}};
  const auto v1 = Parse(files);
  PolicyArchive archive(clock);
  archive.AttachStore(&store);
  archive.Remember(v1, files);
  EXPECT_TRUE(absl::IsUnimplemented(archive.Refresh()));
  EXPECT_EQ(archive.counts().put_failures, 0);
  EXPECT_EQ(archive.Find(v1->digest), v1);
  EXPECT_EQ(archive.Find(Parse({{"p.yaml", kV2}})->digest), nullptr);
}

TEST(PolicyArchiveTest, KeepsTheLastPoliciesInMemory) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  PolicyArchive archive(clock, {.capacity = 2});
  std::vector<std::shared_ptr<const policy::Policy>> all;
  for (const char* v : {"a", "b", "c"}) {
    const std::vector<policy::PolicyFile> files = {{"p.yaml", absl::StrCat("version: \"", v, "\"\nrules: []\n")}};
    all.push_back(Parse(files));
    archive.Remember(all.back(), files);
  }
  EXPECT_EQ(archive.Find(all[0]->digest), nullptr);
  EXPECT_EQ(archive.Find(all[1]->digest), all[1]);
  EXPECT_EQ(archive.Find(all[2]->digest), all[2]);
}

// The reloader hands every activated policy to the archive: a reload keeps the earlier one findable, and a tactd
// started on another directory (another archive, the same store) finds it with the same digest.
TEST(PolicyArchiveTest, ReloadedPoliciesAreArchivedWithTheirFiles) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("archive-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto write = [&](const char* text) { std::ofstream(dir / "care.yaml") << text; };
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ArchiveStore store(clock);
  PolicyHolder holder;
  PolicyArchive archive(clock);
  archive.AttachStore(&store);
  PolicyReloader reloader(dir.string(), holder, clock, {}, {}, &archive);
  write(kV1);
  ASSERT_TRUE(reloader.Reload().ok());
  const std::string d1 = holder.Get()->digest;
  ASSERT_TRUE(archive.Refresh().ok());
  write(kV2);
  ASSERT_TRUE(reloader.Reload().ok());
  ASSERT_NE(holder.Get()->digest, d1);
  const std::shared_ptr<const policy::Policy> earlier = archive.Find(d1);  // from memory
  ASSERT_NE(earlier, nullptr);
  EXPECT_EQ(earlier->version, "v1");
  EXPECT_EQ(store.gets, 0);

  PolicyArchive restarted(clock);
  restarted.AttachStore(&store);
  const std::shared_ptr<const policy::Policy> found = restarted.Find(d1);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->digest, d1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tact::decision
