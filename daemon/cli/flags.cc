#include "daemon/cli/flags.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/ops/config.h"

namespace tact::cli {

namespace {

// A verb over one policy directory (lint, test).
CLI::App* AddPolicyDirVerb(CLI::App& app, const char* name, const char* help, std::string& dir,
                           const char* dir_help) {
  CLI::App* verb = app.add_subcommand(name, help);
  verb->add_option("dir", dir, dir_help)->required();
  return verb;
}

// A verb over a policy directory and one input, both required (explain, simulate).
CLI::App* AddPolicyInputVerb(CLI::App& app, const char* name, const char* help, std::string& policy_dir,
                             const char* input_flag, std::string& input, const char* input_help) {
  CLI::App* verb = app.add_subcommand(name, help);
  verb->add_option("--policy", policy_dir, "Policy directory")->required();
  verb->add_option(input_flag, input, input_help)->required();
  return verb;
}

// tactd's settings for which `wanted(path)` holds as flags of `verb` (never a secret: those come only from the
// environment), each given value kept in `into` by its setting path (redis.address is --redis, as in tactctl plan).
void AddSettingFlags(CLI::App& verb, std::map<std::string, std::string>& into, bool (*wanted)(const std::string&)) {
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty() || k.secret || !wanted(k.path)) continue;
    verb.add_option_function<std::string>(
        k.flag, [&into, path = k.path](const std::string& value) { into[path] = value; },
        absl::StrCat(k.help, " [", k.env, "]"));
  }
}

}  // namespace

CLI::App* AddLintFlags(CLI::App& app, LintArgs& args) {
  CLI::App* lint = AddPolicyDirVerb(
      app, "lint", "Validate a policy directory; errors print as file:line:col: message (exit 1 on any error)",
      args.dir, "Policy directory (*.yaml directly inside it)");
  lint->add_flag("--json", args.json, "Print {ok, errors[], version, digest, rules} as JSON");
  return lint;
}

CLI::App* AddTestFlags(CLI::App& app, TestArgs& args) {
  CLI::App* test = AddPolicyDirVerb(
      app, "test", "Run policy tests (customer state + timed events -> expected decisions); exit 1 if any fails",
      args.dir, "Policy directory");
  test->add_option("--tests", args.tests, "Test directory (default: <dir>/tests, the tests tactd runs before every load)");
  test->add_flag("--json", args.json, "Machine-readable results");
  return test;
}

CLI::App* AddPolicyGroup(CLI::App& app) {
  CLI::App* group =
      app.add_subcommand("policy", "Policy governance: what changed between two versions, when each went live, "
                                   "signing and verifying");
  group->require_subcommand(1);
  return group;
}

CLI::App* AddPolicyDiffFlags(CLI::App& policy_group, PolicyDiffArgs& args) {
  CLI::App* diff = policy_group.add_subcommand(
      "diff", "What changed between two policy directories: rules added, removed, loosened, tightened, classes");
  diff->add_option("from", args.from, "The policy directory in force")->required();
  diff->add_option("to", args.to, "The proposed policy directory")->required();
  diff->add_flag("--json", args.json, "Machine-readable diff");
  diff->add_flag("--fail-on-loosened", args.fail_on_loosened, "Exit 1 when a rule is loosened or removed");
  return diff;
}

CLI::App* AddPolicySignFlags(CLI::App& policy_group, PolicySignArgs& args) {
  CLI::App* sign = policy_group.add_subcommand(
      "sign", "Sign a policy directory's canonical digest into <dir>/SIGNATURE (ed25519; policies/README.md)");
  sign->add_option("dir", args.dir, "Policy directory")->required();
  sign->add_option("--key", args.key, "PEM ed25519 private key (openssl genpkey -algorithm ed25519)")->required();
  sign->add_flag("--force", args.force, "Sign even if the set fails lint or its tests");
  return sign;
}

CLI::App* AddPolicyVerifyFlags(CLI::App& policy_group, PolicyVerifyArgs& args) {
  CLI::App* verify = policy_group.add_subcommand(
      "verify", "Check <dir>/SIGNATURE as tactd does before activation: exit 0 valid, 1 not (with the reason)");
  verify->add_option("dir", args.dir, "Policy directory")->required();
  verify->add_option("--trusted-keys", args.trusted_keys, "PEM ed25519 public key file, or a directory of *.pem")
      ->required();
  return verify;
}

CLI::App* AddPolicyHistoryFlags(CLI::App& policy_group, PolicyHistoryArgs& args) {
  CLI::App* history = policy_group.add_subcommand(
      "history", "Every policy load attempt tactd recorded (activated or refused), with provenance, oldest first");
  history->add_option("--brokers", args.brokers, "Kafka bootstrap servers")->capture_default_str();
  history->add_option("--topic", args.topic, "Policy history topic")->capture_default_str();
  history->add_option("--version", args.version, "Only this policy version");
  history->add_option("--expect", args.expect, "Wait until at least this many records match");
  history->add_option("--timeout", args.timeout_s, "Seconds to wait for the end of the topic")->capture_default_str();
  history->add_flag("--json", args.json, "One JSON record per line, as tactd wrote it");
  return history;
}

CLI::App* AddExplainFlags(CLI::App& app, ExplainArgs& args) {
  CLI::App* explain = AddPolicyInputVerb(
      app, "explain", "Show the full rule trace for one event (offline, nothing recorded; customer state from --state)",
      args.policy_dir, "--event", args.event, "The event as JSON (OutboundEvent), a file with it, or - for stdin");
  explain->add_option("--at", args.at, "Decide at this RFC 3339 time (default: the event's createdAt, else now)");
  explain->add_option("--state", args.state,
                      "Customer state file (YAML or JSON): signals and earlier messages as timed steps, and "
                      "counter usage per rule (format: policies/README.md)");
  explain->add_flag("--json", args.json, "Machine-readable trace");
  return explain;
}

CLI::App* AddSimulateFlags(CLI::App& app, SimulateArgs& args) {
  CLI::App* sim = AddPolicyInputVerb(
      app, "simulate", "Replay events offline with an in-memory store and summarise the decisions per rule and class",
      args.policy_dir, "--events", args.events,
      "JSON lines: OutboundEvent (decided at createdAt) or {\"signal\":{...}}; - for stdin");
  sim->add_option("--compare", args.compare_dir, "A second policy directory: list the decisions that change");
  sim->add_flag("--json", args.json, "Machine-readable summary");
  return sim;
}

CLI::App* AddAuditFlags(CLI::App& app, AuditArgs& args) {
  CLI::App* audit = app.add_subcommand("audit", "Read decision records back from tact.decisions");
  audit->add_option("--brokers", args.brokers, "Kafka bootstrap servers")->capture_default_str();
  audit->add_option("--topic", args.topic, "Audit topic")->capture_default_str();
  audit->add_option("--customer", args.customer, "Only this customer (hashed with TACT_CUSTOMER_HASH_KEY)");
  audit->add_option("--tenant", args.tenant, "Tenant of --customer");
  audit->add_option("--rule", args.rule, "Only decisions by this rule id");
  audit->add_option("--decision", args.decision, "Only RELEASE, DEFER, SUPPRESS or EXPIRED")
      ->check(CLI::IsMember({"RELEASE", "DEFER", "SUPPRESS", "EXPIRED"}));
  audit->add_option("--expect", args.expect, "Wait until at least this many records match");
  audit->add_option("--timeout", args.timeout_s, "Seconds to wait for the end of the topic")->capture_default_str();
  audit->add_flag("--json", args.json, "One JSON decision record per line");
  audit->add_option("--since", args.since, "Only decisions at or after this RFC 3339 time");
  audit->add_option("--until", args.until, "Only decisions before this RFC 3339 time");
  audit->add_option("--policy-version", args.policy_version, "Only decisions made under this policy version");
  audit->add_option("--class", args.message_class, "Only this message class (e.g. PROMOTION)")
      ->check(CLI::IsMember({"TRANSACTIONAL", "SERVICE", "PROACTIVE_SERVICE", "PROMOTION"}));
  audit->add_option("--campaign", args.campaign, "Only events of this campaign id");
  audit->add_option("--client", args.client, "Only gRPC decisions asked by this client name");
  audit->add_flag("--csv", args.csv, "CSV (RFC 4180, a header row) for a spreadsheet");
  audit->add_flag("--strict", args.strict,
                  "Exit 1 when a --customer search matches nothing because of a customer hash key mismatch");
  // The Kafka security settings, as tactd's flags; secrets only from the environment (or their *_file flag).
  // Only the flags given override the environment.
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty() || !IsSecuritySetting(k.path)) continue;
    audit->add_option_function<std::string>(
        k.flag, [&args, path = k.path](const std::string& value) { args.security_flags[path] = value; },
        absl::StrCat(k.help, " [", k.env, "]"));
  }
  return audit;
}

CLI::App* AddHealthFlags(CLI::App& app, HealthArgs& args) {
  CLI::App* health = app.add_subcommand(
      "health", "Probe tactd's admin endpoint: exit 0 if ready (or alive with --live), 1 if not, 2 if unreachable");
  health->add_option("--admin", args.admin, "tactd's admin.listen address (host:port)");
  health->add_flag("--live", args.live, "Check liveness (/healthz) instead of readiness (/readyz)");
  health->add_option("--timeout-ms", args.timeout_ms, "Connect and read timeout")->check(CLI::Range(1, 60000));
  return health;
}

CLI::App* AddErlangFlags(CLI::App& app, ErlangArgs& args) {
  CLI::App* erlang = app.add_subcommand(
      "erlang", "Erlang C/A calculator: P(wait), service level, ASA, occupancy, abandonment, agents needed");
  erlang->add_option("--calls", args.calls, "Offered calls in the interval")->required();
  erlang->add_option("--interval-s", args.interval_s, "Interval length in seconds")->capture_default_str();
  erlang->add_option("--aht-s", args.aht_s, "Average handle time in seconds")->required();
  erlang->add_option("--agents", args.agents, "Agents on the phones")->required();
  erlang->add_option("--threshold-s", args.threshold_s, "Service-level threshold in seconds")->capture_default_str();
  erlang->add_option("--patience-s", args.patience_s, "Mean customer patience in seconds (Erlang A)");
  erlang->add_option("--target-sl", args.target_sl, "Service-level target for agents needed")->capture_default_str();
  erlang->add_option("--shrinkage", args.shrinkage, "Shrinkage, to also print scheduled agents needed");
  erlang->add_option("--sl", args.service_levels,
                     "Further service-level target for agents needed, <percent>/<seconds> (e.g. 90/90); repeatable");
  erlang->add_option("--max-asa-s", args.max_asa_s, "ASA target for agents needed (s)");
  erlang->add_option("--max-abandon", args.max_abandon, "Abandonment target for agents needed (needs --patience-s)");
  erlang->add_option("--max-occupancy", args.max_occupancy, "Occupancy cap for agents needed (e.g. 0.85)");
  erlang->add_flag("--json", args.json,
                   "Print JSON: model, p_wait, service_level, asa_seconds (null when unbounded), occupancy, "
                   "abandon_rate, agents_needed (-1 when unreachable)");
  return erlang;
}

CLI::App* AddPlanFlags(CLI::App& app, PlanArgs& args) {
  CLI::App* plan = app.add_subcommand(
      "plan", "Check a campaign against contact-centre staffing: RELEASE, PACE (with a schedule) or REJECT (exit 1)");
  plan->add_option("--staffing", args.staffing, "Staffing CSV (see docs/campaigns.md: start,agents,shrinkage,aht_s,...)")
      ->required();
  plan->add_option("--audience", args.audience, "Recipients")->required();
  plan->add_option("--channel", args.channel, "email, sms, push or in_app")->capture_default_str();
  plan->add_option("--start", args.start,
                   "Earliest send, RFC 3339, or \"earliest\" (the first instant the --policy gate allows)")
      ->required();
  plan->add_option("--send-by", args.send_by, "Last send must start before this (RFC 3339); default: staffing end");
  plan->add_option("--deliverability", args.deliverability, "Share delivered")->capture_default_str();
  plan->add_option("--contact-rate", args.contact_rate, "Share of delivered recipients who contact the centre")
      ->capture_default_str();
  plan->add_option("--curve", args.curve, "Response curve, e.g. 15m:0.08,1h:0.22,4h:0.30,24h:0.30,72h:0.10");
  plan->add_option("--max-batch", args.max_batch, "Sending platform limit per 15 minutes (0: none)");
  plan->add_option("--min-batch", args.min_batch,
                   "Smallest paced batch (the last may be smaller; 0: any); default 100, or 1% of a smaller audience");
  plan->add_option("--margin", args.margin,
                   "Planning buffer: fill to the target + this (service level points; limits × (1 − margin))")
      ->capture_default_str();
  plan->add_option("--contact-aht-s", args.contact_aht_s, "Handle time of the campaign's contacts (0: the staffing's)");
  plan->add_option("--id", args.id, "Campaign id shown in the output")->capture_default_str();
  plan->add_option("--svg", args.svg, "Write an SVG of predicted load vs capacity and service level vs target");
  plan->add_flag("--json", args.json, "Print the plan as JSON");
  plan->add_flag("--all", args.all, "Print every interval, not only those the campaign touches");
  plan->add_option("--released", args.released,
                   "Already-released campaigns that count against this one: JSON as Campaigns.GetCampaign returns "
                   "them (one, a list, or {\"campaigns\": [...]})");
  plan->add_option("--redis", args.redis, "Read the tenant's released campaigns from tactd's Redis (host:port)");
  plan->add_option("--tenant", args.tenant, "Tenant whose released campaigns --redis reads (and whose gate applies)");
  plan->add_option("--policy", args.policy,
                   "Policy directory: plan under its campaign gate's notice rules (min_notice, acknowledgement)");
  plan->add_option("--class", args.message_class, "The campaign's message class (picks the gate; default: strictest)");
  plan->add_option("--release-at", args.release_at, "When the release would happen, RFC 3339 (default: now)");
  return plan;
}

CLI::App* AddCustomerGroup(CLI::App& app) {
  CLI::App* customer = app.add_subcommand("customer", "One customer's state: forget (erasure)");
  customer->require_subcommand(1);
  return customer;
}

CLI::App* AddForgetFlags(CLI::App& customer_group, ForgetArgs& args) {
  CLI::App* forget = customer_group.add_subcommand(
      "forget",
      "Erase one customer (GDPR Art. 17): delete every Redis key of theirs, then write a tombstone record to "
      "tact.erasures. Exit 0, 1 if nothing was stored, 2 on errors. Needs TACT_CUSTOMER_HASH_KEY and "
      "TACT_REDIS_KEY_SECRET as tactd has them");
  forget->add_option("--tenant", args.tenant, "Tenant of the customer")->required();
  forget->add_option("--customer", args.customer, "Customer id (never printed; the tombstone has its hash)")
      ->required();
  forget->add_option("--operator", args.operator_name, "Who performs the erasure (default: $USER)");
  forget->add_option("--reason", args.reason, "Why (e.g. \"GDPR Art. 17 request\")");
  forget->add_option("--ticket", args.ticket, "Request or ticket reference");
  forget->add_option("--brokers", args.brokers, "Kafka bootstrap servers")->capture_default_str();
  forget->add_option("--topic", args.topic, "Erasure topic")->capture_default_str();
  forget->add_option("--timeout", args.timeout_s, "Seconds for Redis and for the broker's acknowledgement")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  forget->add_flag("--json", args.json, "Print the tombstone record as JSON");
  // tactd's Redis connection settings and Kafka security settings; secrets only from the environment
  // (TACT_REDIS_PASSWORD, TACT_REDIS_KEY_SECRET, TACT_CUSTOMER_HASH_KEY, ...).
  AddSettingFlags(*forget, args.settings_flags, IsForgetSetting);
  return forget;
}

CLI::App* AddStoreGroup(CLI::App& app) {
  CLI::App* store = app.add_subcommand("store", "tactd's Redis store as a whole: layouts (keys per key layout)");
  store->require_subcommand(1);
  return store;
}

CLI::App* AddStoreLayoutsFlags(CLI::App& store_group, StoreLayoutsArgs& args) {
  CLI::App* layouts = store_group.add_subcommand(
      "layouts",
      "Count the customer keys of each Redis key layout by SCAN (every master of a Redis Cluster) and print "
      "{\"v2\":n,\"v1\":n,\"legacy\":n,\"sealed\":bool}; with 0 v1 and 0 legacy keys, --seal writes the layout "
      "seal and every tactd stops looking in the older layouts. Exit 0, 1 when --seal finds older keys, 2 on errors");
  layouts->add_flag("--seal", args.seal,
                    "Seal the Redis as store v2 only, when no key of an older layout is left (tactds read it within "
                    "10 s)");
  layouts->add_flag("--unseal", args.unseal,
                    "Remove the layout seal (before a tactd older than store v2 runs on this Redis)");
  layouts->add_option("--timeout", args.timeout_s, "Seconds for the whole scan")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  // tactd's Redis connection settings; secrets only from the environment (TACT_REDIS_PASSWORD).
  AddSettingFlags(*layouts, args.settings_flags,
                  [](const std::string& path) { return IsForgetSetting(path) && path.starts_with("redis."); });
  return layouts;
}

}  // namespace tact::cli
