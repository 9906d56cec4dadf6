#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined broker + controller) on free loopback ports, for the
# integration suite and the local stack. The broker and its runtime dependencies come from Maven Central through
# tests/kafka/pom.xml (resolved once into tests/kafka/target/lib; Maven's cache makes later runs fast).
#
#   tests/kafka/broker.sh fetch                        resolve the jars (no-op when up to date)
#   tests/kafka/broker.sh start --dir DIR [--partitions N] [--bootstrap-file F] [--heap 512m] [--owner-pid P]
#                               [--sasl-ssl-pem PEM --sasl-user NAME --sasl-password-file F]
#                                                      start in DIR (created; must be new or empty), wait until it
#                                                      answers metadata requests, create the tact topics with N
#                                                      partitions (default 3), print the bootstrap address (and
#                                                      write it to F). The broker keeps running in the background;
#                                                      with --owner-pid it is stopped (as by stop --keep: DIR and
#                                                      its logs stay) within a second of process P exiting, so a
#                                                      crashed test or demo leaves no broker running.
#                                                      With --sasl-ssl-pem, a second client listener speaks SASL_SSL
#                                                      (PLAIN and SCRAM-SHA-512 for NAME, whose password is in F; the
#                                                      SCRAM credential is added at storage format time, the PLAIN
#                                                      one in the listener's JAAS config; PEM = the server's
#                                                      unencrypted PKCS#8 key
#                                                      followed by its certificate chain); its address is written to
#                                                      DIR/bootstrap-sasl-ssl. The PLAINTEXT listener stays (topic
#                                                      creation, inter-broker) on loopback.
#   tests/kafka/broker.sh stop --dir DIR [--keep]      SIGTERM, wait (deadline), SIGKILL if needed, remove DIR
#                                                      (kept with --keep or TACT_KEEP_TEST_DIRS set)
#   tests/kafka/broker.sh topics --dir DIR [--partitions N] TOPIC...
#                                                      create more topics on a running broker
#
# Environment: JAVA (default: java on PATH), TACT_KAFKA_LIB (a directory of jars instead of target/lib).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=${TACT_KAFKA_LIB:-$here/target/lib}
java=${JAVA:-java}
tact_topics=(tact.outbound tact.released tact.deferred tact.suppressed tact.decisions tact.dlq tact.signals
             tact.campaign-notices tact.policy-history)

die() { echo "broker.sh: $*" >&2; exit 1; }

fetch() {
  local stamp=$lib/.resolved
  if [[ -n "${TACT_KAFKA_LIB:-}" ]]; then
    [[ -d "$lib" ]] || die "TACT_KAFKA_LIB=$lib is not a directory"
    return
  fi
  local digest
  digest=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)  # content, not mtime: a checkout or rebase touches files
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    return
  fi
  command -v mvn >/dev/null || die "mvn not found (deploy/install-deps.sh installs maven)"
  echo "broker.sh: resolving the Kafka broker with Maven into $lib" >&2
  rm -rf "$lib"
  # (sed: Maven 3.8 prints colour resets even in batch mode)
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "mvn dependency:copy-dependencies failed"
  echo "$digest" >"$stamp"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls "$@" until it succeeds or `secs` pass.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > end)); then return 1; fi
    if [[ -n "${pid:-}" ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "broker.sh: the broker exited while waiting for $what" >&2
      return 1
    fi
    sleep 0.1  # poll interval, bounded by the deadline above
  done
}

create_topics() {  # create_topics DIR PARTITIONS TOPIC...: one JVM per topic, run side by side
  local dir=$1 partitions=$2; shift 2
  local bootstrap pids=() rc=0
  bootstrap=$(cat "$dir/bootstrap")
  for t in "$@"; do
    "$java" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$lib/*" \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=warn org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$t" --partitions "$partitions" \
      --replication-factor 1 >>"$dir/topics.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  ((rc == 0)) || die "creating topics failed: $(tail -n 20 "$dir/topics.log")"
}

start() {
  local dir="" partitions=3 bootstrap_file="" heap=512m owner_pid="" sasl_pem="" sasl_user="" sasl_password_file=""
  while (($#)); do
    case "$1" in
      --dir) dir=$2; shift 2 ;;
      --partitions) partitions=$2; shift 2 ;;
      --bootstrap-file) bootstrap_file=$2; shift 2 ;;
      --heap) heap=$2; shift 2 ;;
      --owner-pid) owner_pid=$2; shift 2 ;;
      --sasl-ssl-pem) sasl_pem=$2; shift 2 ;;
      --sasl-user) sasl_user=$2; shift 2 ;;
      --sasl-password-file) sasl_password_file=$2; shift 2 ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ -n "$dir" ]] || die "start: --dir is required"
  if [[ -n "$sasl_pem" ]]; then
    [[ -r "$sasl_pem" && -n "$sasl_user" && -r "$sasl_password_file" ]] \
      || die "start: --sasl-ssl-pem needs a readable PEM, --sasl-user and a readable --sasl-password-file"
    sasl_pem=$(cd "$(dirname "$sasl_pem")" && pwd)/$(basename "$sasl_pem")
  fi
  if [[ -n "$owner_pid" ]]; then
    [[ "$owner_pid" =~ ^[0-9]+$ ]] && kill -0 "$owner_pid" 2>/dev/null \
      || die "start: --owner-pid $owner_pid is not a running process"
  fi
  fetch
  if [[ -f "$dir/server.properties" ]]; then  # left by an earlier run that was not stopped: replace it
    echo "broker.sh: replacing the broker left in $dir" >&2
    stop --dir "$dir"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local began=$SECONDS port controller_port cluster_id
  port=$(free_port)
  controller_port=$(free_port)
  while [[ "$controller_port" == "$port" ]]; do controller_port=$(free_port); done
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
  local advertised="PLAINTEXT://127.0.0.1:$port"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  local sasl_port=""
  if [[ -n "$sasl_pem" ]]; then
    sasl_port=$(free_port)
    while [[ "$sasl_port" == "$port" || "$sasl_port" == "$controller_port" ]]; do sasl_port=$(free_port); done
    listeners+=",SASL_SSL://127.0.0.1:$sasl_port"
    advertised+=",SASL_SSL://127.0.0.1:$sasl_port"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dir/data
num.partitions=$partitions
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.consumer.heartbeat.interval.ms=500
group.consumer.min.heartbeat.interval.ms=500
group.min.session.timeout.ms=1000
log.segment.bytes=16777216
log.retention.ms=3600000
log.retention.check.interval.ms=60000
log.flush.offset.checkpoint.interval.ms=60000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
auto.create.topics.enable=false
PROPS
  local scram=()
  if [[ -n "$sasl_pem" ]]; then
    cat >>"$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user="$(cat "$sasl_password_file")";
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$sasl_pem
PROPS
    scram=(--add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$(cat "$sasl_password_file")]")
  fi
  cluster_id=$("$java" -cp "$lib/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn kafka.tools.StorageTool random-uuid)
  "$java" -cp "$lib/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn kafka.tools.StorageTool \
    format -t "$cluster_id" -c "$dir/server.properties" --standalone "${scram[@]}" >"$dir/format.log" 2>&1 \
    || die "format failed: $(cat "$dir/format.log")"
  # setsid: the broker leaves the caller's process group, so a Ctrl-C of the caller reaches it only via stop.
  setsid "$java" -Xms128m -Xmx"$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
    -cp "$lib/*" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  if [[ -n "$owner_pid" ]]; then
    # Watchdog: polls once a second while both the owner and the broker live; stops the broker if the owner goes.
    # (It is not the broker's parent, so it cannot wait for either; stop checks the pid is still our broker.)
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
                    if kill -0 "$2" 2>/dev/null; then exec "$3" stop --dir "$4" --keep; fi' \
      broker-watchdog "$owner_pid" "$pid" "$here/broker.sh" "$dir" >>"$dir/watchdog.log" 2>&1 </dev/null &
  fi
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  if [[ -n "$sasl_port" ]]; then echo "127.0.0.1:$sasl_port" >"$dir/bootstrap-sasl-ssl"; fi
  # Ready = answers a metadata request with itself as broker 1.
  if ! wait_for "metadata" 90 bash -c "kcat -L -b 127.0.0.1:$port -m 2 2>/dev/null | grep -q 'broker 1 at'"; then
    tail -n 30 "$dir/broker.log" >&2 || true
    stop --dir "$dir" --keep
    die "start: the broker did not answer metadata requests within 90 s (log: $dir/broker.log)"
  fi
  create_topics "$dir" "$partitions" "${tact_topics[@]}"
  echo "started pid=$pid bootstrap=127.0.0.1:$port seconds=$((SECONDS - began))" >"$dir/started"
  if [[ -n "$bootstrap_file" ]]; then
    echo "127.0.0.1:$port" >"$bootstrap_file.tmp" && mv "$bootstrap_file.tmp" "$bootstrap_file"
  fi
  echo "127.0.0.1:$port"
}

stop() {
  local dir="" keep=0
  while (($#)); do
    case "$1" in
      --dir) dir=$2; shift 2 ;;
      --keep) keep=1; shift ;;
      *) die "stop: unknown argument '$1'" ;;
    esac
  done
  [[ -n "$dir" ]] || die "stop: --dir is required"
  if [[ -f "$dir/broker.pid" ]]; then
    local p
    p=$(cat "$dir/broker.pid")
    # Only a java process that runs our server.properties: never signal a recycled pid.
    if grep -qa "$dir/server.properties" "/proc/$p/cmdline" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      local end=$((SECONDS + 20))
      while kill -0 "$p" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then
        echo "broker.sh: broker $p did not stop within 20 s; SIGKILL" >&2
        kill -KILL "$p" 2>/dev/null || true
      fi
    fi
    rm -f "$dir/broker.pid"
  fi
  if ((keep == 0)) && [[ -z "${TACT_KEEP_TEST_DIRS:-}" ]]; then
    rm -rf "$dir"
  fi
}

topics() {
  local dir="" partitions=3
  while (($#)); do
    case "$1" in
      --dir) dir=$2; shift 2 ;;
      --partitions) partitions=$2; shift 2 ;;
      *) break ;;
    esac
  done
  [[ -n "$dir" && -f "$dir/bootstrap" ]] || die "topics: --dir of a running broker is required"
  (($#)) || die "topics: name at least one topic"
  create_topics "$dir" "$partitions" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  fetch) fetch ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  topics) topics "$@" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
