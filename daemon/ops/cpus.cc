#include "daemon/ops/cpus.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/core/strings.h"

namespace tact::ops {
namespace {

// A whole number, surrounding whitespace (a file's newline) allowed, as absl::SimpleAtoi reads it.
std::optional<long long> Whole(absl::string_view text) {
  long long v = 0;
  if (!absl::SimpleAtoi(text, &v)) return std::nullopt;
  return v;
}

std::optional<int> QuotaCpus(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<int>(std::max<long long>(1, (quota + period - 1) / period));
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `path` and each of its parents up to "/" (cgroup limits nest: the lowest applies).
std::vector<std::string> SelfAndParents(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path != "/") {
    out.push_back(path);
    const size_t slash = path.find_last_of('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  out.push_back("");
  return out;
}

}  // namespace

std::optional<int> CpusOfCgroupV2Max(std::string_view cpu_max) {
  const std::vector<absl::string_view> parts = absl::StrSplit(absl::StripAsciiWhitespace(AsAbsl(cpu_max)), ' ');
  if (parts.size() != 2 || parts[0] == "max") return std::nullopt;
  const std::optional<long long> quota = Whole(parts[0]), period = Whole(parts[1]);
  if (!quota || !period) return std::nullopt;
  return QuotaCpus(*quota, *period);
}

std::optional<int> CpusOfCgroupV1Quota(std::string_view quota_us, std::string_view period_us) {
  const std::optional<long long> quota = Whole(AsAbsl(quota_us)), period = Whole(AsAbsl(period_us));
  if (!quota || !period) return std::nullopt;
  return QuotaCpus(*quota, *period);
}

CgroupPaths ParseProcCgroup(std::string_view proc_self_cgroup) {
  CgroupPaths out;
  for (absl::string_view line : absl::StrSplit(AsAbsl(proc_self_cgroup), '\n')) {
    // "<hierarchy id>:<controllers>:<path>"; the path may hold ':' itself
    const size_t a = line.find(':');
    const size_t b = a == absl::string_view::npos ? a : line.find(':', a + 1);
    if (b == absl::string_view::npos) continue;
    const absl::string_view id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    const std::string path(line.substr(b + 1));
    if (id == "0" && controllers.empty()) {
      out.v2 = path;
    } else {
      for (absl::string_view controller : absl::StrSplit(controllers, ',')) {
        if (controller == "cpu") out.v1_cpu = path;
      }
    }
  }
  return out;
}

int UsableCpus(int affinity_cpus, const std::string& root) {
  int cpus = affinity_cpus > 0 ? affinity_cpus : static_cast<int>(std::thread::hardware_concurrency());
  cpus = std::max(1, cpus);
  const CgroupPaths paths = ParseProcCgroup(ReadFile(root + "/proc/self/cgroup").value_or(""));
  const auto cap = [&](std::optional<int> quota) {
    if (quota) cpus = std::min(cpus, *quota);
  };
  // v2: the unified hierarchy; inside a cgroup namespace the path is "/" and the limit is at the mount's root.
  if (!paths.v2.empty() || paths.v1_cpu.empty()) {
    for (const std::string& dir : SelfAndParents(paths.v2)) {
      if (std::optional<std::string> max = ReadFile(root + "/sys/fs/cgroup" + dir + "/cpu.max")) {
        cap(CpusOfCgroupV2Max(*max));
      }
    }
  }
  // v1: the cpu controller's own hierarchy (mounted as cpu or cpu,cpuacct).
  if (!paths.v1_cpu.empty()) {
    for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      for (const std::string& dir : SelfAndParents(paths.v1_cpu)) {
        const std::optional<std::string> quota = ReadFile(root + mount + dir + "/cpu.cfs_quota_us");
        const std::optional<std::string> period = ReadFile(root + mount + dir + "/cpu.cfs_period_us");
        if (quota && period) cap(CpusOfCgroupV1Quota(*quota, *period));
      }
    }
  }
  return cpus;
}

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int affinity = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  return UsableCpus(affinity);
}

}  // namespace tact::ops
