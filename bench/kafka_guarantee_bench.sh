#!/usr/bin/env bash
# Throughput of tactd's Kafka path on Apache Kafka (tests/kafka/broker.sh) in exactly_once mode, against
# at_least_once (the baseline) in the same run, same broker and same Redis. Each round preloads N events on a fresh
# lane of topics, starts one tactd, and times from the first to the N-th readable decision record (read_committed).
# Rounds interleave the two modes. Prints one line, ratio first:
#   kafka.exactly_once ratio=<eos/alo> exactly_once=<events/s> at_least_once=<events/s> events=N rounds=R
#
#   bench/kafka_guarantee_bench.sh [--events N] [--rounds R] [--max-events B]   (defaults 20000, 2, 500)
# Expects a build in build/ (bench/run.sh builds it). TACT_BENCH_LOG_DIR=D keeps each tactd's log in D.
set -euo pipefail
cd "$(dirname "$0")/.."
events=20000
rounds=2
max_events=500
while (($#)); do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --max-events) max_events=$2; shift 2 ;;
    *) echo "kafka_guarantee_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /tmp/tact-kbench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  tests/kafka/broker.sh stop --dir "$work/kafka" --keep >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

brokers=$(tests/kafka/broker.sh start --dir "$work/kafka" --partitions 3)
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done

# The input, made once: N events for N customers (every one RELEASEd), keyed by customer.
python3 - "$events" >"$work/events.txt" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    c = f"bench-{i}"
    print(f'acme:{c}\t{{"eventId":"b-{i}","tenant":"acme","customerId":"{c}","channel":"EMAIL","messageClass":"PROMOTION"}}')
PY

count() { kcat -C -b "$brokers" -t "$1" -e -q -o beginning -X isolation.level=read_committed 2>/dev/null | wc -l; }

# run <mode> <round>: prints events/s
run() {
  local mode=$1 lane="bench-$1-$2" flags=()
  tests/kafka/broker.sh topics --dir "$work/kafka" --partitions 3 "$lane.outbound" "$lane.released" \
    "$lane.deferred" "$lane.suppressed" "$lane.decisions" "$lane.dlq" >/dev/null
  kcat -P -b "$brokers" -t "$lane.outbound" -K $'\t' <"$work/events.txt"
  redis-cli -p "$redis_port" flushall >/dev/null
  if [[ "$mode" == exactly_once ]]; then
    flags=(--processing-guarantee exactly_once --processing-transactional-id "$lane" \
           --processing-transaction-max-events "$max_events")
  fi
  local began="" began_n=0 end start
  start=$(date +%s.%N)
  TACT_CUSTOMER_HASH_KEY=bench build/tactd --policies policies/default --kafka-brokers "$brokers" \
    --redis "127.0.0.1:$redis_port" --grpc-plaintext true --grpc-listen "127.0.0.1:$(free_port)" --admin-listen "127.0.0.1:$(free_port)" \
    --kafka-group-id "$lane" --kafka-topics-outbound "$lane.outbound" --kafka-topics-released "$lane.released" \
    --kafka-topics-deferred "$lane.deferred" --kafka-topics-suppressed "$lane.suppressed" \
    --kafka-topics-decisions "$lane.decisions" --kafka-topics-dlq "$lane.dlq" --log-level "${TACT_BENCH_LOG_LEVEL:-warn}" "${flags[@]}" \
    >"$work/$lane.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  local deadline=$((SECONDS + 600)) n=0
  # The clock starts at the first decision: tactd's start and group join are not throughput.
  until (((n = $(count "$lane.decisions")) >= events)); do
    if ((n > 0)) && [[ -z "$began" ]]; then began=$(date +%s.%N); began_n=$n; fi
    if ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; then
      echo "kafka_guarantee_bench.sh: $mode round $2 did not finish; its log ends:" >&2
      tail -n 20 "$work/$lane.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  end=$(date +%s.%N)
  if [[ -z "$began" ]]; then began=$start; fi
  kill -TERM "$pid"
  wait "$pid" || true
  if [[ -n "${TACT_BENCH_LOG_DIR:-}" ]]; then cp "$work/$lane.log" "$TACT_BENCH_LOG_DIR/"; fi
  python3 -c "print(($events - $began_n) / ($end - $began))"
}

alo_total=0
eos_total=0
for ((r = 0; r < rounds; r++)); do
  alo=$(run at_least_once "$r")
  eos=$(run exactly_once "$r")
  alo_total=$(python3 -c "print($alo_total + $alo)")
  eos_total=$(python3 -c "print($eos_total + $eos)")
done
python3 -c "
alo = $alo_total / $rounds; eos = $eos_total / $rounds
print(f'kafka.exactly_once ratio={eos / alo:.2f} exactly_once={eos:.0f}/s at_least_once={alo:.0f}/s '
      f'events=$events rounds=$rounds max_events=$max_events (from the first decision to the last)')"
