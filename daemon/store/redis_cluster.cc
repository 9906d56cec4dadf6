#include "daemon/store/redis_cluster.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/redis_check_call.h"

namespace tact::store {
namespace {

constexpr int kMaxRounds = 8;                                  // sends of one command, redirections included
constexpr absl::Duration kMinRefreshInterval = absl::Milliseconds(100);  // between refreshes after failures
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(5);         // TRYAGAIN / CLUSTERDOWN

std::string_view ErrorText(const absl::StatusOr<RedisReplyPtr>& r) {
  if (!r.ok() || (*r)->type != REDIS_REPLY_ERROR) return {};
  return std::string_view((*r)->str, (*r)->len);
}

const RedisCommand& AskingCommand() {
  static const RedisCommand asking({"ASKING"});
  return asking;
}

}  // namespace

// One node's connection pool: idle connections, and a backoff while it does not accept connections.
class RedisCluster::Node {
 public:
  Node(NodeAddress address, const RedisClusterSettings& settings, const Clock& clock, const OnConnect& on_connect)
      : address_(std::move(address)),
        name_(address_.ToString()),
        settings_(settings),
        clock_(clock),
        on_connect_(on_connect),
        connector_(address_.host, address_.port, settings.tls, settings.auth) {}

  const NodeAddress& address() const { return address_; }
  const std::string& name() const { return name_; }

  // An idle connection or a new one (connect, AUTH, on_connect), with the time left until `deadline` as its I/O
  // timeout.
  absl::StatusOr<RedisConnectionPtr> Borrow(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    const absl::Duration budget = deadline - clock_.Now();
    if (budget <= absl::ZeroDuration()) return absl::DeadlineExceededError("deadline passed before the store call");
    RedisConnectionPtr conn;
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else if (clock_.Now() < next_connect_attempt_) {
        return absl::UnavailableError(absl::StrCat("redis node ", name_, " unreachable (reconnect backing off)"));
      }
    }
    if (conn == nullptr) {
      absl::StatusOr<RedisConnectionPtr> made = connector_.Connect(std::min(budget, settings_.connect_timeout));
      absl::Status s = made.status();
      if (s.ok() && on_connect_) s = on_connect_(**made);
      if (!s.ok()) {
        Failed();
        return absl::UnavailableError(absl::StrCat("redis node ", name_, ": ", s.message()));
      }
      absl::MutexLock lock(&mu_);
      backoff_ = absl::ZeroDuration();
      next_connect_attempt_ = absl::InfinitePast();
      conn = *std::move(made);
    }
    const absl::Duration remaining = deadline - clock_.Now();
    if (remaining <= absl::ZeroDuration()) {
      Return(std::move(conn));
      return absl::DeadlineExceededError("deadline passed while connecting to the store");
    }
    if (absl::Status s = conn->SetTimeout(remaining); !s.ok()) return s;
    return conn;
  }

  void Return(RedisConnectionPtr conn) ABSL_LOCKS_EXCLUDED(mu_) {
    if (conn == nullptr || conn->broken()) return;  // a connection that saw an I/O error is dropped
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(idle_.size()) < settings_.pool_size) idle_.push_back(std::move(conn));
  }

  // The node did not answer: back off new connections, and refresh from it last.
  void Failed() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(50), settings_.max_reconnect_backoff);
    next_connect_attempt_ = clock_.Now() + backoff_;
    last_failure_ = clock_.Now();
  }
  absl::Time last_failure() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return last_failure_;
  }

 private:
  const NodeAddress address_;
  const std::string name_;
  const RedisClusterSettings& settings_;
  const Clock& clock_;
  const OnConnect& on_connect_;
  RedisConnector connector_;
  absl::Mutex mu_;
  std::vector<RedisConnectionPtr> idle_ ABSL_GUARDED_BY(mu_);
  absl::Time next_connect_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time last_failure_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The commands one round sends to one node, in order; `asking` = preceded by ASKING.
struct RedisCluster::Batch {
  Node* node = nullptr;
  std::vector<size_t> items;
  std::vector<bool> asking;
};

RedisCluster::RedisCluster(RedisClusterSettings settings, const Clock& clock, OnConnect on_connect)
    : settings_(std::move(settings)),
      clock_(clock),
      on_connect_(std::move(on_connect)),
      log_(clock, absl::Seconds(30)) {}

RedisCluster::~RedisCluster() = default;

RedisCluster::Node& RedisCluster::NodeAt(const NodeAddress& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Node>& node = nodes_[address.ToString()];
  if (node == nullptr) node = std::make_unique<Node>(address, settings_, clock_, on_connect_);
  return *node;
}

std::shared_ptr<const SlotMap> RedisCluster::Map() {
  absl::MutexLock lock(&mu_);
  return map_;
}

void RedisCluster::MarkStale() {
  absl::MutexLock lock(&mu_);
  stale_ = true;
}

void RedisCluster::Count(const NodeAddress& node, bool ok) {
  if (settings_.stats == nullptr) return;
  const std::string name = node.ToString();
  settings_.stats->redis_node_calls_total.Inc({name});
  if (!ok) settings_.stats->redis_node_errors_total.Inc({name});
  settings_.stats->redis_node_up.Set({name}, ok ? 1 : 0);
}

absl::Status RedisCluster::Refresh(absl::Time deadline) {
  absl::MutexLock one_at_a_time(&refresh_mu_);
  std::vector<NodeAddress> candidates;
  if (std::shared_ptr<const SlotMap> map = Map(); map != nullptr) {
    candidates = map->masters();
    candidates.insert(candidates.end(), map->replicas().begin(), map->replicas().end());
  }
  for (const NodeAddress& seed : settings_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
  }
  std::vector<std::pair<absl::Time, Node*>> order;
  for (const NodeAddress& c : candidates) {
    Node& node = NodeAt(c);
    order.emplace_back(node.last_failure(), &node);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  absl::Status last = absl::UnavailableError("redis cluster: no node to read the slot map from");
  for (const auto& [unused, node] : order) {
    const absl::Time until = std::min(deadline, clock_.Now() + settings_.connect_timeout);
    if (until <= clock_.Now()) break;
    absl::StatusOr<RedisConnectionPtr> conn = node->Borrow(until);
    if (!conn.ok()) {
      last = conn.status();
      continue;
    }
    absl::StatusOr<RedisReplyPtr> reply = (*conn)->Command({"CLUSTER", "SLOTS"}, "CLUSTER SLOTS");
    if (!reply.ok()) {
      node->Failed();
      last = reply.status();
      continue;
    }
    node->Return(*std::move(conn));
    absl::StatusOr<std::vector<SlotRange>> ranges = ParseClusterSlots(**reply, node->address());
    absl::StatusOr<SlotMap> map = ranges.ok() ? SlotMap::FromRanges(*ranges) : absl::StatusOr<SlotMap>(ranges.status());
    if (!map.ok() || map->masters().empty()) {
      last = map.ok() ? absl::UnavailableError("redis cluster: CLUSTER SLOTS names no node") : map.status();
      continue;
    }
    absl::MutexLock lock(&mu_);
    map_ = std::make_shared<const SlotMap>(*std::move(map));
    stale_ = false;
    if (settings_.stats != nullptr) settings_.stats->redis_slot_map_refreshes_total.Inc({});
    return absl::OkStatus();
  }
  log_.Log(ops::LogLevel::kWarning, "store.redis_cluster_refresh_failed", "refresh",
           {{"error", std::string(last.message())}});
  return last;
}

void RedisCluster::RefreshIfStale(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (map_ != nullptr && (!stale_ || clock_.Now() - last_refresh_ < kMinRefreshInterval)) return;
    last_refresh_ = clock_.Now();
  }
  Refresh(deadline).IgnoreError();  // the old map (or none) stays; commands fail where it is wrong
}

void RedisCluster::RunRound(std::vector<Batch>& batches, std::span<const RedisCommand> commands, absl::Time deadline,
                            std::vector<absl::StatusOr<RedisReplyPtr>>& out, std::string_view what) {
  std::vector<RedisConnectionPtr> conns(batches.size());
  // Send to every node first, so the nodes run their commands in parallel.
  for (size_t b = 0; b < batches.size(); ++b) {
    Batch& batch = batches[b];
    absl::StatusOr<RedisConnectionPtr> conn = batch.node->Borrow(deadline);
    absl::Status sent = conn.status();
    if (conn.ok()) {
      for (size_t k = 0; k < batch.items.size(); ++k) {
        if (batch.asking[k]) AskingCommand().AppendTo(**conn);
        commands[batch.items[k]].AppendTo(**conn);
      }
      sent = (*conn)->Flush(what);
    }
    if (!sent.ok()) {
      for (size_t i : batch.items) out[i] = sent;
      if (conn.ok()) batch.node->Failed();  // (a failed connect counted itself)
      if (absl::IsUnavailable(sent)) {  // not for our own deadline: the node may be fine
        Count(batch.node->address(), false);
        MarkStale();
      }
      continue;
    }
    conns[b] = *std::move(conn);
  }
  for (size_t b = 0; b < batches.size(); ++b) {
    if (conns[b] == nullptr) continue;
    RedisConnection& c = *conns[b];
    Batch& batch = batches[b];
    absl::Status io;
    std::vector<size_t> noscript;
    for (size_t k = 0; k < batch.items.size(); ++k) {
      // Read exactly as many replies as were sent, or the stream is out of step.
      absl::StatusOr<RedisReplyPtr> asking = batch.asking[k] ? c.GetReply("ASKING") : RedisReplyPtr();
      absl::StatusOr<RedisReplyPtr> reply =
          asking.ok() ? c.GetReply(what) : absl::StatusOr<RedisReplyPtr>(asking.status());
      if (!reply.ok()) {
        io = reply.status();
        for (size_t rest = k; rest < batch.items.size(); ++rest) out[batch.items[rest]] = io;
        break;
      }
      if (ErrorText(reply).starts_with("NOSCRIPT") && on_connect_) {
        noscript.push_back(k);
      }
      out[batch.items[k]] = std::move(reply);
    }
    if (io.ok() && !noscript.empty()) {  // the node restarted or SCRIPT FLUSH: load once, send these again
      io = on_connect_(c);
      for (size_t k : noscript) {
        if (!io.ok()) break;
        if (batch.asking[k]) AskingCommand().AppendTo(c);
        commands[batch.items[k]].AppendTo(c);
      }
      for (size_t k : noscript) {
        absl::StatusOr<RedisReplyPtr> asking = !io.ok() || !batch.asking[k] ? RedisReplyPtr() : c.GetReply("ASKING");
        absl::StatusOr<RedisReplyPtr> reply = !io.ok()       ? absl::StatusOr<RedisReplyPtr>(io)
                                              : asking.ok() ? c.GetReply(what)
                                                            : absl::StatusOr<RedisReplyPtr>(asking.status());
        if (!reply.ok()) io = reply.status();
        out[batch.items[k]] = std::move(reply);
      }
    }
    if (!io.ok()) {
      batch.node->Failed();
      MarkStale();
    }
    Count(batch.node->address(), io.ok());
    batch.node->Return(std::move(conns[b]));
  }
}

std::vector<absl::StatusOr<RedisReplyPtr>> RedisCluster::Execute(std::span<const RedisCommand> commands,
                                                                 std::span<const int> slots, absl::Time deadline) {
  std::vector<absl::StatusOr<RedisReplyPtr>> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) out.emplace_back(absl::UnavailableError("redis cluster: not sent"));
  RefreshIfStale(deadline);
  std::shared_ptr<const SlotMap> map = Map();
  struct Route {
    NodeAddress node;
    bool asking = false;
    int moves = 0;
  };
  std::vector<Route> routes(commands.size());
  std::vector<size_t> todo;
  for (size_t i = 0; i < commands.size(); ++i) {
    const NodeAddress* owner = map == nullptr ? nullptr : map->Owner(slots[i]);
    if (owner == nullptr) {
      out[i] = absl::UnavailableError(absl::StrCat("redis cluster: no node serves slot ", slots[i]));
      continue;
    }
    routes[i].node = *owner;
    todo.push_back(i);
  }
  absl::Duration backoff = kFirstBackoff;
  for (int round = 0; round < kMaxRounds && !todo.empty(); ++round) {
    std::vector<Batch> batches;
    for (size_t i : todo) {  // in order: a customer's commands stay in order within its node's pipeline
      Node* node = &NodeAt(routes[i].node);
      auto it = std::find_if(batches.begin(), batches.end(), [&](const Batch& b) { return b.node == node; });
      if (it == batches.end()) it = batches.insert(batches.end(), Batch{.node = node});
      it->items.push_back(i);
      it->asking.push_back(routes[i].asking);
    }
    RunRound(batches, commands, deadline, out);
    std::vector<size_t> again;
    bool moved = false;
    bool wait = false;
    for (size_t i : todo) {
      const Redirection r = ParseRedirection(ErrorText(out[i]));
      if (r.kind == Redirection::Kind::kNone) continue;
      if (settings_.stats != nullptr) {
        settings_.stats->redis_redirections_total.Inc({routes[i].node.ToString(), RedirectionKindName(r.kind)});
      }
      if (r.kind == Redirection::Kind::kMoved) {
        if (routes[i].moves++ > 0) continue;  // moved twice in one call: the map is changing; fail this one
        routes[i] = {.node = r.target, .asking = false, .moves = routes[i].moves};
        moved = true;
      } else if (r.kind == Redirection::Kind::kAsk) {
        if (routes[i].asking) continue;  // ASK from the target itself: fail this one
        routes[i].node = r.target;
        routes[i].asking = true;
      } else {
        wait = true;  // TRYAGAIN / CLUSTERDOWN: the same node again
      }
      again.push_back(i);
    }
    if (moved) {
      MarkStale();
      RefreshIfStale(deadline);
    }
    if (wait && !again.empty()) {
      // No time for the backoff and another round trip: these keep their TRYAGAIN / CLUSTERDOWN reply.
      if (deadline - clock_.Now() <= backoff) break;
      absl::SleepFor(backoff);
      backoff *= 2;
    }
    todo = std::move(again);
  }
  return out;
}

RedisCluster::NodeGroups RedisCluster::MastersOf(std::span<const int> slots, absl::Time deadline) {
  RefreshIfStale(deadline);
  std::shared_ptr<const SlotMap> map = Map();
  NodeGroups out;
  out.node_of.assign(slots.size(), -1);
  if (map == nullptr) return out;
  const std::vector<NodeAddress>& masters = map->masters();
  std::vector<int> index(masters.size(), -1);  // masters' index -> out.nodes' index
  for (size_t i = 0; i < slots.size(); ++i) {
    const NodeAddress* owner = map->Owner(slots[i]);
    if (owner == nullptr) continue;
    const size_t m = static_cast<size_t>(owner - masters.data());
    if (index[m] < 0) {
      index[m] = static_cast<int>(out.nodes.size());
      out.nodes.push_back(owner->ToString());
    }
    out.node_of[i] = index[m];
  }
  return out;
}

absl::StatusOr<std::vector<NodeAddress>> RedisCluster::Masters(absl::Time deadline) {
  if (Map() == nullptr) {
    if (absl::Status s = Refresh(deadline); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("redis cluster: no slot map (", s.message(), ")"));
    }
  } else {
    RefreshIfStale(deadline);
  }
  return Map()->masters();
}

std::vector<absl::StatusOr<RedisReplyPtr>> RedisCluster::ExecuteOn(const NodeAddress& node,
                                                                   std::span<const RedisCommand> commands,
                                                                   absl::Time deadline, std::string_view what) {
  std::vector<absl::StatusOr<RedisReplyPtr>> out;
  out.reserve(commands.size());
  Batch batch{.node = &NodeAt(node)};
  for (size_t i = 0; i < commands.size(); ++i) {
    out.emplace_back(absl::UnavailableError("redis cluster: not sent"));
    batch.items.push_back(i);
    batch.asking.push_back(false);
  }
  std::vector<Batch> batches = {std::move(batch)};
  RunRound(batches, commands, deadline, out, what);
  return out;
}

bool RedisCluster::Probe(absl::Duration timeout, std::vector<std::pair<std::string, bool>>* nodes) {
  RefreshIfStale(clock_.Now() + timeout);
  std::shared_ptr<const SlotMap> map = Map();
  if (map == nullptr) return false;
  bool all = map->unserved() == 0;
  for (const NodeAddress& master : map->masters()) {
    Node& node = NodeAt(master);
    absl::StatusOr<RedisConnectionPtr> conn = node.Borrow(clock_.Now() + timeout);  // each node its own time
    absl::StatusOr<RedisReplyPtr> r = conn.ok() ? (*conn)->Command({"PING"}, "PING")
                                                : absl::StatusOr<RedisReplyPtr>(conn.status());
    const bool up = r.ok() && (*r)->type != REDIS_REPLY_ERROR;
    if (conn.ok()) node.Return(*std::move(conn));
    if (!up) {
      node.Failed();
      MarkStale();
    }
    if (settings_.stats != nullptr) settings_.stats->redis_node_up.Set({node.name()}, up ? 1 : 0);
    if (nodes != nullptr) nodes->emplace_back(node.name(), up);
    all = all && up;
  }
  return all;
}

}  // namespace tact::store
