#pragma once

// What the decision tests share: a policy of two proactive messages a week, and events of one customer.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/core/event.h"
#include "daemon/policy/parse.h"
#include "tests/support/events.h"

namespace tact::decision::test_support {

inline constexpr char kTwoPerWeekPolicy[] = R"(
version: "v1"
rules:
  - id: proactive-2
    description: two proactive emails per week
    match: { message_class: [PROACTIVE_SERVICE, TRANSACTIONAL] }
    limit: { count: 2, window: 7d }
)";

inline std::shared_ptr<const policy::Policy> ParseTestPolicy(const std::string& yaml) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"p.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return std::make_shared<const policy::Policy>(p.ok() ? *std::move(p) : policy::Policy());
}

// An email of `cls` to maria@example.com of tenant acme.
inline Event MakeEvent(std::string id, MessageClass cls = v1::PROACTIVE_SERVICE) {
  return testing::MakeEvent({.event_id = std::move(id), .customer_id = "maria@example.com", .message_class = cls});
}

}  // namespace tact::decision::test_support
