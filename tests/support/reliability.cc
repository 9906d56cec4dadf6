#include "tests/support/reliability.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/substitute.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/parse.h"
#include "daemon/policy/signals.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/wait.h"

namespace tact::reliability {

using testing::CheckReport;
using testing::SentInput;

bool Full() {
  const char* v = std::getenv("TACT_RELIABILITY");
  return v != nullptr && std::string(v) == "full";
}

int Scale(int short_n, int full_n) { return Full() ? full_n : short_n; }

namespace {

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

BulkProducer::BulkProducer(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : std::map<std::string, std::string>{{"bootstrap.servers", brokers},
                                                                {"enable.idempotence", "true"},
                                                                {"linger.ms", "5"},
                                                                {"reconnect.backoff.max.ms", "500"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(k + ": " + err);
  }
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw std::runtime_error("producer: " + err);
}

BulkProducer::~BulkProducer() { producer_->flush(10000); }

void BulkProducer::Send(const std::string& topic, const std::string& value, const std::string& key,
                        const std::string& content_type) {
  for (;;) {
    RdKafka::Headers* h = RdKafka::Headers::create();
    if (!content_type.empty()) h->add("content-type", content_type);
    const RdKafka::ErrorCode err = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
        value.size(), key.empty() ? nullptr : key.data(), key.size(), 0, h, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return;
    delete h;
    if (err != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(err));
    producer_->poll(50);
  }
}

bool BulkProducer::Flush(absl::Duration timeout) {
  return producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout))) == RdKafka::ERR_NO_ERROR &&
         producer_->outq_len() == 0;
}

Scenario::Scenario(std::string name, std::string injected, StackOptions options)
    : name_(std::move(name)), injected_(std::move(injected)), options_(options), started_(absl::Now()) {
  redis_ = std::make_unique<testing::RedisServer>(dir_.path(), 0, options_.redis_aof);
  broker_ = std::make_unique<testing::DevBroker>(dir_.path(), options_.partitions, options_.brokers);
  observer_ = std::make_unique<testing::Observer>(broker_->bootstrap());
  producer_ = std::make_unique<BulkProducer>(broker_->bootstrap());
  auto p = decision::LoadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/default");
  if (!p.ok()) throw std::runtime_error(std::string(p.status().message()));
  policy_ = *p;
  for (int c = 0; c < options_.customers; c += 5) {
    at_risk_.push_back({.tenant = "acme", .customer_id = absl::StrCat(name_, "-c", c)});
  }
  PutAtRiskSignals();
}

Scenario::~Scenario() {
  Record();  // also when the test failed before Settle: still a row
  if (::testing::Test::HasFailure()) {
    for (auto& t : tactds_) {
      const std::string log = t->process().Log();
      std::cerr << "--- " << t->process().log_path() << " (last 6000 bytes)\n"
                << log.substr(log.size() > 6000 ? log.size() - 6000 : 0) << "\n";
    }
  }
}

void Scenario::PutAtRiskSignals() {
  store::RedisContextPtr c(redisConnect("127.0.0.1", redis_->port()));
  if (!c || c->err) throw std::runtime_error("redis: cannot connect to put signals");
  for (const testing::AtRisk& a : at_risk_) {
    policy::Signal s{.tenant = a.tenant, .customer_id = a.customer_id, .kind = policy::SignalKind::kComplaintOpened,
                     .ref = "ticket-1", .at = absl::Now() - absl::Hours(1)};
    auto w = policy::ToSignalWrite(s);
    if (!w.ok()) throw std::runtime_error(std::string(w.status().message()));
    const std::string key = store::SignalsKey(store::KeySchema().CustomerPrefix(a.tenant, a.customer_id));
    const std::string value = absl::StrCat(w->at_ms, ":", w->expires_ms);
    store::RedisReplyPtr r(static_cast<redisReply*>(
        redisCommand(c.get(), "HSET %b %b %b", key.data(), key.size(), w->field.data(), w->field.size(),
                     value.data(), value.size())));
    if (!r || r->type == REDIS_REPLY_ERROR) throw std::runtime_error("redis: HSET signal failed");
  }
}

testing::Tactd& Scenario::StartTactd(std::vector<std::string> extra_flags) {
  tactds_.push_back(std::make_unique<testing::Tactd>(dir_.path(), broker_->bootstrap(), redis_->address(),
                                                     std::move(extra_flags)));
  return *tactds_.back();
}

int Scenario::StopTactd(size_t i, int sig) {
  testing::Subprocess& p = tactds_.at(i)->process();
  p.Signal(sig);
  std::optional<int> code = p.Wait(absl::Seconds(60));
  if (!code) {
    p.Signal(SIGKILL);
    code = p.Wait(absl::Seconds(10));
    ADD_FAILURE() << "tactd did not stop within 60 s of signal " << sig;
  }
  return code.value_or(-1);
}

void Scenario::SendMix(int n) {
  for (int k = 0; k < n; ++k, ++next_) {
    const int i = next_;
    SentInput s;
    s.event.event_id = absl::StrCat(name_, "-e", i);
    s.event.tenant = "acme";
    s.event.customer_id = absl::StrCat(name_, "-c", i % options_.customers);
    s.event.channel = v1::EMAIL;
    s.event.message_class = i % 3 == 2 ? v1::PROMOTION : v1::PROACTIVE_SERVICE;
    std::string content_type;
    if (i % 4 == 3) {
      v1::OutboundEvent proto;
      proto.set_event_id(s.event.event_id);
      proto.set_tenant(s.event.tenant);
      proto.set_customer_id(s.event.customer_id);
      proto.set_channel(s.event.channel);
      proto.set_message_class(s.event.message_class);
      *proto.mutable_created_at() = TimeToProto(absl::Now() + producer_clock_offset_);
      s.bytes = proto.SerializeAsString();
      content_type = "application/x-protobuf";
    } else {
      s.bytes = absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL",)"
                                 R"("messageClass":"$2","createdAt":"$3"})",
                                 s.event.event_id, s.event.customer_id, v1::MessageClass_Name(s.event.message_class),
                                 absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", absl::Now() + producer_clock_offset_,
                                                  absl::UTCTimeZone()));
      content_type = i % 2 == 0 ? "application/json" : "";
    }
    s.sent_at = absl::Now();
    producer_->Send("tact.outbound", s.bytes, absl::StrCat(s.event.tenant, ":", s.event.customer_id), content_type);
    absl::MutexLock lock(&sent_mu_);
    sent_.push_back(std::move(s));
  }
}

void Scenario::SendPoison(const std::string& bytes) {
  SentInput s;
  s.poison = true;
  s.bytes = bytes;
  producer_->Send("tact.outbound", bytes, absl::StrCat("poison-", Sent()), "");
  absl::MutexLock lock(&sent_mu_);
  sent_.push_back(std::move(s));
}

void Scenario::RestartRedis() {
  const int port = redis_->port();
  redis_.reset();  // the Subprocess destructor kills it if it is still running
  redis_ = std::make_unique<testing::RedisServer>(dir_.path(), port, options_.redis_aof);
}

CheckReport Scenario::Settle(absl::Duration timeout, testing::CheckOptions options) {
  EXPECT_TRUE(Flush()) << "inputs not acknowledged by the broker";
  const bool settled =
      testing::WaitFor([&] { return observer_->Undecided(sent_) == 0; }, timeout, "a final decision for every input");
  // The routed copies may still be on their way to the readers: I1 is re-checked for a while before it counts.
  CheckReport report;
  auto check = [&] {
    report = testing::Check(sent_, policy_, at_risk_, observer_->Snapshot(redis_->port()), options);
    return !settled || report.Get("I1").pass;
  };
  (void)testing::WaitFor(check, absl::Seconds(10), "every routed output read");
  report_ = report;
  settled_ = settled;
  return report;
}

void Scenario::Note(const std::string& text) { notes_ += (notes_.empty() ? "" : "; ") + text; }

void Scenario::KnownFailure(const std::string& why) { known_failure_ = why; }

void Scenario::Record() {
  const CheckReport report = report_.value_or(CheckReport{});
  const bool settled = settled_;
  std::string result;
  if (!known_failure_.empty()) {
    result = "known failure";
  } else if (report.invariants.empty()) {
    result = "FAIL (did not finish)";
  } else {
    result = report.ok() && settled ? "pass" : "FAIL";
  }
  if (::testing::Test::HasFailure() && result != "known failure") result = "FAIL";
  std::string failed;
  for (const testing::InvariantResult& r : report.invariants) {
    if (!r.pass) absl::StrAppend(&failed, failed.empty() ? "" : " ", r.id, r.enforced ? "" : "(reported)");
  }
  std::cout << "[reliability] " << name_ << ": " << result << " in "
            << absl::FormatDuration(absl::Trunc(absl::Now() - started_, absl::Milliseconds(100))) << "; "
            << report.Summary() << (notes_.empty() ? "" : "\n  note: " + notes_) << "\n";
  const char* path = std::getenv("TACT_RELIABILITY_REPORT");
  if (path == nullptr || *path == '\0') return;
  std::ofstream out(path, std::ios::app);
  out << absl::StrCat(
      "{\"scenario\":\"", JsonEscape(name_), "\",\"injected\":\"", JsonEscape(injected_), "\",\"passed\":\"",
      report.PassedList(), "\",\"failed\":\"", failed, "\",\"result\":\"", result, "\",\"inputs\":", report.inputs,
      ",\"final\":", report.final_inputs, ",\"records\":", report.decision_records, ",\"repeated\":",
      report.repeated_records, ",\"released\":", report.released, ",\"suppressed\":", report.suppressed,
      ",\"dlq\":", report.dead_lettered, ",\"seconds\":", absl::ToInt64Seconds(absl::Now() - started_),
      ",\"mode\":\"", Full() ? "full" : "short", "\",\"note\":\"",
      JsonEscape(notes_ + (known_failure_.empty() ? "" : (notes_.empty() ? "" : "; ") + known_failure_)), "\"}\n");
}

}  // namespace tact::reliability
