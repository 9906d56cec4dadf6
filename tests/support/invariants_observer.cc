// Observer (tests/support/invariants.h): every output topic read from the beginning, and Redis' limit counters.
#include <hiredis/hiredis.h>

#include <stdexcept>

#include "daemon/pipeline/event_codec.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/invariants.h"
#include "tests/support/stack.h"

namespace tact::testing {

struct Observer::Readers {
  explicit Readers(const std::string& brokers)
      : decisions(brokers, "tact.decisions"),
        released(brokers, "tact.released"),
        suppressed(brokers, "tact.suppressed"),
        deferred(brokers, "tact.deferred"),
        dlq(brokers, "tact.dlq") {}
  TopicReader decisions, released, suppressed, deferred, dlq;
};

Observer::Observer(const std::string& brokers) : readers_(std::make_unique<Readers>(brokers)) {}
Observer::~Observer() = default;

namespace {

std::vector<TopicRecord> Convert(const TopicReader& reader) {
  std::vector<TopicRecord> out;
  for (Record& r : reader.Records()) out.push_back({std::move(r.value), std::move(r.headers)});
  return out;
}

store::RedisReplyPtr Command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  store::RedisReplyPtr r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data())));
  if (!r) throw std::runtime_error("redis: " + std::string(c->errstr));
  return r;
}

}  // namespace

Observed Observer::Snapshot(int redis_port) const {
  Observed o;
  o.decisions = Convert(readers_->decisions);
  o.released = Convert(readers_->released);
  o.suppressed = Convert(readers_->suppressed);
  o.deferred = Convert(readers_->deferred);
  o.dlq = Convert(readers_->dlq);
  store::RedisContextPtr c(redisConnect("127.0.0.1", redis_port));
  if (!c || c->err) throw std::runtime_error("redis: cannot connect for the invariant snapshot");
  std::string cursor = "0";
  do {
    store::RedisReplyPtr page = Command(c.get(), {"SCAN", cursor, "MATCH", "tact:{*}:[rc]:*", "COUNT", "1000"});
    cursor = page->element[0]->str;
    for (size_t i = 0; i < page->element[1]->elements; ++i) {
      const std::string key = page->element[1]->element[i]->str;
      if (key.find("}:r:") != std::string::npos) {
        store::RedisReplyPtr m = Command(c.get(), {"ZRANGE", key, "0", "-1"});
        for (size_t j = 0; j < m->elements; ++j) o.rolling[key].insert(m->element[j]->str);
      } else if (key.find("}:c:") != std::string::npos) {
        store::RedisReplyPtr v = Command(c.get(), {"GET", key});
        if (v->type == REDIS_REPLY_STRING) o.calendar[key] = std::stoll(v->str);
      }
    }
  } while (cursor != "0");
  // Store v2: every counter of a customer in its one key tact:{<h>}:s, under the same suffix as a v1 key's.
  cursor = "0";
  do {
    store::RedisReplyPtr page = Command(c.get(), {"SCAN", cursor, "MATCH", "tact:{*}:s", "COUNT", "1000"});
    cursor = page->element[0]->str;
    for (size_t i = 0; i < page->element[1]->elements; ++i) {
      const std::string key = page->element[1]->element[i]->str;
      store::RedisReplyPtr v = Command(c.get(), {"GET", key});
      if (v->type != REDIS_REPLY_STRING) continue;
      const std::optional<store::CustomerBlob> blob = store::ParseCustomerBlob(std::string_view(v->str, v->len));
      if (!blob) throw std::runtime_error("redis: " + key + " is not in store v2's encoding");
      const std::string prefix = key.substr(0, key.size() - 1);  // "tact:{<h>}:"
      for (const store::CustomerBlob::Counter& k : blob->counters) {
        if (k.rolling()) {
          o.rolling_count[prefix + k.suffix] += static_cast<int64_t>(k.times.size());
        } else {
          o.calendar[prefix + k.suffix] += k.count;
        }
      }
    }
  } while (cursor != "0");
  return o;
}

std::vector<v1::DecisionRecord> Observer::DecisionRecords() const {
  std::vector<v1::DecisionRecord> out;
  for (const Record& r : readers_->decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) out.push_back(*std::move(rec));
  }
  return out;
}

size_t Observer::Undecided(const std::vector<SentInput>& sent) const {
  std::set<std::string> final_ids;
  for (const Record& r : readers_->decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) {
      const v1::DecisionKind k = rec->decision().decision();
      if (k == v1::RELEASE || k == v1::SUPPRESS || k == v1::EXPIRED) final_ids.insert(rec->event_id());
    }
  }
  std::set<std::string> dlq;
  for (const Record& r : readers_->dlq.Records()) dlq.insert(r.value);
  size_t n = 0;
  for (const SentInput& s : sent) {
    if (s.poison ? !dlq.contains(s.bytes) : (!final_ids.contains(s.event.event_id) && !dlq.contains(s.bytes))) ++n;
  }
  return n;
}

}  // namespace tact::testing
