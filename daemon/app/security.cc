#include "daemon/app/security.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <librdkafka/rdkafkacpp.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"

namespace tact::app {

using ops::Log;
using ops::LogLevel;

std::string HashKey(const std::string& configured) {
  if (!configured.empty()) {
    return configured;
  }
  Log(LogLevel::kWarning, "config.hash_key_missing",
      {{"detail", "TACT_CUSTOMER_HASH_KEY unset: using a random key; customer hashes change on restart"}});
  std::random_device rd;
  std::string key(32, '\0');
  for (char& c : key) {
    c = static_cast<char>(rd());
  }
  return key;
}

std::shared_ptr<grpc::ServerCredentials> GrpcCredentials(const ops::Settings::Grpc& grpc) {
  if (grpc.plaintext) {
    Log(LogLevel::kWarning, "grpc.plaintext", {{"detail", "gRPC without TLS: for local use only"}});
    return grpc::InsecureServerCredentials();
  }
  // Certificates are re-read when the files change (e.g. a rotated Kubernetes Secret).
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      grpc.tls_key, grpc.tls_cert, grpc.tls_client_ca, /*refresh_interval_sec=*/60);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!grpc.tls_client_ca.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

void LogKafkaSecurity(const ops::KafkaSecurity& security) {
  Log(LogLevel::kInfo, "kafka.security",
      {{"protocol", security.protocol},
       {"sasl_mechanism", security.sasl_mechanism},
       {"mtls", security.ssl_certificate_location.empty() ? "false" : "true"},
       {"properties", absl::StrCat(security.properties.size())},
       {"librdkafka", RdKafka::version_str()}});
  if (security.sasl_mechanism.starts_with("SCRAM") && RdKafka::version() < 0x020601ff) {
    // librdkafka before 2.6.1 repeats the client nonce in SCRAM's final message; Apache Kafka 4.x checks it
    // strictly (RFC 5802) and refuses every login as "invalid credentials" (librdkafka PR #4895).
    Log(LogLevel::kWarning, "kafka.scram_unsupported_by_brokers_4x",
        {{"librdkafka", RdKafka::version_str()},
         {"detail", "this librdkafka's SCRAM is refused by Apache Kafka 4.x brokers (fixed in librdkafka 2.6.1); "
                    "against 4.x use SASL PLAIN over SASL_SSL or mTLS"}});
  }
}

}  // namespace tact::app
