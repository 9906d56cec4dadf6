#pragma once
// tactd as one object: App builds every part from typed settings (ops::Settings), starts them in order and
// stops them in one place (Stop, also run by the destructor), so a failure at any step stops exactly the parts
// started before it. Each part is wired by one member function (Build*/Start*): constructor changes of a part
// touch only its function.
//
// Start order: Kafka security, clock, metrics, policies, store (Redis), decision service, the gRPC decision
// records' producer, gRPC services and the campaign desk (with its Kafka notice sink), the gRPC server, the Kafka pipeline, the signal consumer and the
// deferred scheduler (each on its thread), the admin server (with the campaign board), the health and
// policy-reload thread.
// Stop order (SIGTERM): the health thread; gRPC health says NOT_SERVING; the pipeline and both workers stop
// fetching and drain at once (within the 30 s SIGTERM budget); the gRPC server shuts down (5 s for calls in
// flight); the admin server stops. The rest is released in reverse order of construction.
//
// Thread-safety: Start, ReloadPolicies and Stop from one thread (tactd's main thread).

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/api/auth.h"
#include "daemon/api/call_queues.h"
#include "daemon/api/capacity_service.h"
#include "daemon/api/grpc_stats.h"
#include "daemon/api/health_service.h"
#include "daemon/api/signals_service.h"
#include "daemon/api/throttle_service.h"
#include "daemon/app/threads.h"
#include "daemon/campaign/campaign_stats.h"
#include "daemon/campaign/board.h"
#include "daemon/campaign/desk.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_archive.h"
#include "daemon/decision/policy_reloader.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/ops/admin_server.h"
#include "daemon/ops/config.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/metrics.h"
#include "daemon/ops/test_clock.h"
#include "daemon/pipeline/decision_record_sink.h"
#include "daemon/pipeline/deferred_scheduler.h"
#include "daemon/pipeline/notice_sink.h"
#include "daemon/pipeline/policy_history_sink.h"
#include "daemon/pipeline/output_limits.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/pipeline/signal_consumer.h"
#include "daemon/store/instrumented_counter_store.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::app {

struct AppOptions {
  // Called with "start <part>" when a part that runs (grpc, pipeline, signals, deferred, admin, health) has
  // started, and "stop <part>" when it has stopped: tests follow the order through it.
  std::function<void(std::string_view)> trace;
  absl::Duration topic_limits_timeout = absl::Seconds(5);  // LearnTopicLimits at start
};

// tactd's exit code when App::Start fails: 2 for a mistake in the settings or the files they name
// (InvalidArgument: print "tactd: <message>"; FailedPrecondition: the policy set, already logged), 1 for a
// failure to start (already logged as a JSON event: kafka.setup_failed, grpc.listen_failed, admin.listen_failed).
int ExitCode(const absl::Status& status);

class App {
 public:
  static absl::StatusOr<std::unique_ptr<App>> Start(const ops::Settings& settings, AppOptions options = {});
  ~App();  // Stop(), then every part in reverse order
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // SIGHUP: loads the policy set again; an invalid set keeps the last good one (logged either way).
  void ReloadPolicies();
  // Stops what runs, in the order above. Idempotent.
  void Stop();

  int grpc_port() const { return grpc_port_; }
  int admin_port() const { return admin_ != nullptr ? admin_->port() : 0; }

 private:
  App(const ops::Settings& settings, AppOptions options);
  absl::Status StartAll();
  void Trace(std::string_view what, std::string_view part) const;
  template <typename Part>
  void StartThread(const std::string& name, Part& part);

  // One function per part, in start order.
  absl::Status LoadKafkaSecurity();
  void BuildClock();
  absl::Status LoadPolicies();
  absl::Status BuildStore();
  void BuildDecider();
  absl::Status BuildCallGate();
  absl::Status BuildGrpcRecords();
  void BuildDecisionApi();
  absl::Status BuildCampaignDesk();
  absl::Status StartGrpc();
  absl::Status StartPipeline();
  absl::Status StartSignalConsumer();
  absl::Status StartDeferredScheduler();
  absl::Status StartAdmin();
  void StartHealth();

  pipeline::InputWorkerOptions WorkerOptions(const std::string& topic, const std::string& suffix) const;
  ops::Readiness Readiness() const;
  void CheckHealth();  // on the health thread, every second
  void LogReload(const absl::Status& s);
  absl::Status BuildPolicyHistory();
  void PublishHistory(const decision::PolicyLoadAttempt& attempt);

  const ops::Settings settings_;
  const AppOptions options_;
  bool stopped_ = false;
  ops::KafkaSecurity kafka_security_;
  SystemClock system_clock_;
  std::unique_ptr<ops::OffsetFileClock> test_clock_;
  const Clock* clock_ = &system_clock_;
  // One registry for every subsystem's stats, served on the admin port at /metrics.
  prometheus::Registry registry_;
  ops::ProcessStats process_stats_{registry_};
  decision::DecisionStats decision_stats_{registry_};
  decision::PolicyMetrics policy_metrics_{registry_};
  store::StoreStats store_stats_{registry_};
  store::RedisNodeStats redis_node_stats_{registry_};  // Redis Cluster only
  pipeline::PipelineStats pipeline_stats_{registry_};
  api::GrpcStats grpc_stats_{registry_};
  campaign::CampaignStats campaign_stats_{registry_};
  decision::PolicyHolder policies_;
  std::unique_ptr<pipeline::KafkaPolicyHistory> policy_history_;  // every load attempt, to tact.policy-history
  // The policies decision markers name (decision/policy_archive.h): fed by the reloader, put in the store by the
  // health thread (Refresh), read by the decision service for a redelivered event decided under another policy.
  std::unique_ptr<decision::PolicyArchive> archive_;
  std::unique_ptr<decision::PolicyReloader> reloader_;
  store::RedisSettings redis_;
  std::unique_ptr<store::RedisCounterStore> redis_store_;
  std::unique_ptr<store::InstrumentedCounterStore> store_;
  std::unique_ptr<CustomerHasher> hasher_;
  std::unique_ptr<store::RedisCapacityStore> capacity_store_;
  std::unique_ptr<campaign::StoreGateEnforcer> campaign_gate_;
  std::unique_ptr<decision::DecisionService> decider_;
  std::unique_ptr<api::Authenticator> authenticator_;
  std::unique_ptr<api::CallGate> gate_;
  // Check/CheckBatch decision records to tact.decisions (null: grpc.record_decisions=false). Declared before the
  // executor: its threads use it until they are joined.
  std::unique_ptr<pipeline::KafkaDecisionRecords> grpc_records_;
  std::unique_ptr<decision::DecisionExecutor> executor_;
  api::ApiOptions api_options_;
  std::unique_ptr<api::ThrottleService> throttle_;
  std::unique_ptr<api::PoliciesService> policies_service_;
  std::unique_ptr<pipeline::KafkaNoticeSink> notices_;
  std::unique_ptr<campaign::CampaignDesk> campaign_desk_;
  std::unique_ptr<api::CapacityWorkers> capacity_workers_;
  std::unique_ptr<api::CapacityService> capacity_service_;
  std::unique_ptr<api::CampaignsService> campaigns_service_;
  std::unique_ptr<decision::SignalIntake> signal_intake_;
  std::unique_ptr<decision::CustomerStateReader> customer_state_;
  std::unique_ptr<api::SignalsService> signals_service_;
  std::unique_ptr<api::HealthService> health_service_;  // outlives server_
  std::unique_ptr<api::CallQueues> call_queues_;        // outlives server_ (its queues were the server's)
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  pipeline::TopicLimits topic_limits_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<pipeline::SignalStats> signal_stats_;
  std::unique_ptr<pipeline::DeferredStats> deferred_stats_;
  std::unique_ptr<pipeline::SignalConsumer> signal_consumer_;
  std::unique_ptr<pipeline::DeferredScheduler> deferred_scheduler_;
  std::vector<std::unique_ptr<RunThread>> runners_;  // the pipeline, then the workers
  std::atomic<bool> redis_ok_{false};
  std::unique_ptr<campaign::CampaignBoard> board_;  // the admin port's /campaigns pages
  std::unique_ptr<ops::AdminServer> admin_;         // set once listening
  bool last_ready_ = false;                  // health thread only
  bool first_check_ = true;                  // health thread only
  std::unique_ptr<PeriodicThread> health_;
};

}  // namespace tact::app
