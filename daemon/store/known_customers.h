// The customers whose keys this process has lately read or written, each until its key expires: compare_and_set's
// guess of which customers of a call are new (redis_cas_checks.cc). A customer it does not know is decided as new
// before its key is read, and its key created in the read's round-trip; one it knows is read first (WATCH, MGET, then
// MULTI/EXEC). Only a hint: a wrong guess costs Redis more CPU (docs/benchmarks.md, "store.guess_new"), never a wrong
// decision. When most of the known customers read lately had no key (a flushed, evicted or restarted Redis), the store
// forgets them all (Forget): they are guessed as any customer it does not know.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/hash/hash.h"

namespace tact::store {

// A direct-mapped table of key hashes and when each key expires: a key is known when its slot holds its hash (of this
// generation) and its time has not passed. A key written over by another one of the same slot, never seen, or seen
// before the last Forget, is not known; a key gone from Redis before its time (deleted, evicted, flushed) still is,
// until the store sees that of most and forgets (NewCustomerShare).
// Thread-safe, lock-free (a slot's hash and time are read apart: a torn read is a wrong hint). kSlots * 16 bytes.
class KnownCustomers {
 public:
  static constexpr size_t kSlots = size_t{1} << 18;  // 4 MiB (a power of two, at most 2^32)

  KnownCustomers() : slots_(std::make_unique<Slot[]>(kSlots)) {}

  bool Known(std::string_view key, int64_t now_ms) const {
    const uint64_t h = Hash(key, generation_.load(std::memory_order_relaxed));
    const Slot& s = slots_[SlotOf(h)];
    return s.hash.load(std::memory_order_relaxed) == h && s.until_ms.load(std::memory_order_relaxed) > now_ms;
  }
  // `key` exists in Redis until `until_ms` (read, or written with that expiry).
  void Saw(std::string_view key, int64_t until_ms) {
    const uint64_t h = Hash(key, generation_.load(std::memory_order_relaxed));
    Slot& s = slots_[SlotOf(h)];
    s.hash.store(h, std::memory_order_relaxed);
    s.until_ms.store(until_ms, std::memory_order_relaxed);
  }
  // Every key seen so far is not known any more (each one's hash is of an older generation); those seen from now on
  // are. O(1): nothing is cleared.
  void Forget() { generation_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<uint64_t> hash{0};
    std::atomic<int64_t> until_ms{0};
  };
  static uint64_t Hash(std::string_view key, uint64_t generation) {
    return absl::HashOf(key, generation) | 1;  // never 0, an empty slot's
  }
  static size_t SlotOf(uint64_t h) { return static_cast<size_t>(h >> 32) & (kSlots - 1); }  // not the forced bit

  std::unique_ptr<Slot[]> slots_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace tact::store
