#!/usr/bin/env bash
# The local stack in one command: installs what is missing, builds, starts redis-server + Apache Kafka (a
# single-node KRaft broker, tests/kafka/broker.sh) + tactd with the default policies, feeds a sample event stream
# and prints what was released or suppressed, and why. Then stops everything it started.
#
#   deploy/demo.sh              run the demo and stop
#   deploy/demo.sh --keep       leave the stack up for kcat / grpc clients (prints how to connect); Ctrl-C stops it
#   deploy/demo.sh --devbroker  use tact-devbroker (librdkafka's in-memory mock cluster) instead of Apache Kafka
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

keep=0
devbroker=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --devbroker) devbroker=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target tactd tactctl tact-devbroker -- -j"$(nproc)" | tail -n 1

work=$(mktemp -d /tmp/tact-demo.XXXXXX)
pids=()
kafka_dir=""
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  if [[ -n "$kafka_dir" ]]; then tests/kafka/broker.sh stop --dir "$kafka_dir" --keep || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for <what> <seconds> <command...>: poll with a deadline
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > end)); then echo "demo.sh: timed out waiting for $what (logs in $work)" >&2; trap - EXIT; exit 1; fi
    sleep 0.1
  done
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for "redis-server" 20 redis-cli -p "$redis_port" ping

if ((devbroker)); then
  build/tact-devbroker --partitions 3 --bootstrap-file "$work/bootstrap" >"$work/devbroker.log" 2>&1 &
  pids+=($!)
  wait_for "tact-devbroker" 20 test -s "$work/bootstrap"
  kafka_kind="tact-devbroker (in memory)"
else
  kafka_dir="$work/kafka"
  began=$SECONDS
  tests/kafka/broker.sh start --dir "$kafka_dir" --partitions 3 --bootstrap-file "$work/bootstrap" --owner-pid $$ >/dev/null
  kafka_kind="Apache Kafka $(sed -n 's/.*<kafka.version>\(.*\)<.*/\1/p' tests/kafka/pom.xml) (KRaft, started in $((SECONDS - began)) s)"
fi
brokers=$(cat "$work/bootstrap")

grpc_port=$(free_port)
admin_port=$(free_port)
export TACT_CUSTOMER_HASH_KEY="demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
build/tactd --policies policies/default --kafka-brokers "$brokers" --redis "127.0.0.1:$redis_port" \
  --grpc-listen "127.0.0.1:$grpc_port" --grpc-plaintext true --admin-listen "127.0.0.1:$admin_port" --kafka-session-timeout-ms 6000 \
  >"$work/tactd.log" 2>&1 &
tactd_pid=$!
pids+=($tactd_pid)
wait_for "tactd /readyz" 30 curl -sf "http://127.0.0.1:$admin_port/readyz"

events=$(wc -l < deploy/demo/events.jsonl)
echo
echo "== tact local stack: redis 127.0.0.1:$redis_port, kafka $brokers, gRPC 127.0.0.1:$grpc_port, admin 127.0.0.1:$admin_port"
echo "== kafka: $kafka_kind"
echo "== policy: $(build/tactctl lint policies/default)"
echo "== feeding $events sample events (deploy/demo/events.jsonl) to tact.outbound:"
echo "   maria gets 3 'sorry' emails from 3 teams in 3 days, receipts, 2 promotions; li gets one of each;"
echo "   one event has no customer (-> tact.dlq) and one is redelivered (same event_id, counted once)."
# Keyed by tenant:customer, as producers should: one customer's messages stay in order on one partition.
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["tenant"] + ":" + e.get("customerId", "") + "\t" + line.strip())
' deploy/demo/events.jsonl | kcat -P -b "$brokers" -t tact.outbound -K $'\t'

echo
expected=$((events - 1))  # the broken event goes to tact.dlq, not to tact.decisions
build/tactctl audit --brokers "$brokers" --expect "$expected" --timeout 60
echo
dlq=$(kcat -C -b "$brokers" -t tact.dlq -e -q -f '%h\n' 2>/dev/null | tr ',' '\n' | grep '^tact-dlq-reason=' || true)
echo "tact.dlq: ${dlq:-none}"

echo
echo "== tact.signals: sam answers a CSAT survey with 1 (of 5); the promotion that follows is suppressed:"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf 'acme:sam@example.com\t{"tenant":"acme","customerId":"sam@example.com","kind":"CSAT","csat":1,"at":"%s"}\n' \
  "$now" | kcat -P -b "$brokers" -t tact.signals -K $'\t'
wait_for "the CSAT signal recorded" 30 sh -c \
  "curl -sf http://127.0.0.1:$admin_port/metrics | grep -q '^tact_signals_consumed_total{kind=\"CSAT\"} [1-9]'"
printf 'acme:sam@example.com\t{"eventId":"cm-promo-sam","tenant":"acme","customerId":"sam@example.com","channel":"EMAIL","messageClass":"PROMOTION","campaignId":"cyber-monday-2026"}\n' \
  | kcat -P -b "$brokers" -t tact.outbound -K $'\t'
build/tactctl audit --brokers "$brokers" --rule promotion-low-csat --expect 1 --timeout 60

if ((keep)); then
  cat <<MSG

The stack stays up (logs in $work). Try:
  kcat -C -b $brokers -t tact.decisions -e                 # audit records (JSON)
  kcat -C -b $brokers -t tact.released -e -f '%k %h\n'      # released events with their decision headers
  echo '{"eventId":"x1","tenant":"acme","customerId":"maria@example.com","channel":"EMAIL","messageClass":"PROMOTION"}' \\
    | kcat -P -b $brokers -t tact.outbound
  build/tactctl audit --brokers $brokers
  grpcurl -plaintext -d '{"event":{"eventId":"g1","tenant":"acme","customerId":"maria@example.com","channel":"EMAIL","messageClass":"PROACTIVE_SERVICE"}}' \\
    127.0.0.1:$grpc_port tact.v1.Throttle/Check
  curl http://127.0.0.1:$admin_port/readyz
Press Ctrl-C to stop.
MSG
  trap 'exit 0' INT TERM
  wait "$tactd_pid"
fi
