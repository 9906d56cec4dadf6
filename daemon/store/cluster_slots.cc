#include "daemon/store/cluster_slots.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::store {

uint16_t Crc16Xmodem(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int KeySlot(std::string_view key) { return Crc16Xmodem(HashTag(key)) & (kClusterSlots - 1); }

std::optional<int> PrefixSlot(std::string_view prefix) {
  const size_t open = prefix.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  const size_t close = prefix.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return std::nullopt;
  return KeySlot(prefix);
}

namespace {

// Reads "<prefix><decimal>\r\n" at `at`; advances past it.
std::optional<size_t> ReadLength(std::string_view wire, char prefix, size_t& at) {
  if (at >= wire.size() || wire[at] != prefix) return std::nullopt;
  const size_t end = wire.find("\r\n", at);
  size_t n = 0;
  if (end == std::string_view::npos || !absl::SimpleAtoi(AsAbsl(wire.substr(at + 1, end - at - 1)), &n)) {
    return std::nullopt;
  }
  at = end + 2;
  return n;
}

std::optional<std::string_view> ReadBulk(std::string_view wire, size_t& at) {
  const std::optional<size_t> n = ReadLength(wire, '$', at);
  if (!n || at + *n + 2 > wire.size()) return std::nullopt;
  const std::string_view out = wire.substr(at, *n);
  at += *n + 2;
  return out;
}

std::string_view Text(const redisReply& r) { return std::string_view(r.str, r.len); }

absl::StatusOr<NodeAddress> ParseNode(const redisReply& r, const NodeAddress& from) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 2 || r.element[0]->type != REDIS_REPLY_STRING ||
      r.element[1]->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError("redis CLUSTER SLOTS: malformed node entry");
  }
  NodeAddress node{.host = std::string(Text(*r.element[0])), .port = static_cast<int>(r.element[1]->integer)};
  if (node.host.empty() || node.host == "?") node.host = from.host;
  return node;
}

}  // namespace

std::optional<std::string_view> FirstEvalKey(std::string_view wire) {
  size_t at = 0;
  const std::optional<size_t> args = ReadLength(wire, '*', at);
  if (!args || *args < 4) return std::nullopt;
  std::optional<std::string_view> arg;
  for (int i = 0; i < 4; ++i) {
    arg = ReadBulk(wire, at);
    if (!arg) return std::nullopt;
    if (i == 2 && (*arg == "0" || arg->empty())) return std::nullopt;  // numkeys 0
  }
  return arg;
}

std::string NodeAddress::ToString() const { return absl::StrCat(host, ":", port); }

std::optional<NodeAddress> ParseNodeAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 || !absl::SimpleAtoi(AsAbsl(text.substr(colon + 1)), &port) ||
      port <= 0 || port > 65535) {
    return std::nullopt;
  }
  // Redis 7 may append "@<cluster bus port>" in CLUSTER NODES, never in a redirection; accept only host:port.
  return NodeAddress{.host = std::string(text.substr(0, colon)), .port = port};
}

absl::StatusOr<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply, const NodeAddress& from) {
  if (reply.type != REDIS_REPLY_ARRAY) return absl::InternalError("redis CLUSTER SLOTS: not an array");
  std::vector<SlotRange> out;
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply& e = *reply.element[i];
    if (e.type != REDIS_REPLY_ARRAY || e.elements < 3 || e.element[0]->type != REDIS_REPLY_INTEGER ||
        e.element[1]->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError("redis CLUSTER SLOTS: malformed range entry");
    }
    SlotRange range{.first = static_cast<int>(e.element[0]->integer), .last = static_cast<int>(e.element[1]->integer)};
    absl::StatusOr<NodeAddress> master = ParseNode(*e.element[2], from);
    if (!master.ok()) return master.status();
    range.master = *std::move(master);
    for (size_t j = 3; j < e.elements; ++j) {
      absl::StatusOr<NodeAddress> replica = ParseNode(*e.element[j], from);
      if (!replica.ok()) return replica.status();
      range.replicas.push_back(*std::move(replica));
    }
    out.push_back(std::move(range));
  }
  return out;
}

SlotMap::SlotMap() { owner_.fill(-1); }

absl::StatusOr<SlotMap> SlotMap::FromRanges(const std::vector<SlotRange>& ranges) {
  SlotMap map;
  auto index_of = [](std::vector<NodeAddress>& list, const NodeAddress& n) {
    auto it = std::find(list.begin(), list.end(), n);
    if (it != list.end()) return static_cast<int16_t>(it - list.begin());
    list.push_back(n);
    return static_cast<int16_t>(list.size() - 1);
  };
  for (const SlotRange& r : ranges) {
    if (r.first < 0 || r.last >= kClusterSlots || r.first > r.last) {
      return absl::InvalidArgumentError(absl::StrCat("redis CLUSTER SLOTS: range ", r.first, "-", r.last,
                                                     " outside 0-", kClusterSlots - 1));
    }
    const int16_t owner = index_of(map.masters_, r.master);
    std::fill(map.owner_.begin() + r.first, map.owner_.begin() + r.last + 1, owner);
  }
  for (const SlotRange& r : ranges) {
    for (const NodeAddress& replica : r.replicas) {
      if (std::find(map.masters_.begin(), map.masters_.end(), replica) == map.masters_.end()) {
        index_of(map.replicas_, replica);
      }
    }
  }
  return map;
}

const NodeAddress* SlotMap::Owner(int slot) const {
  if (slot < 0 || slot >= kClusterSlots || owner_[slot] < 0) return nullptr;
  return &masters_[static_cast<size_t>(owner_[slot])];
}

int SlotMap::unserved() const { return static_cast<int>(std::count(owner_.begin(), owner_.end(), int16_t{-1})); }

Redirection ParseRedirection(std::string_view error) {
  Redirection r;
  if (error.starts_with("TRYAGAIN")) {
    r.kind = Redirection::Kind::kTryAgain;
    return r;
  }
  if (error.starts_with("CLUSTERDOWN")) {
    r.kind = Redirection::Kind::kClusterDown;
    return r;
  }
  const bool moved = error.starts_with("MOVED ");
  const bool ask = error.starts_with("ASK ");
  if (!moved && !ask) return r;
  const std::string_view rest = error.substr(moved ? 6 : 4);
  const size_t space = rest.find(' ');
  int slot = -1;
  if (space == std::string_view::npos || !absl::SimpleAtoi(AsAbsl(rest.substr(0, space)), &slot) || slot < 0 ||
      slot >= kClusterSlots) {
    return r;
  }
  std::optional<NodeAddress> target = ParseNodeAddress(rest.substr(space + 1));
  if (!target) return r;
  r.kind = moved ? Redirection::Kind::kMoved : Redirection::Kind::kAsk;
  r.slot = slot;
  r.target = *std::move(target);
  return r;
}

std::string_view RedirectionKindName(Redirection::Kind kind) {
  switch (kind) {
    case Redirection::Kind::kMoved: return "moved";
    case Redirection::Kind::kAsk: return "ask";
    case Redirection::Kind::kTryAgain: return "tryagain";
    case Redirection::Kind::kClusterDown: return "clusterdown";
    case Redirection::Kind::kNone: return "";
  }
  return "";
}

}  // namespace tact::store
