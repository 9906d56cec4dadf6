#include "daemon/app/app.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include "absl/strings/str_cat.h"
#include "daemon/app/security.h"
#include "daemon/decision/policy_files.h"
#include "daemon/ops/cpus.h"
#include "daemon/ops/log.h"
#include "daemon/ops/readiness.h"

namespace tact::app {
namespace {

using ops::Log;
using ops::LogLevel;

// exactly_once: the configured transactional.id, or <group id>-<host name> (stable across restarts).
std::string TransactionalId(const ops::Settings& settings) {
  if (!settings.processing.transactional_id.empty()) {
    return settings.processing.transactional_id;
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(settings.kafka.group_id, "-", host);
}

absl::Status SetupFailed(const absl::Status& s) {
  Log(LogLevel::kError, "kafka.setup_failed", {{"error", std::string(s.message())}});
  return absl::UnavailableError(s.message());
}

}  // namespace

int ExitCode(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsFailedPrecondition(status) ? 2 : 1;
}

App::App(const ops::Settings& settings, AppOptions options) : settings_(settings), options_(std::move(options)) {}

App::~App() { Stop(); }

absl::StatusOr<std::unique_ptr<App>> App::Start(const ops::Settings& settings, AppOptions options) {
  std::unique_ptr<App> app(new App(settings, std::move(options)));
  if (absl::Status s = app->StartAll(); !s.ok()) {
    return s;  // `app` stops what it started
  }
  return app;
}

absl::Status App::StartAll() {
  if (absl::Status s = LoadKafkaSecurity(); !s.ok()) return s;
  BuildClock();
  if (absl::Status s = BuildPolicyHistory(); !s.ok()) return s;
  if (absl::Status s = LoadPolicies(); !s.ok()) return s;
  if (absl::Status s = BuildStore(); !s.ok()) return s;
  BuildDecider();
  if (absl::Status s = BuildCallGate(); !s.ok()) return s;
  if (absl::Status s = BuildGrpcRecords(); !s.ok()) return s;
  BuildDecisionApi();
  if (absl::Status s = BuildCampaignDesk(); !s.ok()) return s;
  if (absl::Status s = StartGrpc(); !s.ok()) return s;
  if (absl::Status s = StartPipeline(); !s.ok()) return s;
  if (absl::Status s = StartSignalConsumer(); !s.ok()) return s;
  if (absl::Status s = StartDeferredScheduler(); !s.ok()) return s;
  // Both workers' threads start once both are built.
  if (signal_consumer_ != nullptr) StartThread("signals", *signal_consumer_);
  if (deferred_scheduler_ != nullptr) StartThread("deferred", *deferred_scheduler_);
  if (absl::Status s = StartAdmin(); !s.ok()) return s;
  StartHealth();
  return absl::OkStatus();
}

void App::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (health_ != nullptr) {
    health_->Stop();
    Trace("stop", "health");
  }
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(false);
  for (std::unique_ptr<RunThread>& r : runners_) r->RequestStop();  // all drain at once
  for (std::unique_ptr<RunThread>& r : runners_) {
    r->Join();
    Trace("stop", r->name());
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->Shutdown();  // NOT_SERVING for good; health Watch streams end
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  // What is still queued (calls past the shutdown deadline) is decided and answered now, while the services and the
  // server its callbacks answer through exist: members are destroyed in reverse order, the executor after them.
  // The queues take those answers, then stop.
  executor_.reset();
  if (call_queues_ != nullptr) call_queues_->Shutdown();
  if (server_ != nullptr) Trace("stop", "grpc");
  if (admin_ != nullptr) {
    admin_->Stop();
    Trace("stop", "admin");
  }
}

template <typename Part>
void App::StartThread(const std::string& name, Part& part) {
  runners_.push_back(std::make_unique<RunThread>(name, part));
  Trace("start", name);
}

void App::Trace(std::string_view what, std::string_view part) const {
  if (options_.trace) options_.trace(absl::StrCat(AsAbsl(what), " ", AsAbsl(part)));
}

void App::ReloadPolicies() {
  Log(LogLevel::kInfo, "policy.reload_requested");
  LogReload(reloader_->Reload());  // an invalid set keeps the last good one
}

void App::PublishHistory(const decision::PolicyLoadAttempt& attempt) {
  if (absl::Status s = policy_history_->Publish(attempt); !s.ok()) {
    Log(LogLevel::kError, "policy.history_failed", {{"error", std::string(s.message())}, {"version", attempt.version}});
  }
}

// One producer, created before the first load so that the start's attempt is recorded too; it never blocks.
absl::Status App::BuildPolicyHistory() {
  char host[256] = {};
  const std::string instance = gethostname(host, sizeof host - 1) == 0 && host[0] != 0 ? host : "tactd";
  absl::StatusOr<std::unique_ptr<pipeline::KafkaPolicyHistory>> history =
      pipeline::KafkaPolicyHistory::Create(settings_.kafka.brokers, kafka_security_, instance);
  if (!history.ok()) return SetupFailed(history.status());
  policy_history_ = *std::move(history);
  return absl::OkStatus();
}

void App::LogReload(const absl::Status& s) {
  const decision::PolicyReloadStats st = reloader_->stats();
  if (!s.ok()) {  // the last good policy keeps serving
    PublishHistory(st.last_attempt);
    policy_metrics_.LoadFailed();
    Log(LogLevel::kError, "policy.reload_failed",
        {{"error", std::string(s.message())}, {"failures_total", absl::StrCat(st.reload_failures_total)},
         {"serving_version", st.version}});
    return;
  }
  Log(LogLevel::kInfo, "policy.loaded",
      {{"version", st.version}, {"digest", st.digest}, {"tests_passed", absl::StrCat(st.tests_passed)}});
  PublishHistory(st.last_attempt);
  if (st.tests_passed == 0) {
    Log(LogLevel::kWarning, "policy.untested",
        {{"version", st.version},
         {"detail", absl::StrCat("no policy test cases in ", decision::PolicyTestsDir(settings_.policies),
                                 ": this set went live untested (policies.require_tests refuses such a set)")}});
  }
  if (const std::shared_ptr<const policy::Policy> p = policies_.Get()) {
    policy_metrics_.Loaded(*p);
  }
}

// Password files are read and TLS files checked now: a mistake is a usage error, not a retry loop.
absl::Status App::LoadKafkaSecurity() {
  absl::StatusOr<ops::KafkaSecurity> security = ops::LoadKafkaSecurity(settings_);
  if (!security.ok()) return absl::InvalidArgumentError(security.status().message());
  kafka_security_ = *std::move(security);
  return absl::OkStatus();
}

void App::BuildClock() {
  if (!settings_.test_clock_offset_file.empty()) {
    test_clock_ = std::make_unique<ops::OffsetFileClock>(settings_.test_clock_offset_file);
    clock_ = test_clock_.get();
    Log(LogLevel::kWarning, "clock.test_offset_file",
        {{"file", settings_.test_clock_offset_file}, {"note", "tests only: wall time is moved by this file"}});
  }
  process_stats_.build_info.Set({TACT_VERSION}, 1);
  process_stats_.start_time_seconds.Set({}, absl::ToDoubleSeconds(clock_->Now() - absl::UnixEpoch()));
}

// <policies>/tests/*.yaml must pass before a policy set is swapped in, at start and at every reload.
// Every activated policy is archived (its files in Redis for redis.seen_ttl + 24h): decision markers name it.
absl::Status App::LoadPolicies() {
  archive_ = std::make_unique<decision::PolicyArchive>(
      *clock_, decision::PolicyArchiveOptions{.ttl = settings_.redis.seen_ttl + absl::Hours(24)});
  reloader_ = std::make_unique<decision::PolicyReloader>(
      settings_.policies, policies_, *clock_, decision::PolicyTestGate{.require = settings_.policies_require_tests},
      decision::PolicySignatureGate{.trusted_keys = settings_.policies_trusted_keys}, archive_.get());
  const absl::Status s = reloader_->Reload();
  LogReload(s);
  return s.ok() ? s : absl::FailedPreconditionError(s.message());
}

absl::Status App::BuildStore() {
  const ops::Settings::Redis& r = settings_.redis;
  if (absl::Status s = store::ParseRedisAddress(r.address, &redis_); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--redis: ", s.message()));
  }
  redis_.pool_size = r.pool_size;
  redis_.seen_ttl = r.seen_ttl;
  redis_.batching = r.batching == ops::Settings::Batching::kPipeline ? store::RedisSettings::Batching::kPipelined
                                                                     : store::RedisSettings::Batching::kOneScript;
  redis_.checks = r.checks == ops::Settings::Checks::kScript ? store::RedisSettings::Checks::kScript
                                                              : store::RedisSettings::Checks::kCompareAndSet;
  redis_.legacy_keys = r.legacy_keys;  // off on Redis Cluster (RedisCounterStore)
  redis_.older_layouts = r.older_layouts;
  redis_.node_stats = &redis_node_stats_;
  redis_.stats = &store_stats_;
  redis_.tls = {.enabled = r.tls,
                .ca_file = r.tls_ca_file,
                .cert_file = r.tls_cert_file,
                .key_file = r.tls_key_file,
                .server_name = r.tls_server_name};
  redis_.auth = {.username = r.username, .password = r.password, .password_file = r.password_file};
  if (absl::Status s = store::CheckRedisSecurity(redis_.tls, redis_.auth); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  if (r.key_secret.empty()) {
    Log(LogLevel::kWarning, "config.redis_key_secret_missing",
        {{"detail", "TACT_REDIS_KEY_SECRET unset: Redis key tags use the public key; anyone who knows a tenant and "
                    "customer id can compute that customer's keys"}});
  }
  redis_store_ = std::make_unique<store::RedisCounterStore>(redis_, *clock_, store::KeySchema(r.key_secret));
  store_ = std::make_unique<store::InstrumentedCounterStore>(*redis_store_, store_stats_, *clock_);
  archive_->AttachStore(store_.get());  // counted as op archive_put / archive_get in the store's metrics
  return absl::OkStatus();
}

// Campaign gate: staffing, released plans and paced-interval counts in Redis (capacity_store.h).
void App::BuildDecider() {
  hasher_ = std::make_unique<CustomerHasher>(HashKey(settings_.customer_hash_key));
  capacity_store_ = std::make_unique<store::RedisCapacityStore>(redis_);
  campaign_gate_ = std::make_unique<campaign::StoreGateEnforcer>(*capacity_store_, *clock_);
  decider_ = std::make_unique<decision::DecisionService>(
      policies_, *store_, *clock_, *hasher_,
      decision::DecisionServiceOptions{.store_deadline = absl::Milliseconds(settings_.redis.deadline_ms),
                                       .fail_open_classes = settings_.redis.fail_open_classes,
                                       .stats = &decision_stats_,
                                       .campaign_gate = campaign_gate_.get(),
                                       .archive = archive_.get()});
}

// Bearer tokens (grpc.clients_file), or none.
absl::Status App::BuildCallGate() {
  const std::string& file = settings_.grpc.clients_file;
  if (!file.empty()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::vector<api::Client>> clients =
        in ? api::ParseClients(file, text.str())
           : absl::StatusOr<std::vector<api::Client>>(absl::NotFoundError(absl::StrCat(file, ": cannot read")));
    if (!clients.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("grpc.clients_file: ", clients.status().message()));
    }
    Log(LogLevel::kInfo, "grpc.clients_loaded", {{"clients", absl::StrCat(clients->size())}});
    authenticator_ = std::make_unique<api::Authenticator>(*std::move(clients), *clock_);
  } else {
    Log(LogLevel::kWarning, "grpc.no_authentication",
        {{"detail", "grpc.clients_file unset: every caller may act for every tenant"}});
  }
  gate_ = std::make_unique<api::CallGate>(authenticator_.get(), *clock_);
  return absl::OkStatus();
}

// Every Check/CheckBatch decision's record on tact.decisions, like the Kafka path's: sent after the call is
// answered, never waited for (pipeline::KafkaDecisionRecords says what is lost when).
absl::Status App::BuildGrpcRecords() {
  if (!settings_.grpc.record_decisions) {
    Log(LogLevel::kWarning, "grpc.records_off",
        {{"detail", "grpc.record_decisions=false: Check/CheckBatch decisions are not published on "
                    "tact.decisions; auditors see no gRPC decisions"}});
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<pipeline::KafkaDecisionRecords>> records = pipeline::KafkaDecisionRecords::Create(
      {.brokers = settings_.kafka.brokers,
       .security = kafka_security_,
       .topic = settings_.kafka.topics.decisions,
       .stats = &pipeline_stats_},
      *clock_);
  if (!records.ok()) return SetupFailed(records.status());
  grpc_records_ = *std::move(records);
  return absl::OkStatus();
}

void App::BuildDecisionApi() {
  executor_ = std::make_unique<decision::DecisionExecutor>(*decider_, settings_.grpc.workers, /*max_queue=*/8192,
                                                           /*max_batch=*/64);
  api_options_ = {.max_batch = settings_.grpc.max_batch,
                  .store_deadline = absl::Milliseconds(settings_.redis.deadline_ms)};
  throttle_ = std::make_unique<api::ThrottleService>(*executor_, *gate_, api_options_, grpc_records_.get());
  policies_service_ = std::make_unique<api::PoliciesService>(policies_, *gate_,
                                                             [this] { return reloader_->stats().last_error; });
  LogKafkaSecurity(kafka_security_);
}

// Campaign gate: staffing and released plans in Redis, notices on tact.campaign-notices. Its store I/O runs on
// its own small worker pool, not on the DecisionExecutor. One signal intake for Signals.PutSignal and the
// tact.signals consumer; signals naming a campaign feed its feedback loop.
absl::Status App::BuildCampaignDesk() {
  absl::StatusOr<std::unique_ptr<pipeline::KafkaNoticeSink>> notices =
      pipeline::KafkaNoticeSink::Create(settings_.kafka.brokers, kafka_security_, campaign::kCampaignNoticesTopic);
  if (!notices.ok()) return SetupFailed(notices.status());
  notices_ = *std::move(notices);
  campaign_desk_ = std::make_unique<campaign::CampaignDesk>(*capacity_store_, *notices_, *clock_);
  // Pause thresholds; the desk is SignalIntake's CampaignFeedback.
  campaign_desk_->set_policies([this] { return policies_.Get(); });
  campaign_desk_->set_stats(&campaign_stats_);
  capacity_workers_ = std::make_unique<api::CapacityWorkers>(/*threads=*/2, /*max_queue=*/256);
  capacity_service_ = std::make_unique<api::CapacityService>(*campaign_desk_, *gate_, *capacity_workers_);
  campaigns_service_ = std::make_unique<api::CampaignsService>(*campaign_desk_, *gate_, *capacity_workers_);
  signal_intake_ = std::make_unique<decision::SignalIntake>(*store_, campaign_desk_.get());
  // PutSignal's store work and GetCustomerState's reads run on the DecisionExecutor's threads.
  customer_state_ = std::make_unique<decision::CustomerStateReader>(*store_, *hasher_);
  signals_service_ = std::make_unique<api::SignalsService>(*signal_intake_, policies_, *customer_state_, *executor_,
                                                           *gate_, api_options_);
  return absl::OkStatus();
}

// gRPC: Throttle + Policies + Signals + Capacity + Campaigns + health + reflection, behind TLS (or explicit
// plaintext) and bearer tokens.
absl::Status App::StartGrpc() {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(settings_.grpc.listen, GrpcCredentials(settings_.grpc), &grpc_port_);
  // Every service on the completion queues (api/call_queues.h), health on its own synchronous one: no service on
  // gRPC's callback API, whose threads would take the queues' events.
  health_service_ = std::make_unique<api::HealthService>();
  builder.RegisterService(health_service_.get());
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(health_service_->Interface()));
  const int cpus = ops::UsableCpus();  // the affinity mask, capped by a container's CPU quota
  const int queues = settings_.grpc.threads > 0 ? settings_.grpc.threads : api::CallQueues::DefaultThreads(cpus);
  call_queues_ =
      std::make_unique<api::CallQueues>(builder, queues, absl::Milliseconds(settings_.grpc.check_max_wait_ms));
  throttle_->Register(builder, *call_queues_);
  policies_service_->Register(builder, *call_queues_);
  signals_service_->Register(builder, *call_queues_);
  capacity_service_->Register(builder, *call_queues_);
  campaigns_service_->Register(builder, *call_queues_);
  builder.SetMaxReceiveMessageSize(settings_.grpc.max_message_bytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<api::GrpcStatsInterceptorFactory>(grpc_stats_, *clock_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    Log(LogLevel::kError, "grpc.listen_failed", {{"address", settings_.grpc.listen}});
    return absl::UnavailableError(absl::StrCat("grpc.listen ", settings_.grpc.listen, ": cannot listen"));
  }
  call_queues_->Start();
  Trace("start", "grpc");
  Log(LogLevel::kInfo, "grpc.listening",
      {{"address", settings_.grpc.listen},
       {"port", absl::StrCat(grpc_port_)},
       {"queues", absl::StrCat(queues)},
       {"cpus", absl::StrCat(cpus)}});
  return absl::OkStatus();
}

absl::Status App::StartPipeline() {
  const ops::Settings::Kafka& k = settings_.kafka;
  const ops::Settings::Processing& p = settings_.processing;
  // Every output topic's max.message.bytes, once: sizes the producers and decides what goes to tact.dlq as too
  // large.
  topic_limits_ = pipeline::LearnTopicLimits(k.brokers, kafka_security_,
                                             {k.topics.released, k.topics.deferred, k.topics.suppressed,
                                              k.topics.decisions, k.topics.dlq, k.topics.outbound},
                                             options_.topic_limits_timeout);
  absl::StatusOr<std::unique_ptr<pipeline::Pipeline>> pipe = pipeline::Pipeline::Create(
      {.brokers = k.brokers,
       .kafka_security = kafka_security_,
       .group_id = k.group_id,
       .session_timeout_ms = k.session_timeout_ms,
       .group_instance_id = k.group_instance_id,
       .statistics_interval_ms = k.statistics_interval_ms,
       .topics = {.outbound = k.topics.outbound,
                  .released = k.topics.released,
                  .deferred = k.topics.deferred,
                  .suppressed = k.topics.suppressed,
                  .decisions = k.topics.decisions,
                  .dlq = k.topics.dlq},
       .guarantee = p.guarantee == ops::Settings::Guarantee::kExactlyOnce ? pipeline::Guarantee::kExactlyOnce
                                                                          : pipeline::Guarantee::kAtLeastOnce,
       .transactional_id = TransactionalId(settings_),
       .transaction_max_events = p.transaction_max_events,
       .transaction_max_age = absl::Milliseconds(p.transaction_max_age_ms),
       .batch_max_events = p.batch_max_events,
       .batch_max_wait = absl::Milliseconds(p.batch_max_wait_ms),
       .stats = &pipeline_stats_,
       .limits = topic_limits_},
      *decider_);
  if (!pipe.ok()) return SetupFailed(pipe.status());
  pipeline_ = *std::move(pipe);
  StartThread("pipeline", *pipeline_);
  signal_stats_ = std::make_unique<pipeline::SignalStats>(registry_);
  deferred_stats_ = std::make_unique<pipeline::DeferredStats>(registry_);
  return absl::OkStatus();
}

pipeline::InputWorkerOptions App::WorkerOptions(const std::string& topic, const std::string& suffix) const {
  return pipeline::InputWorkerOptions{.brokers = settings_.kafka.brokers,
                                      .kafka_security = kafka_security_,
                                      .group_id = absl::StrCat(settings_.kafka.group_id, "-", suffix),
                                      .client_id = absl::StrCat("tactd-", suffix),
                                      .topic = topic,
                                      .session_timeout_ms = settings_.kafka.session_timeout_ms,
                                      .drain_budget = absl::Seconds(10),
                                      .dlq_topic = settings_.kafka.topics.dlq,
                                      .limits = topic_limits_};
}

// tact.signals → the store (its own group and thread).
absl::Status App::StartSignalConsumer() {
  if (!settings_.signals.enabled) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<pipeline::SignalConsumer>> c = pipeline::SignalConsumer::Create(
      {.kafka = WorkerOptions(settings_.kafka.topics.signals, "signals"),
       .dlq_topic = settings_.kafka.topics.dlq,
       .store_deadline = absl::Milliseconds(settings_.redis.deadline_ms),
       .stats = signal_stats_.get()},
      *signal_intake_, *clock_);
  if (!c.ok()) return SetupFailed(c.status());
  signal_consumer_ = *std::move(c);
  return absl::OkStatus();
}

// tact.deferred → decided again when due (its own group and thread).
absl::Status App::StartDeferredScheduler() {
  const ops::Settings::Deferred& d = settings_.deferred;
  if (!d.enabled) return absl::OkStatus();
  const ops::Settings::Topics& t = settings_.kafka.topics;
  absl::StatusOr<std::unique_ptr<pipeline::DeferredScheduler>> scheduler = pipeline::DeferredScheduler::Create(
      {.kafka = WorkerOptions(t.deferred, "deferred"),
       .outbound_topic = t.outbound,
       .decisions_topic = t.decisions,
       .suppressed_topic = t.suppressed,
       .dlq_topic = t.dlq,
       .max_age = d.max_age,
       .max_held = static_cast<size_t>(d.max_held),
       .retry_interval = d.retry_interval,
       .stats = deferred_stats_.get(),
       .pipeline_stats = &pipeline_stats_},
      *clock_, *hasher_);
  if (!scheduler.ok()) return SetupFailed(scheduler.status());
  deferred_scheduler_ = *std::move(scheduler);
  return absl::OkStatus();
}

// Readiness: a policy is loaded, Redis answers, the consumer has joined its group. Pushed to gRPC health, served
// on /readyz (ops::Evaluate).
ops::Readiness App::Readiness() const {
  return ops::Evaluate({.policy_loaded = policies_.Get() != nullptr,
                        .redis_reachable = redis_ok_.load(),
                        .kafka_joined = pipeline_->GroupJoined(),
                        .kafka_assigned = pipeline_->HasAssignment(),
                        .redis_nodes = redis_store_->NodeHealth()});
}

absl::Status App::StartAdmin() {
  auto admin = std::make_unique<ops::AdminServer>([this] { return Readiness(); }, &registry_);
  board_ = std::make_unique<campaign::CampaignBoard>(*capacity_store_, *clock_);  // read-only, /campaigns
  admin->AddPages("/campaigns",
                  [this](std::string_view path, std::string_view query) { return board_->Serve(path, query); });
  if (absl::Status s = admin->Start(settings_.admin_listen); !s.ok()) {
    Log(LogLevel::kError, "admin.listen_failed", {{"error", std::string(s.message())}});
    return absl::UnavailableError(s.message());
  }
  admin_ = std::move(admin);
  Trace("start", "admin");
  Log(LogLevel::kInfo, "admin.listening",
      {{"address", settings_.admin_listen}, {"port", absl::StrCat(admin_->port())}});
  return absl::OkStatus();
}

void App::StartHealth() {
  health_ = std::make_unique<PeriodicThread>(absl::Seconds(1), [this] { CheckHealth(); });
  Trace("start", "health");
}

void App::CheckHealth() {
  redis_ok_.store(store_->Healthy());
  // The layout seal: read every 10 s; a small fresh Redis sealed after 10 minutes without an older key
  // (RedisCounterStore::RefreshLayouts).
  redis_store_->RefreshLayouts(clock_->Now() + absl::Seconds(5));
  store_stats_.redis_older_layouts.Set({}, redis_store_->LooksInOlderLayouts() ? 1 : 0);
  if (absl::StatusOr<bool> changed = reloader_->PollForChange(); !changed.ok() || *changed) {
    LogReload(changed.status());  // a policy file changed on disk
  }
  (void)archive_->Refresh();  // the policy in force in the store: once activated, then hourly (it logs failures)
  const bool ready = Readiness().ready;
  process_stats_.ready.Set({}, ready ? 1 : 0);
  if (first_check_ || ready != last_ready_) {
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    health->SetServingStatus(ready);
    health->SetServingStatus("tact.v1.Throttle", ready);
    health->SetServingStatus("tact.v1.Signals", ready);
    Log(ready ? LogLevel::kInfo : LogLevel::kWarning, ready ? "health.serving" : "health.not_serving");
    last_ready_ = ready;
    first_check_ = false;
  }
}

}  // namespace tact::app
