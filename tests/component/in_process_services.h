#pragma once

// tactd's gRPC side as daemon/tactd/main.cc wires it (Capacity, Campaigns, Throttle, Signals over one CallGate),
// on an in-process channel (grpc::Server::InProcessChannel) with in-memory stores, a FakeClock and a fake
// notice port. No subprocess, no Redis, no Kafka: the proto mapping, the CallGate, the worker pools, the
// decision path and the campaign desk and gate run for real.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/api/auth.h"
#include "daemon/api/call_queues.h"
#include "daemon/api/capacity_service.h"
#include "daemon/api/signals_service.h"
#include "daemon/api/throttle_service.h"
#include "daemon/campaign/desk.h"
#include "daemon/campaign/gate.h"
#include "daemon/campaign/notice_port.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/decision_record_port.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/policy/parse.h"
#include "daemon/store/capacity_store.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tact/v1/capacity.grpc.pb.h"
#include "tact/v1/signals.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"

namespace tact::testing {

// The notice port's fake: records what the desk publishes; Fail() makes Publish refuse.
class FakeNoticePort final : public campaign::NoticePort {
 public:
  absl::Status Publish(const v1::CampaignNotice& notice) override {
    absl::MutexLock lock(&mu_);
    if (!fail_.ok()) return fail_;
    notices_.push_back(notice);
    return absl::OkStatus();
  }
  std::vector<std::string> Kinds() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> kinds;
    for (const v1::CampaignNotice& n : notices_) kinds.push_back(n.kind());
    return kinds;
  }
  std::vector<v1::CampaignNotice> Notices() const {
    absl::MutexLock lock(&mu_);
    return notices_;
  }
  void Fail(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(s);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::CampaignNotice> notices_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
};

// The decision record port's fake: keeps what the Throttle service publishes.
class FakeRecordPort final : public decision::DecisionRecordPort {
 public:
  void Record(const v1::DecisionRecord& record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(record);
  }
  std::vector<v1::DecisionRecord> Records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::DecisionRecord> records_ ABSL_GUARDED_BY(mu_);
};

// One unary call on a stub.
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
                  Resp* resp, const std::string& token = "") {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  return (stub->*method)(&ctx, req, resp);
}

// The services, started at construction on `now` with the policy `policy_yaml` (a test failure when it does not
// parse). `clients` empty: no authentication (anonymous callers, every tenant). Thread-safety: the test's thread.
class InProcessServices {
 public:
  // `executor_threads`: the DecisionExecutor's (CheckBatch, Explain, Signals); Check is decided on the queue's thread.
  // `collect_wait`: the queue's (tactd's grpc.check_max_wait_ms).
  InProcessServices(const std::string& policy_yaml, absl::Time now, std::vector<api::Client> clients = {},
                    int executor_threads = 1, absl::Duration collect_wait = absl::ZeroDuration())
      : clock_(now),
        executor_(decider_, executor_threads, /*max_queue=*/64, /*max_batch=*/16),
        auth_(clients.empty() ? nullptr : std::make_unique<api::Authenticator>(std::move(clients), clock_)),
        gate_(auth_.get(), clock_) {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"component.yaml", policy_yaml}});
    EXPECT_TRUE(p.ok()) << p.status();
    if (p.ok()) policies_.Set(std::make_shared<const policy::Policy>(*std::move(p)));
    desk_.set_policies([this] { return policies_.Get(); });
    grpc::ServerBuilder builder;
    queues_ = std::make_unique<api::CallQueues>(builder, /*threads=*/1, collect_wait);
    capacity_service_.Register(builder, *queues_);
    campaigns_service_.Register(builder, *queues_);
    throttle_service_.Register(builder, *queues_);
    signals_service_.Register(builder, *queues_);
    server_ = builder.BuildAndStart();
    queues_->Start();
    std::shared_ptr<grpc::Channel> channel = server_->InProcessChannel(grpc::ChannelArguments());
    capacity_ = v1::Capacity::NewStub(channel);
    campaigns_ = v1::Campaigns::NewStub(channel);
    throttle_ = v1::Throttle::NewStub(channel);
    signals_ = v1::Signals::NewStub(channel);
  }
  ~InProcessServices() {
    server_->Shutdown();
    queues_->Shutdown();  // the workers still run: what they decide is answered first
  }

 protected:
  FakeClock clock_;
  decision::PolicyHolder policies_;
  store::InMemoryCounterStore counters_;
  store::InMemoryCapacityStore capacity_store_;
  FakeNoticePort notices_;
  FakeRecordPort records_;  // before the executor: its threads publish to it
  const CustomerHasher hasher_{"component-test-key"};
  campaign::StoreGateEnforcer enforcer_{capacity_store_, clock_, absl::ZeroDuration()};
  decision::DecisionService decider_{policies_, counters_, clock_, hasher_, {.campaign_gate = &enforcer_}};
  decision::DecisionExecutor executor_;
  campaign::CampaignDesk desk_{capacity_store_, notices_, clock_};
  decision::SignalIntake intake_{counters_, &desk_};
  std::unique_ptr<api::Authenticator> auth_;
  api::CallGate gate_;
  api::CapacityWorkers workers_{/*threads=*/1, /*max_queue=*/16};
  api::CapacityService capacity_service_{desk_, gate_, workers_};
  api::CampaignsService campaigns_service_{desk_, gate_, workers_};
  api::ThrottleService throttle_service_{executor_, gate_, api::ApiOptions{}, &records_};
  decision::CustomerStateReader customer_state_{counters_, hasher_};
  api::SignalsService signals_service_{intake_, policies_, customer_state_, executor_, gate_, api::ApiOptions{}};
  std::unique_ptr<api::CallQueues> queues_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Capacity::Stub> capacity_;
  std::unique_ptr<v1::Campaigns::Stub> campaigns_;
  std::unique_ptr<v1::Throttle::Stub> throttle_;
  std::unique_ptr<v1::Signals::Stub> signals_;
};

}  // namespace tact::testing
