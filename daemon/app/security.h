#pragma once
// tactd's secrets and transport security at start: the customer hash key, gRPC server credentials, and the
// Kafka security summary logged once.

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "daemon/ops/config.h"
#include "daemon/ops/kafka_security.h"

namespace tact::app {

// The configured key, or (logged as a warning) a random one: customer hashes then change on restart.
std::string HashKey(const std::string& configured);

// TLS from grpc.tls_cert/key (re-read when the files change), with client certificates required when
// grpc.tls_client_ca is set; or, with grpc.plaintext (logged as a warning), none.
std::shared_ptr<grpc::ServerCredentials> GrpcCredentials(const ops::Settings::Grpc& grpc);

// kafka.security: protocol, mechanism, mTLS, property count and librdkafka's version; warns when this
// librdkafka's SCRAM cannot log in to Apache Kafka 4.x.
void LogKafkaSecurity(const ops::KafkaSecurity& security);

}  // namespace tact::app
