#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "daemon/pipeline/delivery_ledger.h"

namespace tact::pipeline {

// Which input offsets may be stored: only a contiguous run of fully handled offsets advances a partition,
// because outputs to several topics are acknowledged out of order and only greater offsets are committed.
// Pure; pipeline thread only.
class OffsetTracker {
 public:
  void Begin(const TopicPartition& tp, int64_t offset) { parts_[tp].emplace(offset, false); }

  // Marks `offset` done. Returns the offset to store (last contiguous done + 1) when it advanced.
  std::optional<int64_t> Ack(const TopicPartition& tp, int64_t offset) {
    auto p = parts_.find(tp);
    if (p == parts_.end()) {
      return std::nullopt;  // revoked meanwhile
    }
    auto& pending = p->second;
    if (auto it = pending.find(offset); it != pending.end()) {
      it->second = true;
    }
    std::optional<int64_t> next;
    while (!pending.empty() && pending.begin()->second) {
      next = pending.begin()->first + 1;
      pending.erase(pending.begin());
    }
    return next;
  }

  size_t InFlight(const TopicPartition& tp) const {
    auto p = parts_.find(tp);
    return p == parts_.end() ? 0 : p->second.size();
  }
  size_t InFlight() const {
    size_t n = 0;
    for (const auto& [tp, pending] : parts_) {
      n += pending.size();
    }
    return n;
  }
  void Forget(const TopicPartition& tp) { parts_.erase(tp); }

 private:
  std::map<TopicPartition, std::map<int64_t, bool>> parts_;
};

}  // namespace tact::pipeline
