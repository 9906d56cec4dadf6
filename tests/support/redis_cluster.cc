#include "tests/support/redis_cluster.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/support/wait.h"

namespace tact::testing {

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

ReplyPtr RedisClusterNodes::Command(int port, const std::vector<std::string>& args) {
  ReplyPtr none(nullptr, freeReplyObject);
  const timeval timeout{.tv_sec = 2, .tv_usec = 0};
  std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnectWithTimeout("127.0.0.1", port, timeout),
                                                            redisFree);
  if (c == nullptr || c->err != 0) return none;
  redisSetTimeout(c.get(), timeout);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c.get(), static_cast<int>(args.size()), argv.data(), lens.data());
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

RedisClusterNodes::RedisClusterNodes(const std::string& dir, int masters, int replicas, absl::Duration node_timeout) {
  const int count = masters * (1 + replicas);
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < count; ++i) {
    // The cluster bus gets a port of its own (--cluster-port; by default port + 10000, which nothing reserves), and
    // a node that lost either port to another process between FreePort and its bind is started again on others.
    for (int attempt = 1;; ++attempt) {
      const int port = FreePort();
      const int bus = FreePort();
      const std::string data = absl::StrCat(dir, "/cluster-", port);
      std::filesystem::create_directories(data);
      auto node = std::make_unique<Subprocess>(
          std::vector<std::string>{"redis-server", "--port", std::to_string(port), "--cluster-port",
                                   std::to_string(bus), "--bind", "127.0.0.1", "--dir", data, "--save", "",
                                   "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file",
                                   data + "/nodes.conf", "--cluster-node-timeout",
                                   absl::StrCat(absl::ToInt64Milliseconds(node_timeout))},
          data + "/redis.log");
      const bool up = WaitFor([&] { return Command(port, {"PING"}) != nullptr || !node->Running(); },
                              absl::Seconds(20), "cluster node up") &&
                      node->Running();
      if (up) {
        ports_.push_back(port);
        nodes_[port] = std::move(node);
        create.push_back(absl::StrCat("127.0.0.1:", port));
        break;
      }
      const std::string log = node->Log();
      if (attempt == 3 || log.find("Address already in use") == std::string::npos) {
        throw std::runtime_error("redis-server did not start: " + log);
      }
    }
  }
  create.insert(create.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
  Subprocess cli(create, dir + "/cluster-create.log");
  if (cli.Wait(absl::Seconds(60)) != 0) throw std::runtime_error("redis-cli --cluster create failed: " + cli.Log());
  if (!WaitFor([&] { return Converged(); }, absl::Seconds(30), "cluster_state:ok on every node")) {
    throw std::runtime_error("the Redis Cluster did not converge");
  }
  // Masters first: `--cluster create` makes the first `masters` addresses masters.
  if (!WaitFor(
          [&] {
            for (int i = 0; i < masters; ++i) {
              if (replicas > 0 && ReplicaOf(ports_[i]) == 0) return false;
            }
            return true;
          },
          absl::Seconds(30), "replicas attached")) {
    throw std::runtime_error("the Redis Cluster's replicas did not attach");
  }
}

std::string RedisClusterNodes::address() const {
  std::string out = "redis+cluster://";
  for (size_t i = 0; i < 3 && i < ports_.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", "127.0.0.1:", ports_[i]);
  return out;
}

int RedisClusterNodes::MasterOf(int slot) const {
  for (int port : ports_) {
    ReplyPtr r = Command(port, {"CLUSTER", "SLOTS"});
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) continue;
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply& e = *r->element[i];
      if (e.elements >= 3 && e.element[0]->integer <= slot && slot <= e.element[1]->integer) {
        return static_cast<int>(e.element[2]->element[1]->integer);
      }
    }
    return 0;
  }
  return 0;
}

std::string RedisClusterNodes::NodeId(int port) const {
  ReplyPtr r = Command(port, {"CLUSTER", "MYID"});
  return r != nullptr && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
}

int RedisClusterNodes::ReplicaOf(int port) const {
  ReplyPtr r = Command(port, {"CLUSTER", "REPLICAS", NodeId(port)});
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return 0;
  // "<id> <ip:port@bus> <flags> ..."
  const std::vector<std::string> fields = absl::StrSplit(std::string(r->element[0]->str, r->element[0]->len), ' ');
  if (fields.size() < 2) return 0;
  const std::string addr = fields[1].substr(0, fields[1].find('@'));
  return std::stoi(addr.substr(addr.rfind(':') + 1));
}

bool RedisClusterNodes::Converged() const {
  std::string first;
  for (int port : ports_) {
    ReplyPtr info = Command(port, {"CLUSTER", "INFO"});
    if (info == nullptr) continue;  // a node stopped by the test
    if (std::string_view(info->str, info->len).find("cluster_state:ok") == std::string_view::npos) return false;
    ReplyPtr slots = Command(port, {"CLUSTER", "SLOTS"});
    if (slots == nullptr || slots->type != REDIS_REPLY_ARRAY) return false;
    std::vector<std::string> ranges;
    for (size_t i = 0; i < slots->elements; ++i) {
      const redisReply& e = *slots->element[i];
      ranges.push_back(absl::StrCat(e.element[0]->integer, "-", e.element[1]->integer, "@",
                                    e.element[2]->element[1]->integer));
    }
    std::sort(ranges.begin(), ranges.end());
    const std::string joined = absl::StrJoin(ranges, ",");
    if (first.empty()) first = joined;
    if (joined != first) return false;
  }
  return !first.empty();
}

void RedisClusterNodes::BeginMigration(int slot, int to) {
  const int from = MasterOf(slot);
  migrating_from_[slot] = from;
  const std::string s = std::to_string(slot);
  Command(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", NodeId(from)});
  Command(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", NodeId(to)});
}

void RedisClusterNodes::MigrateKeys(int slot, int to) {
  const int from = migrating_from_.at(slot);
  for (;;) {
    ReplyPtr keys = Command(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
    if (keys == nullptr || keys->type != REDIS_REPLY_ARRAY || keys->elements == 0) return;
    std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(to), "", "0", "5000", "KEYS"};
    for (size_t i = 0; i < keys->elements; ++i) args.emplace_back(keys->element[i]->str, keys->element[i]->len);
    ReplyPtr moved = Command(from, args);
    if (moved == nullptr || moved->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error("MIGRATE failed: " + (moved ? std::string(moved->str, moved->len) : "no reply"));
    }
  }
}

void RedisClusterNodes::FinishMigration(int slot, int to) {
  const int from = migrating_from_.at(slot);
  const std::string s = std::to_string(slot);
  const std::string id = NodeId(to);
  Command(to, {"CLUSTER", "SETSLOT", s, "NODE", id});
  Command(from, {"CLUSTER", "SETSLOT", s, "NODE", id});
  for (int port : ports_) {  // the others learn it by gossip; tell them now, as redis-cli --cluster does
    if (port != to && port != from) Command(port, {"CLUSTER", "SETSLOT", s, "NODE", id});
  }
  migrating_from_.erase(slot);
}

}  // namespace tact::testing
