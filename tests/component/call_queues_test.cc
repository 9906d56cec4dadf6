// Component tier: api::CallQueues (tactd's services on gRPC's completion-queue API) and api::HealthService on an
// in-process server: a call answered on the queue's thread, by another thread later, by a hook after the pass, and
// across Server::Shutdown; a pass that keeps collecting while its hook waits; gRPC health's statuses and Watch stream
// as gRPC's default health service gives them; the default number of queues.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/api/call_queues.h"
#include "daemon/api/health_service.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::WaitFor;

// Throttle.Check on CallQueues, answering by the event id: "now" in the handler, "held" when the test says,
// "after-pass" from the AfterPass hook (as ThrottleService decides Check); "pair" from the hook too, which waits for a
// second one (as ThrottleService waits for more Checks while grpc.check_max_wait_ms lasts).
class TestThrottle {
 public:
  void Register(grpc::ServerBuilder& builder, api::CallQueues& queues) {
    builder.RegisterService(&async_);
    queues.Add(&async_, &v1::Throttle::AsyncService::RequestCheck, api::CallQueues::Bind(this, &TestThrottle::Check),
               /*slots=*/4);
    queues.AfterPass(
        [this] {
          absl::MutexLock lock(&mu_);
          for (const Pending& p : after_pass_) Answer(p, "after the pass");
          after_pass_.clear();
          for (const Pending& p : pairs_) Answer(p, "after a pass of " + std::to_string(pairs_.size()));
          pairs_.clear();
        },
        [this] {
          absl::MutexLock lock(&mu_);
          return pairs_.size() == 1;
        });
  }
  void Check(grpc::ServerContext*, const v1::CheckRequest* request, v1::CheckResponse* response,
             api::UnaryReactor* reactor) {
    const std::string& id = request->event().event_id();
    absl::MutexLock lock(&mu_);
    if (id == "held") {
      held_.push_back({response, reactor});
    } else if (id == "after-pass") {
      after_pass_.push_back({response, reactor});
    } else if (id == "pair") {
      pairs_.push_back({response, reactor});
    } else {
      Answer({response, reactor}, "in the handler");
    }
  }
  size_t Held() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  size_t Pairs() {
    absl::MutexLock lock(&mu_);
    return pairs_.size();
  }
  void AnswerHeld() {  // from the calling thread
    absl::MutexLock lock(&mu_);
    for (const Pending& p : held_) Answer(p, "later");
    held_.clear();
  }

 private:
  struct Pending {
    v1::CheckResponse* response;
    api::UnaryReactor* reactor;
  };
  static void Answer(const Pending& p, const std::string& how) {
    p.response->mutable_decision()->set_reason(how);
    p.reactor->Finish(grpc::Status::OK);
  }
  v1::Throttle::AsyncService async_;
  absl::Mutex mu_;
  std::vector<Pending> held_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> after_pass_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> pairs_ ABSL_GUARDED_BY(mu_);
};

class CallQueuesTest : public ::testing::Test {
 protected:
  explicit CallQueuesTest(int threads = 2, absl::Duration collect_wait = absl::ZeroDuration()) {
    grpc::ServerBuilder builder;
    queues_ = std::make_unique<api::CallQueues>(builder, threads, collect_wait);
    service_.Register(builder, *queues_);
    builder.RegisterService(&health_);
    builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(health_.Interface()));
    server_ = builder.BuildAndStart();
    queues_->Start();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = v1::Throttle::NewStub(channel_);
    health_stub_ = Health::NewStub(channel_);
  }
  ~CallQueuesTest() override { Stop(); }
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    queues_->Shutdown();
  }

  grpc::Status Check(const std::string& id, std::string* how) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CheckRequest request;
    request.mutable_event()->set_event_id(id);
    v1::CheckResponse response;
    grpc::Status s = stub_->Check(&ctx, request, &response);
    *how = response.decision().reason();
    return s;
  }
  HealthCheckResponse::ServingStatus HealthOf(const std::string& service, grpc::StatusCode* code = nullptr) {
    grpc::ClientContext ctx;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status s = health_stub_->Check(&ctx, request, &response);
    if (code != nullptr) *code = s.error_code();
    return response.status();
  }

  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> Watch(grpc::ClientContext& ctx, const std::string& service) {
    HealthCheckRequest request;
    request.set_service(service);
    return health_stub_->Watch(&ctx, request);
  }

  TestThrottle service_;
  api::HealthService health_;
  std::unique_ptr<api::CallQueues> queues_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Throttle::Stub> stub_;
  std::unique_ptr<Health::Stub> health_stub_;
  bool stopped_ = false;
};

TEST_F(CallQueuesTest, AnswersInTheHandlerAfterThePassAndFromAnotherThread) {
  std::string how;
  ASSERT_TRUE(Check("a", &how).ok());
  EXPECT_EQ(how, "in the handler");
  ASSERT_TRUE(Check("after-pass", &how).ok());  // answered only if the hook runs after the pass that received it
  EXPECT_EQ(how, "after the pass");

  grpc::Status held;
  std::string held_how;
  std::thread caller([&] { held = Check("held", &held_how); });
  ASSERT_TRUE(WaitFor([&] { return service_.Held() == 1; }, absl::Seconds(10), "the held call's handler"));
  // The queues keep serving while a call waits for its answer (each method keeps its calls requested).
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(Check("b", &how).ok());
    EXPECT_EQ(how, "in the handler");
  }
  service_.AnswerHeld();
  caller.join();
  EXPECT_TRUE(held.ok()) << held.error_message();
  EXPECT_EQ(held_how, "later");
}

TEST_F(CallQueuesTest, ACallAnsweredWhileTheServerShutsDownIsDelivered) {
  grpc::Status held;
  std::string how;
  std::thread caller([&] { held = Check("held", &how); });
  ASSERT_TRUE(WaitFor([&] { return service_.Held() == 1; }, absl::Seconds(10), "the held call's handler"));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    Stop();  // Server::Shutdown waits for the call in flight; the queues' Shutdown for its answer
    stopped = true;
  });
  service_.AnswerHeld();  // a worker answering while the server shuts down
  stopper.join();
  caller.join();
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(held.ok()) << held.error_message();
  EXPECT_EQ(how, "later");
}

// One queue whose pass keeps collecting while its hook waits, for longer than any test runs.
class CallQueuesCollectingTest : public CallQueuesTest {
 protected:
  CallQueuesCollectingTest() : CallQueuesTest(/*threads=*/1, absl::Minutes(10)) {}
};

TEST_F(CallQueuesCollectingTest, APassKeepsCollectingWhileItsHookWaits) {
  grpc::Status first;
  std::string first_how;
  std::thread caller([&] { first = Check("pair", &first_how); });
  ASSERT_TRUE(WaitFor([&] { return service_.Pairs() == 1; }, absl::Seconds(10), "the first call's handler"));
  // Its pass is still open: the hook waits for a second call, which arrives in the same pass.
  std::string how;
  ASSERT_TRUE(Check("pair", &how).ok());
  EXPECT_EQ(how, "after a pass of 2");
  caller.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  EXPECT_EQ(first_how, "after a pass of 2");
  // A hook that does not wait ends its pass at once.
  ASSERT_TRUE(Check("after-pass", &how).ok());
  EXPECT_EQ(how, "after the pass");
}

// The same, but the pass collects for 2 ms only.
class CallQueuesShortCollectTest : public CallQueuesTest {
 protected:
  CallQueuesShortCollectTest() : CallQueuesTest(/*threads=*/1, absl::Milliseconds(2)) {}
};

TEST_F(CallQueuesShortCollectTest, APassEndsWhenTheCollectWaitEnds) {
  std::string how;
  ASSERT_TRUE(Check("pair", &how).ok());  // the hook still waits for a second call; the wait ends the pass
  EXPECT_EQ(how, "after a pass of 1");
}

TEST_F(CallQueuesTest, WithoutACollectWaitAPassTakesWhatIsReady) {
  std::string how;
  ASSERT_TRUE(Check("pair", &how).ok());  // its hook would wait for a second call: there is no wait
  EXPECT_EQ(how, "after a pass of 1");
}

TEST(CallQueuesDefaultTest, TwoQueuesAtLeastThenOnePerFourCpus) {
  EXPECT_EQ(api::CallQueues::DefaultThreads(1), 2);
  EXPECT_EQ(api::CallQueues::DefaultThreads(2), 2);
  EXPECT_EQ(api::CallQueues::DefaultThreads(8), 2);
  EXPECT_EQ(api::CallQueues::DefaultThreads(12), 3);
  EXPECT_EQ(api::CallQueues::DefaultThreads(64), 16);
}

TEST_F(CallQueuesTest, HealthServesStatusesAsGrpcsDefaultService) {
  std::unique_ptr<grpc::HealthCheckServiceInterface> setter = health_.Interface();
  grpc::StatusCode code = grpc::StatusCode::OK;
  EXPECT_EQ(HealthOf("", &code), HealthCheckResponse::SERVING);  // the server's own, from the start
  EXPECT_EQ(code, grpc::StatusCode::OK);
  HealthOf("tact.v1.Throttle", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);  // never set

  setter->SetServingStatus("tact.v1.Throttle", false);
  EXPECT_EQ(HealthOf("tact.v1.Throttle"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::SERVING);
  setter->SetServingStatus(true);  // every service set so far
  EXPECT_EQ(HealthOf("tact.v1.Throttle"), HealthCheckResponse::SERVING);
  setter->SetServingStatus(false);
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf("tact.v1.Throttle"), HealthCheckResponse::NOT_SERVING);

  setter->SetServingStatus(true);
  setter->Shutdown();  // NOT_SERVING, and stays so
  setter->SetServingStatus(true);
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf("tact.v1.Throttle"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(CallQueuesTest, HealthWatchSendsTheStatusThenEachChange) {
  std::unique_ptr<grpc::HealthCheckServiceInterface> setter = health_.Interface();
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader = Watch(ctx, "tact.v1.Signals");
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);  // not set yet
  setter->SetServingStatus("tact.v1.Signals", true);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  setter->SetServingStatus("tact.v1.Signals", false);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  ctx.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(CallQueuesTest, HealthWatchEndsAtTheServicesShutdown) {
  std::unique_ptr<grpc::HealthCheckServiceInterface> setter = health_.Interface();
  setter->SetServingStatus("tact.v1.Throttle", true);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader = Watch(ctx, "tact.v1.Throttle");
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  setter->Shutdown();  // what tactd does before it shuts its server down
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(reader->Read(&response));  // the stream ends by itself: the server's shutdown does not wait for it
  EXPECT_TRUE(reader->Finish().ok());
}

}  // namespace
}  // namespace tact
