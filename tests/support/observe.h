#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tact::testing {

// The offsets consumer group `group` has committed for partitions 0..partitions-1 of `topic` (-1: none yet);
// empty when the broker did not answer. Uses a consumer that never joins the group.
std::vector<int64_t> CommittedOffsets(const std::string& brokers, const std::string& group, const std::string& topic,
                                      int partitions);

}  // namespace tact::testing
