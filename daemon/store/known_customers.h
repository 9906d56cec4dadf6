// The customers whose keys this process has lately read or written: compare_and_set's guess of which customers of a
// call are new (redis_cas_checks.cc). A customer it does not know is decided as new before its key is read, and its
// key created in the read's round-trip; one it knows is read first (WATCH, MGET, then MULTI/EXEC). Only a hint: a
// wrong guess costs Redis more CPU (docs/benchmarks.md, "store.guess_new"), never a wrong decision.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/hash/hash.h"

namespace tact::store {

// A direct-mapped table of key hashes: a key is known when its slot holds its hash. A key written over by another
// one of the same slot, or never seen, is not known; a key gone from Redis (expired, forgotten) may still be.
// Thread-safe, lock-free. kSlots * 8 bytes (2 MiB).
class KnownCustomers {
 public:
  static constexpr size_t kSlots = size_t{1} << 18;

  KnownCustomers() : slots_(std::make_unique<std::atomic<uint64_t>[]>(kSlots)) {}

  bool Known(std::string_view key) const {
    const uint64_t h = Hash(key);
    return slots_[h & (kSlots - 1)].load(std::memory_order_relaxed) == h;
  }
  // `key` exists in Redis now (read, or written).
  void Saw(std::string_view key) {
    const uint64_t h = Hash(key);
    slots_[h & (kSlots - 1)].store(h, std::memory_order_relaxed);
  }

 private:
  static uint64_t Hash(std::string_view key) { return absl::HashOf(key) | 1; }  // never 0, an empty slot's

  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace tact::store
