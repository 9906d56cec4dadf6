// The gRPC surface over a real port: authentication, tenant isolation, quotas, validation, limits, deadlines,
// batches, and TLS / mutual TLS with certificates made by openssl in the test.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tact/v1/policies.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/grpc_client.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::CheckRequestFor;
using testing::ClientEntry;
using testing::DevBroker;
using testing::PrepareCall;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;

constexpr char kTokenA[] = "token-for-crm-a";  // test credentials, not secrets
constexpr char kTokenB[] = "token-for-crm-b";

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class GrpcApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new testing::SuiteStack([](const std::string& dir) {
      const std::string clients = dir + "/clients.yaml";
      WriteFile(clients, absl::StrCat("clients:\n", ClientEntry("crm-a", kTokenA, "acme", 1000, 1000),
                                      ClientEntry("crm-b", kTokenB, "beta", 0.5, 3)));
      return std::vector<std::string>{"--grpc-clients-file", clients, "--grpc-max-message-bytes", "16384",
                                      "--grpc-max-batch", "10"};
    });
  }
  static void TearDownTestSuite() { delete stack_; }
  void TearDown() override {
    if (HasFailure()) std::cerr << stack_->tactd.process().Log();
  }

  static grpc::Status Check(const v1::CheckRequest& req, const std::string& token, v1::CheckResponse* resp,
                            std::chrono::milliseconds deadline = std::chrono::seconds(5),
                            std::string* retry_after_ms = nullptr) {
    grpc::ClientContext ctx;
    PrepareCall(ctx, token, deadline);
    auto stub = v1::Throttle::NewStub(stack_->channel);
    grpc::Status s = stub->Check(&ctx, req, resp);
    if (retry_after_ms != nullptr) {  // copy out: the metadata lives in `ctx`
      const auto& trailers = ctx.GetServerTrailingMetadata();
      auto it = trailers.find("retry-after-ms");
      *retry_after_ms = it == trailers.end() ? "" : std::string(it->second.data(), it->second.size());
    }
    return s;
  }

  static testing::SuiteStack* stack_;
};

testing::SuiteStack* GrpcApiTest::stack_ = nullptr;

TEST_F(GrpcApiTest, MissingOrUnknownTokenIsUnauthenticated) {
  v1::CheckResponse resp;
  grpc::Status s = Check(CheckRequestFor("u1", "acme"), "", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = Check(CheckRequestFor("u2", "acme"), "not-a-token", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "unknown bearer token");
  EXPECT_EQ(stack_->tactd.process().Log().find("not-a-token"), std::string::npos);  // tokens are never logged
}

TEST_F(GrpcApiTest, ClientCannotActForAnotherTenant) {
  v1::CheckResponse resp;
  EXPECT_TRUE(Check(CheckRequestFor("iso-1", "acme", "shared-id"), kTokenA, &resp).ok());
  const grpc::Status s = Check(CheckRequestFor("iso-2", "beta", "shared-id"), kTokenA, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "event.tenant: client 'crm-a' may not act for tenant 'beta'");
  // Same customer id in two tenants: separate counters (crm-b's call is not affected by crm-a's).
  const grpc::Status b = Check(CheckRequestFor("iso-3", "beta", "shared-id"), kTokenB, &resp);
  EXPECT_TRUE(b.ok()) << b.error_message();
  EXPECT_EQ(resp.decision().counters(0).used(), 0);
}

TEST_F(GrpcApiTest, QuotaExceededIsResourceExhaustedWithRetryDelay) {
  v1::CheckResponse resp;
  int exhausted = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    const grpc::Status s = Check(CheckRequestFor(absl::StrCat("q-", i), "beta", absl::StrCat("q", i)), kTokenB, &resp,
                                 std::chrono::seconds(5), &retry_after);
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_NE(s.error_message().find("over its quota"), std::string::npos);
      EXPECT_GT(std::atoi(retry_after.c_str()), 0) << "retry-after-ms trailer";
    }
  }
  EXPECT_GE(exhausted, 2);  // burst 3, 0.5/s: at most 3 or 4 of 6 get through
  // crm-a is unaffected by crm-b's exhaustion.
  EXPECT_TRUE(Check(CheckRequestFor("q-a", "acme", "qa"), kTokenA, &resp).ok());
}

TEST_F(GrpcApiTest, InvalidRequestsNameTheField) {
  v1::CheckResponse resp;
  v1::CheckRequest req = CheckRequestFor("v1", "acme");
  req.mutable_event()->set_channel(static_cast<v1::Channel>(42));  // unknown enum value
  grpc::Status s = Check(req, kTokenA, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.channel: required: one of EMAIL, SMS, PUSH, IN_APP");

  req = CheckRequestFor("v2", "acme");
  req.mutable_event()->mutable_created_at()->set_seconds(4'000'000'000);  // year 2096
  s = Check(req, kTokenA, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.created_at: more than 24h in the future");

  req = CheckRequestFor("v3", "acme");
  (*req.mutable_event()->mutable_attributes())["k"] = std::string(2000, 'x');
  s = Check(req, kTokenA, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.attributes: an entry's key + value longer than 1024 bytes");
}

TEST_F(GrpcApiTest, OversizedRequestIsRejectedWhileGoodCallersCarryOn) {
  std::atomic<int> good_ok{0};
  std::atomic<bool> stop{false};
  std::thread good([&] {
    for (int i = 0; !stop.load(); ++i) {
      v1::CheckResponse r;
      good_ok += Check(CheckRequestFor(absl::StrCat("good-", i), "acme", absl::StrCat("g", i)), kTokenA, &r).ok();
    }
  });
  v1::CheckRequest big = CheckRequestFor("big", "acme");
  big.mutable_event()->set_payload(std::string(64 * 1024, 'p'));
  v1::CheckResponse resp;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Check(big, kTokenA, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  ASSERT_TRUE(testing::WaitFor([&] { return good_ok.load() >= 20; }, absl::Seconds(20), "good calls succeed"));
  stop.store(true);
  good.join();
}

TEST_F(GrpcApiTest, ExpiredDeadlineIsDeadlineExceeded) {
  v1::CheckResponse resp;
  const grpc::Status s = Check(CheckRequestFor("dl-1", "acme", "dl"), kTokenA, &resp, std::chrono::milliseconds(-1));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(GrpcApiTest, CheckBatchGivesPerItemResultsInOrder) {
  v1::CheckBatchRequest req;
  *req.add_items() = CheckRequestFor("b-1", "acme", "batch-cust");
  *req.add_items() = CheckRequestFor("b-2", "acme", "batch-cust");
  *req.add_items() = CheckRequestFor("b-3", "beta", "batch-cust");  // not crm-a's tenant
  v1::CheckRequest bad = CheckRequestFor("b-4", "acme", "");
  *req.add_items() = bad;
  *req.add_items() = CheckRequestFor("b-5", "acme", "batch-cust");
  v1::CheckBatchResponse resp;
  grpc::ClientContext ctx;
  PrepareCall(ctx, kTokenA);
  const grpc::Status s = v1::Throttle::NewStub(stack_->channel)->CheckBatch(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), 5);
  EXPECT_EQ(resp.results(0).decision().decision(), v1::RELEASE);
  EXPECT_EQ(resp.results(1).decision().decision(), v1::RELEASE);
  EXPECT_EQ(resp.results(2).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(resp.results(3).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(resp.results(3).error_message(), "items[3].event.customer_id: required");
  EXPECT_EQ(resp.results(4).decision().decision(), v1::SUPPRESS);  // third proactive email, in order
  EXPECT_EQ(resp.results(4).decision().rule_id(), "proactive-service-2-per-7d");

  v1::CheckBatchRequest too_many;
  for (int i = 0; i < 11; ++i) *too_many.add_items() = CheckRequestFor(absl::StrCat("tm-", i), "acme");
  grpc::ClientContext ctx2;
  ctx2.AddMetadata("authorization", std::string("Bearer ") + kTokenA);
  auto stub = v1::Throttle::NewStub(stack_->channel);
  const auto call_start = std::chrono::steady_clock::now();
  const grpc::Status s2 = stub->CheckBatch(&ctx2, too_many, &resp);
  const double call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - call_start).count();
  EXPECT_EQ(s2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s2.error_message(), "items: 11 items, at most 10 per call");
  // Refused before the gate, and still logged with its own latency (not the time since the machine booted).
  constexpr std::string_view kRefused = R"("method":"CheckBatch","code":"INVALID_ARGUMENT","latency_ms":")";
  std::string log;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        log = stack_->tactd.process().Log();
        return log.find(kRefused) != std::string::npos;
      },
      absl::Seconds(10), "the refused call's access log line"));
  const size_t at = log.find(kRefused) + kRefused.size();
  double latency_ms = -1;
  ASSERT_TRUE(absl::SimpleAtod(log.substr(at, log.find('"', at) - at), &latency_ms));
  EXPECT_GE(latency_ms, 0);
  // The handler ran inside the client's call: its latency cannot exceed what the client saw (plus the log's
  // rounding). The time since boot, which it logged before, would.
  EXPECT_LE(latency_ms, call_ms + 1);
}

TEST_F(GrpcApiTest, GetPolicyNamesVersionAndDigest) {
  grpc::ClientContext ctx;
  PrepareCall(ctx, kTokenA);
  v1::PolicyInfo info;
  const grpc::Status s = v1::Policies::NewStub(stack_->channel)->GetPolicy(&ctx, v1::GetPolicyRequest(), &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(info.version().empty());
  EXPECT_EQ(info.digest().size(), 64u);
  EXPECT_GE(info.rule_ids_size(), 1);
}

// Mutual TLS with certificates made by openssl: the right client certificate is accepted, a certificate from
// another CA and no certificate are refused.
class MutualTlsTest : public ::testing::Test {};

std::string Run(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return rc == 0 ? "" : "failed: " + cmd;
}

void MakeCa(const std::string& d, const std::string& name) {
  ASSERT_EQ(Run(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=", name, " -keyout ", d,
                             "/", name, ".key -out ", d, "/", name, ".pem")),
            "");
}
void MakeCert(const std::string& d, const std::string& ca, const std::string& name, bool server) {
  const std::string ext = d + "/" + name + ".ext";
  WriteFile(ext, server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\n" : "extendedKeyUsage=clientAuth\n");
  ASSERT_EQ(Run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj /CN=", name, " -keyout ", d, "/", name,
                             ".key -out ", d, "/", name, ".csr")),
            "");
  ASSERT_EQ(Run(absl::StrCat("openssl x509 -req -in ", d, "/", name, ".csr -CA ", d, "/", ca, ".pem -CAkey ", d, "/",
                             ca, ".key -CAcreateserial -days 2 -extfile ", ext, " -out ", d, "/", name, ".pem")),
            "");
}

TEST_F(MutualTlsTest, RightClientCertificateIsAcceptedOthersAreRefused) {
  TempDir dir;
  const std::string d = dir.path();
  MakeCa(d, "ca");
  MakeCa(d, "other-ca");
  MakeCert(d, "ca", "server", true);
  MakeCert(d, "ca", "client", false);
  MakeCert(d, "other-ca", "intruder", false);
  RedisServer redis(d);
  DevBroker broker(d, 1);
  Tactd tactd(d, broker.bootstrap(), redis.address(),
              {"--grpc-tls-cert", d + "/server.pem", "--grpc-tls-key", d + "/server.key", "--grpc-tls-client-ca",
               d + "/ca.pem"});
  auto call = [&](const std::string& client) {
    grpc::SslCredentialsOptions opts;
    opts.pem_root_certs = testing::ReadFile(d + "/ca.pem");
    if (!client.empty()) {
      opts.pem_private_key = testing::ReadFile(d + "/" + client + ".key");
      opts.pem_cert_chain = testing::ReadFile(d + "/" + client + ".pem");
    }
    auto stub = v1::Throttle::NewStub(grpc::CreateChannel(tactd.grpc_target(), grpc::SslCredentials(opts)));
    grpc::ClientContext ctx;
    PrepareCall(ctx, "");  // mTLS only, no bearer token
    v1::CheckResponse resp;
    return stub->Check(&ctx, CheckRequestFor("tls-1", "acme"), &resp);
  };
  const grpc::Status ok = call("client");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(call("intruder").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call("").error_code(), grpc::StatusCode::UNAVAILABLE);
  // A plaintext client cannot talk to the TLS port at all.
  auto plain = v1::Throttle::NewStub(grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  PrepareCall(ctx, "", std::chrono::seconds(3));
  v1::CheckResponse resp;
  EXPECT_FALSE(plain->Check(&ctx, CheckRequestFor("tls-2", "acme"), &resp).ok());
}

}  // namespace
}  // namespace tact
