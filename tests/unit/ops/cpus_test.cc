// Unit tier: the CPUs tactd sizes its thread pools by (ops::UsableCpus): the affinity mask capped by a cgroup CPU
// quota, v2 and v1, read from a directory laid out as /proc and /sys are.
#include "daemon/ops/cpus.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace tact::ops {
namespace {

TEST(CpusTest, CgroupV2MaxIsItsQuotaRoundedUp) {
  EXPECT_EQ(CpusOfCgroupV2Max("200000 100000\n"), 2);
  EXPECT_EQ(CpusOfCgroupV2Max("150000 100000"), 2);
  EXPECT_EQ(CpusOfCgroupV2Max("50000 100000"), 1);  // half a CPU: one thread
  EXPECT_EQ(CpusOfCgroupV2Max("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max(""), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max("2x 100000"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max("200000 0"), std::nullopt);
}

TEST(CpusTest, CgroupV1QuotaIsItsCpusRoundedUpAndMinusOneIsNone) {
  EXPECT_EQ(CpusOfCgroupV1Quota("400000\n", "100000\n"), 4);
  EXPECT_EQ(CpusOfCgroupV1Quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV1Quota("abc", "100000"), std::nullopt);
}

TEST(CpusTest, ProcSelfCgroupGivesTheV2PathAndTheV1CpuControllersPath) {
  const CgroupPaths hybrid = ParseProcCgroup(
      "12:memory:/docker/abc\n"
      "4:cpu,cpuacct:/docker/abc\n"
      "0::/system.slice/tactd.service\n");
  EXPECT_EQ(hybrid.v2, "/system.slice/tactd.service");
  EXPECT_EQ(hybrid.v1_cpu, "/docker/abc");
  const CgroupPaths v2 = ParseProcCgroup("0::/\n");
  EXPECT_EQ(v2.v2, "/");
  EXPECT_EQ(v2.v1_cpu, "");
  const CgroupPaths v1 = ParseProcCgroup("3:cpuacct,cpu:/kubepods/pod1\n2:cpuset:/kubepods/pod1\n");
  EXPECT_EQ(v1.v1_cpu, "/kubepods/pod1");
  EXPECT_EQ(v1.v2, "");
}

class UsableCpusTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path) << text;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  const std::string root_ = ::testing::TempDir() + "/usable-cpus-" + std::to_string(getpid()) + "-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

TEST_F(UsableCpusTest, TheLowestQuotaAlongTheCgroupPathCapsTheAffinity) {
  Write("/proc/self/cgroup", "0::/kubepods/pod1/tactd\n");
  Write("/sys/fs/cgroup/kubepods/pod1/tactd/cpu.max", "max 100000\n");  // the container: no limit of its own
  Write("/sys/fs/cgroup/kubepods/pod1/cpu.max", "300000 100000\n");     // the pod: 3 CPUs
  Write("/sys/fs/cgroup/kubepods/cpu.max", "6000000 100000\n");
  EXPECT_EQ(UsableCpus(64, root_), 3);
  EXPECT_EQ(UsableCpus(2, root_), 2);  // fewer CPUs in the affinity mask than the quota
}

TEST_F(UsableCpusTest, InACgroupNamespaceTheLimitIsAtTheMountsRoot) {
  Write("/proc/self/cgroup", "0::/\n");
  Write("/sys/fs/cgroup/cpu.max", "250000 100000\n");
  EXPECT_EQ(UsableCpus(64, root_), 3);
}

TEST_F(UsableCpusTest, CgroupV1CpuControllersQuota) {
  Write("/proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n");
  Write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n");
  Write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(UsableCpus(16, root_), 2);
}

TEST_F(UsableCpusTest, NoCgroupFilesOrNoQuotaLeaveTheAffinity) {
  EXPECT_EQ(UsableCpus(8, root_), 8);
  Write("/proc/self/cgroup", "0::/user.slice\n");
  Write("/sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
  EXPECT_EQ(UsableCpus(8, root_), 8);
}

TEST(CpusTest, ThisProcessHasAtLeastOneAndNoMoreThanItsAffinity) {
  const int cpus = UsableCpus();
  EXPECT_GE(cpus, 1);
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_LE(cpus, CPU_COUNT(&set));
}

}  // namespace
}  // namespace tact::ops
