#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tact::testing {

// tactd's /metrics page on its admin port ("" when it does not answer).
std::string AdminMetrics(int admin_port);

// The value of the series `name` whose labels include every one of `labels` in a Prometheus text page.
std::optional<double> MetricSample(const std::string& page, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

// The offsets consumer group `group` has committed for partitions 0..partitions-1 of `topic` (-1: none yet);
// empty when the broker did not answer. Uses a consumer that never joins the group.
std::vector<int64_t> CommittedOffsets(const std::string& brokers, const std::string& group, const std::string& topic,
                                      int partitions);

}  // namespace tact::testing
