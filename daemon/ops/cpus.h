#pragma once

// How many CPUs tactd may use: the CPUs it may run on (sched_getaffinity: taskset, a cpuset) and, under a CPU quota
// (a container's limit: cgroup v2's cpu.max, v1's cpu.cfs_quota_us / cpu.cfs_period_us, the lowest along the
// process's cgroup path), the quota rounded up. std::thread::hardware_concurrency() counts the host's CPUs, which in
// a container limited to 2 CPUs on a 64-CPU node would size thread pools 32 times too large.
#include <optional>
#include <string>
#include <string_view>

namespace tact::ops {

// The CPUs of a quota, rounded up (at least 1): "max 100000" (no quota) -> nullopt; "150000 100000" -> 2.
// nullopt when `cpu_max` is not in cgroup v2's cpu.max format.
std::optional<int> CpusOfCgroupV2Max(std::string_view cpu_max);
// The same for cgroup v1: `quota_us` ("-1": no quota) and `period_us`, as their files hold them.
std::optional<int> CpusOfCgroupV1Quota(std::string_view quota_us, std::string_view period_us);

// The process's cgroup paths, from /proc/self/cgroup's text: v2's ("0::<path>") and v1's cpu controller's
// ("<n>:...cpu...:<path>"). Empty when absent.
struct CgroupPaths {
  std::string v2;
  std::string v1_cpu;
};
CgroupPaths ParseProcCgroup(std::string_view proc_self_cgroup);

// The CPUs this process may use, read under `root` ("" = "/": the real /proc and /sys; tests pass a directory laid
// out the same way): the affinity mask's CPUs (`affinity_cpus`, 0 = unknown: hardware_concurrency), capped by the
// lowest quota along the process's cgroup path. At least 1.
int UsableCpus(int affinity_cpus, const std::string& root = "");
// UsableCpus of this process: its affinity mask, the real /proc and /sys.
int UsableCpus();

}  // namespace tact::ops
