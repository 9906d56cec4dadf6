#pragma once

// Reading tactd's Prometheus metrics back from a registry in tests.
#include <string_view>

#include "prometheus/registry.h"

namespace tact::testing {

// The sum of the counters named `name` whose label `label` has `value` (0 when there is none).
inline double CounterSum(prometheus::Registry& registry, std::string_view name, std::string_view label,
                         std::string_view value) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == label && l.value == value) total += m.counter.value;
      }
    }
  }
  return total;
}

}  // namespace tact::testing
