// How many of the customers compare_and_set read lately had no key (redis_cas_checks.cc). Of those it did not know
// (KnownCustomers): whether deciding them as new before their keys are read, and creating them in the read's
// round-trip, pays. For a new customer the guess saves the second round-trip; for a returning one it costs a SET NX
// that does nothing and a cas.lua write where MULTI/EXEC would have done: about 1.1 us of Redis CPU saved per new
// customer against 4 us lost per returning one, in batches of 32 (docs/benchmarks.md, "store.guess_new"). Of those it
// knew: whether their keys are gone (a flushed Redis), so that it should forget them (KnownCustomers::Forget).
#pragma once

#include <atomic>
#include <cstdint>

namespace tact::store {

// A decaying count of customers read and of those read without a key, shared by the calls of one store.
// Thread-safe, lock-free; an estimate, not an exact share.
class NewCustomerShare {
 public:
  // The counts are halved each time the customers read pass `window`: the share follows the last `window` or so.
  static constexpr uint32_t kWindow = 4096;

  // `at_first`: Guess() before any customer was read (and after Reset).
  explicit NewCustomerShare(bool at_first = true, uint32_t window = kWindow) : at_first_(at_first), window_(window) {}

  // One call read `read` customers; `none` of them had no key.
  void Saw(uint32_t none, uint32_t read) {
    uint64_t was = counts_.load(std::memory_order_relaxed);
    uint64_t now;
    do {
      uint64_t n = (was >> 32) + none;
      uint64_t r = (was & 0xffffffffu) + read;
      while (r > window_) {
        n /= 2;
        r /= 2;
      }
      now = (n << 32) | r;
    } while (!counts_.compare_exchange_weak(was, now, std::memory_order_relaxed));
  }

  // Whether at least three quarters of the customers read lately had no key (`at_first` before any was read):
  // below about 0.78 the guess costs returning customers more than it saves new ones (store.guess_new, batches of 32).
  bool Guess() const {
    const uint64_t c = counts_.load(std::memory_order_relaxed);
    if ((c & 0xffffffffu) == 0) return at_first_;
    return 4 * (c >> 32) >= 3 * (c & 0xffffffffu);
  }
  // How many customers the share is of: those read since the start or the last Reset, halved with the counts.
  uint32_t Count() const { return static_cast<uint32_t>(counts_.load(std::memory_order_relaxed) & 0xffffffffu); }
  // Back to nothing read.
  void Reset() { counts_.store(0, std::memory_order_relaxed); }

 private:
  const bool at_first_;
  const uint32_t window_;
  std::atomic<uint64_t> counts_{0};  // high 32 bits: read without a key; low 32: read
};

}  // namespace tact::store
