#pragma once

// Redis Cluster's routing rules, pure (no I/O): the slot of a key, the slot map a node reports, and what a
// redirection error says. RedisCluster (redis_cluster.h) does the I/O on top of these.
#include <hiredis/hiredis.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tact::store {

inline constexpr int kClusterSlots = 16384;

// CRC16/XMODEM (poly 0x1021, init 0), the checksum Redis Cluster hashes keys with.
uint16_t Crc16Xmodem(std::string_view data);

// The part of `key` that is hashed: the text between the first '{' and the first '}' after it when that is not
// empty, else the whole key (Redis' keyHashSlot).
std::string_view HashTag(std::string_view key);

// The slot of `key`, as CLUSTER KEYSLOT answers: CRC16(HashTag(key)) mod 16384.
int KeySlot(std::string_view key);

// The slot of every key that starts with `prefix`, when the prefix settles it: it holds a '{' and, after at
// least one character, a '}' (a whole, non-empty hash tag), as every prefix of CustomerPrefixes (keys.h) does.
// nullopt when a key's suffix could still change its tag (no '{', no '}' after it, or an empty tag "{}": the whole
// key is hashed): such keys may be in any slot.
std::optional<int> PrefixSlot(std::string_view prefix);

// The first key of a command in Redis' wire format whose first key is its fourth argument (EVAL / EVALSHA
// <script> <numkeys> <key> ...): the key to route it by. nullopt when the command has no key there.
std::optional<std::string_view> FirstEvalKey(std::string_view wire);

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string ToString() const;  // "host:port"
  bool operator==(const NodeAddress&) const = default;
};

// "host:port" (the last ':' separates the port, so an IPv6 host keeps its colons).
std::optional<NodeAddress> ParseNodeAddress(std::string_view text);

// One range of slots and the master serving it (then its replicas), as CLUSTER SLOTS reports it.
struct SlotRange {
  int first = 0;
  int last = 0;
  NodeAddress master;
  std::vector<NodeAddress> replicas;
};

// CLUSTER SLOTS' reply: an array of [first, last, [host, port, id, ...], replica...]. A node reported with an
// empty host ("" or "?") is at the address the reply came from (`from`'s host). INTERNAL naming what is wrong.
absl::StatusOr<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply, const NodeAddress& from);

// Which master serves each slot. Immutable once built; any thread.
class SlotMap {
 public:
  SlotMap();
  // INVALID_ARGUMENT when a range is out of bounds.
  static absl::StatusOr<SlotMap> FromRanges(const std::vector<SlotRange>& ranges);
  // The master of `slot`, or nullptr when no node serves it (a cluster still being set up, or down).
  const NodeAddress* Owner(int slot) const;
  // Every master, then every replica, each once.
  const std::vector<NodeAddress>& masters() const { return masters_; }
  const std::vector<NodeAddress>& replicas() const { return replicas_; }
  // Slots with no master.
  int unserved() const;

 private:
  std::vector<NodeAddress> masters_;
  std::vector<NodeAddress> replicas_;
  std::array<int16_t, kClusterSlots> owner_;  // index into masters_, -1 = none
};

// What an error reply tells the client to do (Redis Cluster specification, "Redirection and resharding").
struct Redirection {
  enum class Kind { kNone, kMoved, kAsk, kTryAgain, kClusterDown };
  Kind kind = Kind::kNone;
  int slot = -1;       // MOVED / ASK
  NodeAddress target;  // MOVED / ASK
};

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381", "TRYAGAIN ...", "CLUSTERDOWN ...". Anything else
// (including a malformed MOVED) is kNone.
Redirection ParseRedirection(std::string_view error);

// The metric label of a redirection kind: moved, ask, tryagain, clusterdown ("" for kNone).
std::string_view RedirectionKindName(Redirection::Kind kind);

}  // namespace tact::store
