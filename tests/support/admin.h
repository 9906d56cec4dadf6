#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace tact::testing {

// GET http://127.0.0.1:<port><path>; status 0 when nothing answered.
struct HttpReply {
  int status = 0;
  std::string body;
};
HttpReply HttpGet(int port, const std::string& path);

// The value of the series `name` in a Prometheus text exposition whose labels include every one of `labels`;
// nullopt if absent.
std::optional<double> MetricSample(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

// The metric `name` on tactd's admin port (0 when absent or unreachable).
double Metric(int admin_port, const std::string& name, const std::map<std::string, std::string>& labels = {});

// Moves tactd's test clock (--test-clock-offset-file): wall time = real time + `offset`.
void WriteClockOffset(const std::string& path, absl::Duration offset);

}  // namespace tact::testing
