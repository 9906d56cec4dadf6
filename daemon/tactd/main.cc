// tactd: the tact daemon. Kafka pipeline + gRPC API + admin HTTP around one decision service.
// This file only reads settings, builds objects, waits for signals and shuts down in order.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "daemon/api/auth.h"
#include "daemon/api/capacity_service.h"
#include "daemon/api/grpc_stats.h"
#include "daemon/api/signals_service.h"
#include "daemon/api/throttle_service.h"
#include "daemon/campaign/desk.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/clock.h"
#include "daemon/ops/test_clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_reloader.h"
#include "daemon/ops/admin_server.h"
#include "daemon/ops/config.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log.h"
#include "daemon/ops/readiness.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/pipeline/deferred_scheduler.h"
#include "daemon/pipeline/notice_sink.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/pipeline/signal_consumer.h"
#include "daemon/policy/parse.h"
#include "daemon/store/instrumented_counter_store.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/store/redis_counter_store.h"

extern char** environ;

namespace tact {
namespace {

using ops::Log;
using ops::LogLevel;

constexpr int kExitUsage = 2;

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.starts_with("TACT_")) {
      env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return env;
}

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

// exactly_once: the configured transactional.id, or <group id>-<host name> (stable across restarts).
std::string TransactionalId(const ops::Config& config) {
  if (!config.transactional_id.empty()) {
    return config.transactional_id;
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(config.kafka_group_id, "-", host);
}

// gRPC's and protobuf's own log lines as JSON lines too, so stderr is one JSON object per line.
void GrpcLog(gpr_log_func_args* args) {
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError
                         : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                                   : LogLevel::kDebug;
  Log(level, "grpc.log", {{"message", args->message}, {"file", absl::StrCat(args->file, ":", args->line)}});
}
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  Log(level >= google::protobuf::LOGLEVEL_ERROR ? LogLevel::kError : LogLevel::kWarning, "protobuf.log",
      {{"message", message}, {"file", absl::StrCat(file, ":", line)}});
}

void LogReload(const absl::Status& s, const decision::PolicyReloader& reloader, const decision::PolicyHolder& holder,
               decision::PolicyMetrics& metrics) {
  const decision::PolicyReloadStats st = reloader.stats();
  if (!s.ok()) {  // the last good policy keeps serving
    metrics.LoadFailed();
    Log(LogLevel::kError, "policy.reload_failed",
        {{"error", std::string(s.message())}, {"failures_total", absl::StrCat(st.reload_failures_total)},
         {"serving_version", st.version}});
    return;
  }
  Log(LogLevel::kInfo, "policy.loaded", {{"version", st.version}, {"digest", st.digest}});
  if (const std::shared_ptr<const policy::Policy> p = holder.Get()) {
    metrics.Loaded(*p);
  }
}

int Main(int argc, char** argv) {
  // Debian's abseil is built with Mutex deadlock detection on: a global lock-order graph updated on every lock
  // of every absl::Mutex (ours and gRPC's). It costs ~5% CPU on the Check path; turn it off before any thread.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Signals are handled by sigwait on the main thread: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"tactd: decides whether each proactive message goes out now, later or never"};
  std::string config_file;
  bool print_config = false;
  app.add_option("--config", config_file, "YAML config file (every key can also be a flag or TACT_* variable)");
  app.add_flag("--print-config", print_config, "Print the effective configuration and exit");
  std::map<std::string, std::string> flag_values;
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty()) continue;  // secrets: environment only
    app.add_option(k.flag, flag_values[k.path], absl::StrCat(k.help, " [", k.path, ", ", k.env, "]"));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  ops::Config config;
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) {
      std::fprintf(stderr, "tactd: %s: cannot read config file\n", config_file.c_str());
      return kExitUsage;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (absl::Status s = ops::ApplyConfigFile(config_file, text.str(), config); !s.ok()) {
      std::fprintf(stderr, "tactd: %s\n", std::string(s.message()).c_str());
      return kExitUsage;
    }
  }
  if (absl::Status s = ops::ApplyEnvironment(Environment(), config); !s.ok()) {
    std::fprintf(stderr, "tactd: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty() || app.count(k.flag) == 0) continue;
    if (absl::Status s = k.set(config, flag_values[k.path]); !s.ok()) {
      std::fprintf(stderr, "tactd: %s: %s\n", k.flag.c_str(), std::string(s.message()).c_str());
      return kExitUsage;
    }
  }
  if (absl::Status s = ops::Validate(config); !s.ok()) {
    std::fprintf(stderr, "tactd: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (print_config) {
    std::fputs(ops::FormatConfig(config).c_str(), stdout);
    return 0;
  }
  // Password files are read and TLS files checked now (not for --print-config, which checks manifests anywhere):
  // a mistake is a usage error, not a retry loop.
  absl::StatusOr<ops::KafkaSecurity> kafka_security = ops::LoadKafkaSecurity(config);
  if (!kafka_security.ok()) {
    std::fprintf(stderr, "tactd: %s\n", std::string(kafka_security.status().message()).c_str());
    return kExitUsage;
  }
  ops::LogLevel level;
  ops::ParseLogLevel(config.log_level, &level);
  ops::SetLogLevel(level);
  gpr_set_log_function(GrpcLog);
  google::protobuf::SetLogHandler(ProtobufLog);

  SystemClock system_clock;
  std::unique_ptr<ops::OffsetFileClock> test_clock;
  if (!config.test_clock_offset_file.empty()) {
    test_clock = std::make_unique<ops::OffsetFileClock>(config.test_clock_offset_file);
    ops::Log(ops::LogLevel::kWarning, "clock.test_offset_file",
             {{"file", config.test_clock_offset_file}, {"note", "tests only: wall time is moved by this file"}});
  }
  const Clock& clock = test_clock ? static_cast<const Clock&>(*test_clock) : system_clock;
  // One registry for every subsystem's stats, served on the admin port at /metrics.
  prometheus::Registry registry;
  ops::ProcessStats process_stats(registry);
  process_stats.build_info.Set({TACT_VERSION}, 1);
  process_stats.start_time_seconds.Set({}, absl::ToDoubleSeconds(clock.Now() - absl::UnixEpoch()));
  decision::DecisionStats decision_stats(registry);
  decision::PolicyMetrics policy_metrics(registry);
  store::StoreStats store_stats(registry);
  pipeline::PipelineStats pipeline_stats(registry);
  api::GrpcStats grpc_stats(registry);

  decision::PolicyHolder policies;
  // <policies>/tests/*.yaml, when that directory exists at a load, must pass before a policy set is swapped in.
  decision::PolicyReloader reloader(config.policies, policies, clock, config.policies + "/tests");
  if (absl::Status s = reloader.Reload(); !s.ok()) {
    LogReload(s, reloader, policies, policy_metrics);
    return kExitUsage;
  }
  LogReload(absl::OkStatus(), reloader, policies, policy_metrics);
  store::RedisSettings redis;
  if (absl::Status s = store::ParseRedisAddress(config.redis, &redis); !s.ok()) {
    std::fprintf(stderr, "tactd: --redis: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  redis.pool_size = config.redis_pool_size;
  redis.seen_ttl = *policy::ParseDuration(config.seen_ttl);
  redis.batching = config.redis_batching == "pipeline" ? store::RedisSettings::Batching::kPipelined
                                                       : store::RedisSettings::Batching::kOneScript;
  redis.legacy_keys = config.redis_legacy_keys == "true";
  redis.tls = {.enabled = config.redis_tls == "true",
               .ca_file = config.redis_tls_ca_file,
               .cert_file = config.redis_tls_cert_file,
               .key_file = config.redis_tls_key_file,
               .server_name = config.redis_tls_server_name};
  redis.auth = {.username = config.redis_username,
                .password = config.redis_password,
                .password_file = config.redis_password_file};
  if (absl::Status s = store::CheckRedisSecurity(redis.tls, redis.auth); !s.ok()) {
    std::fprintf(stderr, "tactd: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (config.redis_key_secret.empty()) {
    Log(LogLevel::kWarning, "config.redis_key_secret_missing",
        {{"detail", "TACT_REDIS_KEY_SECRET unset: Redis key tags use the public key; anyone who knows a tenant and "
                    "customer id can compute that customer's keys"}});
  }
  store::RedisCounterStore redis_store(redis, clock, store::KeySchema(config.redis_key_secret));
  store::InstrumentedCounterStore store(redis_store, store_stats, clock);
  const CustomerHasher hasher(HashKey(config.customer_hash_key));
  // Campaign gate: staffing, released plans and paced-interval counts in Redis (capacity_store.h).
  store::RedisCapacityStore capacity_store(redis);
  campaign::StoreGateEnforcer campaign_gate(capacity_store, clock);
  decision::DecisionService decider(policies, store, clock, hasher,
                                    {.store_deadline = absl::Milliseconds(config.store_deadline_ms),
                                     .fail_open_classes = *ops::ParseClassList(config.fail_open_classes),
                                     .stats = &decision_stats,
                                     .campaign_gate = &campaign_gate});

  // gRPC: Throttle + Policies + Signals + health + reflection, behind TLS (or explicit plaintext) and bearer tokens.
  std::unique_ptr<api::Authenticator> authenticator;
  if (!config.grpc_clients_file.empty()) {
    std::ifstream in(config.grpc_clients_file);
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::vector<api::Client>> clients =
        in ? api::ParseClients(config.grpc_clients_file, text.str())
           : absl::StatusOr<std::vector<api::Client>>(
                 absl::NotFoundError(absl::StrCat(config.grpc_clients_file, ": cannot read")));
    if (!clients.ok()) {
      std::fprintf(stderr, "tactd: grpc.clients_file: %s\n", std::string(clients.status().message()).c_str());
      return kExitUsage;
    }
    Log(LogLevel::kInfo, "grpc.clients_loaded", {{"clients", absl::StrCat(clients->size())}});
    authenticator = std::make_unique<api::Authenticator>(*std::move(clients), clock);
  } else {
    Log(LogLevel::kWarning, "grpc.no_authentication", {{"detail", "grpc.clients_file unset: every caller may act for every tenant"}});
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (config.grpc_plaintext == "true") {
    Log(LogLevel::kWarning, "grpc.plaintext", {{"detail", "gRPC without TLS: for local use only"}});
    credentials = grpc::InsecureServerCredentials();
  } else {
    // Certificates are re-read when the files change (e.g. a rotated Kubernetes Secret).
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        config.grpc_tls_key, config.grpc_tls_cert, config.grpc_tls_client_ca, /*refresh_interval_sec=*/60);
    grpc::experimental::TlsServerCredentialsOptions tls(provider);
    tls.watch_identity_key_cert_pairs();
    if (!config.grpc_tls_client_ca.empty()) {
      tls.watch_root_certs();
      tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
      tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    credentials = grpc::experimental::TlsServerCredentials(tls);
  }
  api::CallGate gate(authenticator.get(), clock);
  decision::DecisionExecutor executor(decider, config.grpc_workers, /*max_queue=*/8192, /*max_batch=*/64);
  const api::ApiOptions api_options{.max_batch = config.grpc_max_batch,
                                    .store_deadline = absl::Milliseconds(config.store_deadline_ms)};
  api::ThrottleService throttle(executor, gate, api_options);
  api::PoliciesService policies_service(policies, gate, [&reloader] { return reloader.stats().last_error; });
  Log(LogLevel::kInfo, "kafka.security",
      {{"protocol", kafka_security->protocol},
       {"sasl_mechanism", kafka_security->sasl_mechanism},
       {"mtls", kafka_security->ssl_certificate_location.empty() ? "false" : "true"},
       {"properties", absl::StrCat(kafka_security->properties.size())},
       {"librdkafka", RdKafka::version_str()}});
  if (kafka_security->sasl_mechanism.starts_with("SCRAM") && RdKafka::version() < 0x020601ff) {
    // librdkafka before 2.6.1 repeats the client nonce in SCRAM's final message; Apache Kafka 4.x checks it
    // strictly (RFC 5802) and refuses every login as "invalid credentials" (librdkafka PR #4895).
    Log(LogLevel::kWarning, "kafka.scram_unsupported_by_brokers_4x",
        {{"librdkafka", RdKafka::version_str()},
         {"detail", "this librdkafka's SCRAM is refused by Apache Kafka 4.x brokers (fixed in librdkafka 2.6.1); "
                    "against 4.x use SASL PLAIN over SASL_SSL or mTLS"}});
  }
  // Campaign gate: staffing and released plans in Redis, notices on tact.campaign-notices. Its store I/O runs
  // on its own small worker pool, not on the DecisionExecutor.
  absl::StatusOr<std::unique_ptr<pipeline::KafkaNoticeSink>> notices =
      pipeline::KafkaNoticeSink::Create(config.kafka_brokers, *kafka_security, campaign::kCampaignNoticesTopic);
  if (!notices.ok()) {
    Log(LogLevel::kError, "kafka.setup_failed", {{"error", std::string(notices.status().message())}});
    return 1;
  }
  campaign::CampaignDesk campaign_desk(capacity_store, **notices, clock);
  // Pause thresholds; the desk is SignalIntake's CampaignFeedback.
  campaign_desk.set_policies([&policies] { return policies.Get(); });
  api::CapacityWorkers capacity_workers(/*threads=*/2, /*max_queue=*/256);
  api::CapacityService capacity_service(campaign_desk, gate, capacity_workers);
  api::CampaignsService campaigns_service(campaign_desk, gate, capacity_workers);
  // One signal intake for Signals.PutSignal and the tact.signals consumer (below); signals naming a campaign feed
  // its feedback loop. PutSignal's store work and GetCustomerState's reads run on the DecisionExecutor's threads.
  decision::SignalIntake signal_intake(store, &campaign_desk);
  api::SignalsService signals_service(signal_intake, policies, store, hasher, executor, gate, api_options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config.grpc_listen, credentials, &grpc_port);
  builder.RegisterService(&throttle);
  builder.RegisterService(&policies_service);
  builder.RegisterService(&signals_service);
  builder.RegisterService(&capacity_service);
  builder.RegisterService(&campaigns_service);
  builder.SetMaxReceiveMessageSize(config.grpc_max_message_bytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<api::GrpcStatsInterceptorFactory>(grpc_stats, clock));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    Log(LogLevel::kError, "grpc.listen_failed", {{"address", config.grpc_listen}});
    return 1;
  }
  Log(LogLevel::kInfo, "grpc.listening", {{"address", config.grpc_listen}, {"port", absl::StrCat(grpc_port)}});

  // Every output topic's max.message.bytes, once: sizes the producers and decides what goes to tact.dlq as too large.
  const pipeline::TopicLimits topic_limits = pipeline::LearnTopicLimits(
      config.kafka_brokers, *kafka_security,
      {config.topic_released, config.topic_deferred, config.topic_suppressed, config.topic_decisions,
       config.topic_dlq, config.topic_outbound},
      absl::Seconds(5));
  absl::StatusOr<std::unique_ptr<pipeline::Pipeline>> pipe =
      pipeline::Pipeline::Create({.brokers = config.kafka_brokers,
                                  .kafka_security = *kafka_security,
                                  .group_id = config.kafka_group_id,
                                  .session_timeout_ms = config.kafka_session_timeout_ms,
                                  .group_instance_id = config.kafka_group_instance_id,
                                  .statistics_interval_ms = config.kafka_statistics_interval_ms,
                                  .topics = {.outbound = config.topic_outbound,
                                             .released = config.topic_released,
                                             .deferred = config.topic_deferred,
                                             .suppressed = config.topic_suppressed,
                                             .decisions = config.topic_decisions,
                                             .dlq = config.topic_dlq},
                                  .guarantee = config.processing_guarantee == "exactly_once"
                                                   ? pipeline::Guarantee::kExactlyOnce
                                                   : pipeline::Guarantee::kAtLeastOnce,
                                  .transactional_id = TransactionalId(config),
                                  .transaction_max_events = config.transaction_max_events,
                                  .transaction_max_age = absl::Milliseconds(config.transaction_max_age_ms),
                                  .batch_max_events = config.batch_max_events,
                                  .batch_max_wait = absl::Milliseconds(config.batch_max_wait_ms),
                                  .stats = &pipeline_stats,
                                  .limits = topic_limits},
                                 decider);
  if (!pipe.ok()) {
    Log(LogLevel::kError, "kafka.setup_failed", {{"error", std::string(pipe.status().message())}});
    return 1;
  }
  std::thread pipeline_thread([&] { (*pipe)->Run(); });

  // tact.signals → the store (its own group and thread); tact.deferred → decided again when due (likewise).
  pipeline::SignalStats signal_stats(registry);
  pipeline::DeferredStats deferred_stats(registry);
  std::vector<std::pair<pipeline::InputWorker*, std::thread>> workers;
  std::unique_ptr<pipeline::SignalConsumer> signal_consumer;
  std::unique_ptr<pipeline::DeferredScheduler> deferred_scheduler;
  auto worker_options = [&](const std::string& topic, const std::string& suffix) {
    return pipeline::InputWorkerOptions{.brokers = config.kafka_brokers,
                                        .kafka_security = *kafka_security,
                                        .group_id = absl::StrCat(config.kafka_group_id, "-", suffix),
                                        .client_id = absl::StrCat("tactd-", suffix),
                                        .topic = topic,
                                        .session_timeout_ms = config.kafka_session_timeout_ms,
                                        .drain_budget = absl::Seconds(10),
                                        .dlq_topic = config.topic_dlq,
                                        .limits = topic_limits};
  };
  if (config.signals_enabled == "true") {
    absl::StatusOr<std::unique_ptr<pipeline::SignalConsumer>> c = pipeline::SignalConsumer::Create(
        {.kafka = worker_options(config.topic_signals, "signals"),
         .dlq_topic = config.topic_dlq,
         .store_deadline = absl::Milliseconds(config.store_deadline_ms),
         .stats = &signal_stats},
        signal_intake, clock);
    if (!c.ok()) {
      Log(LogLevel::kError, "kafka.setup_failed", {{"error", std::string(c.status().message())}});
      (*pipe)->RequestStop();
      pipeline_thread.join();
      return 1;
    }
    signal_consumer = *std::move(c);
  }
  if (config.deferred_enabled == "true") {
    pipeline::MaxAges max_age = pipeline::DefaultMaxAges();
    const absl::StatusOr<pipeline::MaxAges> configured = ops::ParseClassDurations(config.deferred_max_age);
    if (configured.ok()) {  // checked when the setting was read
      for (const auto& [cls, limit] : *configured) {
        max_age[cls] = limit;
      }
    }
    absl::StatusOr<std::unique_ptr<pipeline::DeferredScheduler>> d = pipeline::DeferredScheduler::Create(
        {.kafka = worker_options(config.topic_deferred, "deferred"),
         .outbound_topic = config.topic_outbound,
         .decisions_topic = config.topic_decisions,
         .suppressed_topic = config.topic_suppressed,
         .dlq_topic = config.topic_dlq,
         .max_age = std::move(max_age),
         .max_held = static_cast<size_t>(config.deferred_max_held),
         .retry_interval = *policy::ParseDuration(config.deferred_retry_interval),
         .stats = &deferred_stats,
         .pipeline_stats = &pipeline_stats},
        clock, hasher);
    if (!d.ok()) {
      Log(LogLevel::kError, "kafka.setup_failed", {{"error", std::string(d.status().message())}});
      (*pipe)->RequestStop();
      pipeline_thread.join();
      return 1;
    }
    deferred_scheduler = *std::move(d);
  }
  for (pipeline::InputWorker* w : {static_cast<pipeline::InputWorker*>(signal_consumer.get()),
                                   static_cast<pipeline::InputWorker*>(deferred_scheduler.get())}) {
    if (w != nullptr) {
      workers.emplace_back(w, std::thread([w] { w->Run(); }));
    }
  }
  auto stop_workers = [&] {
    for (auto& [w, t] : workers) {
      w->RequestStop();
    }
    for (auto& [w, t] : workers) {
      t.join();
    }
    workers.clear();
  };

  // Readiness: a policy is loaded, Redis answers, the consumer has joined its group. Pushed to gRPC health,
  // served on /readyz (ops::Evaluate).
  std::atomic<bool> redis_ok{false};
  auto readiness = [&] {
    return ops::Evaluate({.policy_loaded = policies.Get() != nullptr,
                          .redis_reachable = redis_ok.load(),
                          .kafka_joined = (*pipe)->GroupJoined(),
                          .kafka_assigned = (*pipe)->HasAssignment()});
  };
  ops::AdminServer admin(readiness, &registry);
  if (absl::Status s = admin.Start(config.admin_listen); !s.ok()) {
    Log(LogLevel::kError, "admin.listen_failed", {{"error", std::string(s.message())}});
    (*pipe)->RequestStop();
    pipeline_thread.join();
    stop_workers();
    return 1;
  }
  Log(LogLevel::kInfo, "admin.listening", {{"address", config.admin_listen}, {"port", absl::StrCat(admin.port())}});

  absl::Notification stopping;
  std::thread health_thread([&] {
    bool last = false;
    bool first = true;
    do {
      redis_ok.store(store.Healthy());
      if (absl::StatusOr<bool> changed = reloader.PollForChange(); !changed.ok() || *changed) {
        LogReload(changed.status(), reloader, policies, policy_metrics);  // a policy file changed on disk
      }
      const bool ready = readiness().ready;
      process_stats.ready.Set({}, ready ? 1 : 0);
      if (first || ready != last) {
        server->GetHealthCheckService()->SetServingStatus(ready);
        server->GetHealthCheckService()->SetServingStatus("tact.v1.Throttle", ready);
        server->GetHealthCheckService()->SetServingStatus("tact.v1.Signals", ready);
        Log(ready ? LogLevel::kInfo : LogLevel::kWarning, ready ? "health.serving" : "health.not_serving");
        last = ready;
        first = false;
      }
    } while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });

  Log(LogLevel::kInfo, "tactd.started");
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      Log(LogLevel::kInfo, "policy.reload_requested");
      LogReload(reloader.Reload(), reloader, policies, policy_metrics);  // an invalid set keeps the last good one
      continue;
    }
    break;
  }

  // SIGTERM/SIGINT: stop fetching and drain the pipeline, then stop serving.
  Log(LogLevel::kInfo, "tactd.stopping");
  stopping.Notify();
  health_thread.join();
  server->GetHealthCheckService()->SetServingStatus(false);
  (*pipe)->RequestStop();
  for (auto& [w, t] : workers) {
    w->RequestStop();  // all three drain at once, within the 30 s SIGTERM budget
  }
  pipeline_thread.join();
  stop_workers();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  admin.Stop();
  pipe->reset();
  Log(LogLevel::kInfo, "tactd.stopped");
  return 0;
}

}  // namespace
}  // namespace tact

int main(int argc, char** argv) { return tact::Main(argc, argv); }
