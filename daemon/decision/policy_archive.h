#pragma once

// The policies decision markers refer to ("m4;" markers store a policy digest, not the plan: marker.h), kept so a
// redelivered event gets its earlier decision back after a policy reload, a restart or on another tactd instance.
// In memory: the policies this process activated or found, by digest (the last `capacity`). In the counter store
// (CounterStore::PutArchived, name = the digest): the files of every policy tactd activated, encoded "a1;"
// (EncodeArchivedFiles), for `ttl` (longer than the markers that may name it: redis.seen_ttl + 24h), put again
// every `refresh_every` while the policy is in force, so it outlives every marker written under it.
#include <atomic>
#include <cstddef>
#include <optional>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/policy/parse.h"
#include "daemon/policy/policy.h"
#include "daemon/store/counter_store.h"

namespace tact::decision {

struct PolicyArchiveOptions {
  absl::Duration ttl = store::kDefaultSeenTtl + absl::Hours(24);  // redis.seen_ttl + 24h
  absl::Duration refresh_every = absl::Hours(1);                  // the policy in force is put again this often
  absl::Duration retry_after = absl::Seconds(10);                 // after a failed put
  absl::Duration deadline = absl::Seconds(1);                     // of one store call
  absl::Duration not_found_for = absl::Seconds(10);  // a digest the store did not have is not asked for again
  size_t capacity = 16;                              // policies kept in memory
};

// The policy files as archived: "a1;" n; then per file path str, text str (core/token_codec.h), and back.
std::string EncodeArchivedFiles(const std::vector<policy::PolicyFile>& files);
absl::StatusOr<std::vector<policy::PolicyFile>> DecodeArchivedFiles(std::string_view text);

// Thread-safety: Find from any thread (decision workers, gRPC handlers); Remember from the reload thread
// (PolicyReloader, under its lock); Refresh from one thread (tactd's health and reload thread); AttachStore once,
// before any of them runs on another thread. Store calls are made without the lock held.
class PolicyArchive {
 public:
  PolicyArchive(const Clock& clock, PolicyArchiveOptions options = {});

  // The store the files are put in and read from; until then (and when it has no archive: UNIMPLEMENTED), only
  // the policies in memory are found.
  void AttachStore(store::CounterStore* store);

  // `policy`, just activated from `files`, is the one in force: kept in memory, and put in the store by the next
  // Refresh. Memory only (no I/O).
  void Remember(std::shared_ptr<const policy::Policy> policy, std::vector<policy::PolicyFile> files)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Puts the policy in force in the store when it was never put, its last put is `refresh_every` old, or a failed
  // put is `retry_after` old. A failure is logged (the digest and the error: no customer data) and retried; a store
  // without an archive (UNIMPLEMENTED) is said once and asked again every `refresh_every`.
  // Returns the put's status (OK when nothing was due).
  absl::Status Refresh() ABSL_LOCKS_EXCLUDED(mu_);

  // The policy whose digest is `digest`: in memory, else read from the store, parsed (policy::ParsePolicy) and
  // checked to have that digest. nullptr when it is nowhere (not stored, expired, unreadable, the store failing:
  // then the caller decides without it). Parsing happens at most once per digest kept in memory.
  std::shared_ptr<const policy::Policy> Find(std::string_view digest) ABSL_LOCKS_EXCLUDED(mu_);

  // How many puts succeeded and failed, and how many Finds read the store (tests).
  struct Counts {
    int64_t puts = 0;
    int64_t put_failures = 0;
    int64_t store_reads = 0;
  };
  Counts counts() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void KeepLocked(std::shared_ptr<const policy::Policy> policy) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const policy::Policy> ReadFromStore(store::CounterStore& store, std::string_view digest);

  const Clock& clock_;
  const PolicyArchiveOptions options_;
  std::atomic<store::CounterStore*> store_{nullptr};
  mutable absl::Mutex mu_;
  // Newest last; at most options_.capacity.
  std::deque<std::shared_ptr<const policy::Policy>> kept_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time, std::less<>> not_found_ ABSL_GUARDED_BY(mu_);  // digest → when asked
  // The policy in force: its digest and archived text, and when it was last put (or last tried).
  std::string active_digest_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> active_text_ ABSL_GUARDED_BY(mu_);
  absl::Time put_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool put_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool said_unimplemented_ ABSL_GUARDED_BY(mu_) = false;
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::decision
