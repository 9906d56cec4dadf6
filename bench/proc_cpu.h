#pragma once

// CPU time of a process, for the benchmarks' per-event and per-call CPU figures.

#include <sys/types.h>
#include <unistd.h>

#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace tact::bench {

// CPU time (user + system, every thread) of a process in microseconds; pid 0 = this process. From its CPU clock
// (clock_getcpuclockid: nanoseconds), else utime + stime of /proc/<pid>/stat (fields 14 and 15, clock ticks of
// 10 ms: at 20,000 events that is 0.5 us per event, as coarse as a whole pass-through's cost).
// 0 when it cannot be read (the process is gone).
inline double CpuMicros(pid_t pid) {
  clockid_t clock = CLOCK_PROCESS_CPUTIME_ID;
  timespec ts{};
  if ((pid == 0 || clock_getcpuclockid(pid, &clock) == 0) && clock_gettime(clock, &ts) == 0) {
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  }
  const std::string path = pid == 0 ? "/proc/self/stat" : "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and parentheses
  unsigned long long ut = 0, st = 0;
  if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
    return 0;
  }
  return static_cast<double>(ut + st) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace tact::bench
