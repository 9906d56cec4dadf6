#include "daemon/pipeline/commit_strategies.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

constexpr int kTxnAttempts = 3;

// A transactional call, repeated while its error is retriable. nullptr = success.
std::unique_ptr<RdKafka::Error> TxnCall(const std::function<RdKafka::Error*()>& call) {
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<RdKafka::Error> e(call());
    if (e == nullptr || !e->is_retriable() || attempt == kTxnAttempts) {
      return e;
    }
    Log(LogLevel::kWarning, "kafka.txn_retry", {{"error", e->str()}, {"attempt", absl::StrCat(attempt)}});
  }
}

[[noreturn]] void TransactionFatal(const std::string& what, const RdKafka::Error& error) {
  // Fenced (another instance took this transactional.id) or the producer is in a fatal state: nothing this
  // instance still has may be committed. Stop hard; a restart fences and aborts what was open.
  Log(LogLevel::kError, "kafka.txn_fatal", {{"call", what}, {"error", error.str()}});
  std::abort();
}

std::vector<RdKafka::TopicPartition*> ToRdKafka(const std::map<TopicPartition, int64_t>& offsets) {
  std::vector<RdKafka::TopicPartition*> out;
  for (const auto& [tp, next] : offsets) {
    out.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, next));
  }
  return out;
}

}  // namespace

void AtLeastOnceCommit::StoreOffsets() {
  const std::map<TopicPartition, int64_t> committable = engine_.ledger().TakeCommittable();
  if (committable.empty()) {
    return;
  }
  std::vector<RdKafka::TopicPartition*> tps = ToRdKafka(committable);
  const RdKafka::ErrorCode err = consumer_.offsets_store(tps);
  for (const RdKafka::TopicPartition* p : tps) {
    if (err != RdKafka::ERR_NO_ERROR || p->err() != RdKafka::ERR_NO_ERROR) {
      // ERR__STATE: revoked meanwhile, not ours any more; the new owner handles it again (idempotent).
      Log(LogLevel::kDebug, "kafka.offset_store_skipped",
          {{"topic", p->topic()}, {"partition", absl::StrCat(p->partition())}, {"error", RdKafka::err2str(p->err())}});
    }
  }
  RdKafka::TopicPartition::destroy(tps);
}

void AtLeastOnceCommit::Revoke(const std::vector<TopicPartition>& tps, bool lost) {
  if (!lost) {
    engine_.Drain(&tps, absl::Seconds(5), 50);
    StoreOffsets();
    const RdKafka::ErrorCode c = consumer_.commitSync();
    if (c != RdKafka::ERR_NO_ERROR && c != RdKafka::ERR__NO_OFFSET) {
      Log(LogLevel::kWarning, "kafka.revoke_commit_failed", {{"topic", topic_}, {"error", RdKafka::err2str(c)}});
    }
  }
  for (const TopicPartition& tp : tps) {
    engine_.ledger().DropPartition(tp);
  }
}

TransactionalCommit::TransactionalCommit(DeliveryEngine& engine, RdKafka::KafkaConsumer& consumer,
                                         TransactionOptions options, Rewind on_rewind, const Clock& clock)
    : engine_(engine), consumer_(consumer), options_(std::move(options)), on_rewind_(std::move(on_rewind)),
      clock_(clock) {}

absl::Status TransactionalCommit::Init() {
  RdKafka::Producer& producer = engine_.producer();
  if (std::unique_ptr<RdKafka::Error> e = TxnCall([&] { return producer.init_transactions(60000); })) {
    return absl::UnavailableError(absl::StrCat("kafka init_transactions: ", e->str()));
  }
  Log(LogLevel::kInfo, "kafka.transactions_ready", {{"transactional_id", options_.transactional_id}});
  return absl::OkStatus();
}

void TransactionalCommit::OnInput(const TopicPartition& tp, int64_t offset) {
  if (!open_) {
    if (std::unique_ptr<RdKafka::Error> e(engine_.producer().begin_transaction()); e != nullptr) {
      TransactionFatal("begin_transaction", *e);  // only a fenced or misused producer fails here
    }
    open_ = true;
    begun_ = clock_.Monotonic();
  }
  next_offsets_[tp] = offset + 1;
  ++events_;
}

void TransactionalCommit::Failed(const PendingOutput& out, bool too_large) {
  // Aborted and redone as a whole; purged outputs of an abort also land here.
  if (too_large && !IsDeadLetterStub(out)) {
    too_large_on_redo_.insert({out.source, out.offset, out.topic});
  }
  failed_ = true;
}

bool TransactionalCommit::ForceDeadLetter(const PendingOutput& out) const {
  return too_large_on_redo_.contains({out.source, out.offset, out.topic});
}

void TransactionalCommit::OnInputDone(const TopicPartition& tp, int64_t offset) {
  if (!too_large_on_redo_.empty()) {
    std::erase_if(too_large_on_redo_,
                  [&](const auto& k) { return std::get<0>(k) == tp && std::get<1>(k) == offset; });
  }
}

bool TransactionalCommit::Due() const {
  return open_ && (failed_ || events_ >= options_.max_events ||
                   clock_.Monotonic() - begun_ >= absl::ToChronoNanoseconds(options_.max_age));
}

void TransactionalCommit::Tick() {
  if (Due()) {
    Commit();
  }
}

int TransactionalCommit::WaitMs(int idle_ms) const {
  if (!open_) {
    return idle_ms;
  }
  const auto left = begun_ + absl::ToChronoNanoseconds(options_.max_age) - clock_.Monotonic();
  return static_cast<int>(
      std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count(), 0, idle_ms));
}

void TransactionalCommit::Revoke(const std::vector<TopicPartition>& tps, bool lost) {
  if (lost) {
    Abort("assignment lost");
  } else {
    Commit();
  }
  for (const TopicPartition& tp : tps) {
    engine_.ledger().DropPartition(tp);
  }
}

void TransactionalCommit::Commit() {
  if (!open_) {
    return;
  }
  if (failed_) {
    Abort("an output failed");
    return;
  }
  RdKafka::Producer& producer = engine_.producer();
  std::unique_ptr<RdKafka::Error> e;
  if (!next_offsets_.empty()) {
    std::vector<RdKafka::TopicPartition*> offsets = ToRdKafka(next_offsets_);
    std::unique_ptr<RdKafka::ConsumerGroupMetadata> group(consumer_.groupMetadata());
    e = TxnCall([&] { return producer.send_offsets_to_transaction(offsets, group.get(), -1); });
    RdKafka::TopicPartition::destroy(offsets);
  }
  if (e == nullptr) {
    e = TxnCall([&] { return producer.commit_transaction(-1); });  // flushes: every dr_cb has run
  }
  if (e == nullptr && !failed_) {
    Log(LogLevel::kDebug, "kafka.txn_committed", {{"events", absl::StrCat(events_)}});
    engine_.ledger().TakeCommittable();  // committed with the transaction, not stored
    open_ = false;
    events_ = 0;
    next_offsets_.clear();
    return;
  }
  if (e != nullptr && e->is_fatal()) {
    TransactionFatal("commit_transaction", *e);
  }
  Abort(e != nullptr ? e->str() : "an output failed");
}

void TransactionalCommit::Abort(const std::string& why) {
  if (!open_) {
    return;
  }
  Log(LogLevel::kWarning, "kafka.txn_aborting", {{"reason", why}, {"events", absl::StrCat(events_)}});
  RdKafka::Producer& producer = engine_.producer();
  if (std::unique_ptr<RdKafka::Error> e = TxnCall([&] { return producer.abort_transaction(-1); })) {
    TransactionFatal("abort_transaction", *e);
  }
  // The abort purged what was still queued; serve those delivery reports before freeing their outputs.
  engine_.ServeQueued(absl::Seconds(10));
  engine_.ledger().Clear();
  // Rewind each input partition of the transaction to its committed offset: its inputs are decided again
  // (the store returns the earlier decisions, so nothing is counted twice) in the next transaction.
  std::vector<TopicPartition> rewound;
  for (const auto& [tp, next] : next_offsets_) {
    rewound.push_back(tp);
  }
  on_rewind_(rewound);  // fetched again from the committed offset
  RewindToCommitted(rewound);
  open_ = false;
  failed_ = false;
  events_ = 0;
  next_offsets_.clear();
}

void TransactionalCommit::RewindToCommitted(const std::vector<TopicPartition>& tps) {
  std::vector<RdKafka::TopicPartition*> parts;
  for (const TopicPartition& tp : tps) {
    parts.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
  }
  if (!parts.empty() && consumer_.committed(parts, 10000) == RdKafka::ERR_NO_ERROR) {
    for (RdKafka::TopicPartition* p : parts) {
      if (p->err() != RdKafka::ERR_NO_ERROR) {
        continue;
      }
      if (p->offset() < 0) {
        p->set_offset(RdKafka::Topic::OFFSET_BEGINNING);  // nothing committed yet: auto.offset.reset=earliest
      }
      if (const RdKafka::ErrorCode err = consumer_.seek(*p, 10000); err != RdKafka::ERR_NO_ERROR) {
        Log(LogLevel::kWarning, "kafka.rewind_failed",
            {{"topic", p->topic()}, {"partition", absl::StrCat(p->partition())}, {"error", RdKafka::err2str(err)}});
      }
    }
  } else if (!parts.empty()) {
    Log(LogLevel::kError, "kafka.rewind_failed", {{"error", "committed offsets unavailable"}});
  }
  RdKafka::TopicPartition::destroy(parts);
}

}  // namespace tact::pipeline
