#!/usr/bin/env bash
# Bounded soak: steady load through Kafka and gRPC against one tactd (dev broker, real redis-server), then the
# invariants over everything decided. Reports tactd RSS and open fds, Redis used_memory and latency p50/p99
# (Kafka produce -> decided_at, gRPC Check round trip) at start and end, and fails beyond the growth bounds in
# tests/integration/reliability_soak_test.cc.
#
#   tests/reliability/soak.sh [--seconds N] [--kafka-rate EVENTS_PER_S] [--grpc-rate CALLS_PER_S] [--out FILE]
# Defaults: 600 s, 100 events/s, 100 calls/s; the figures (one JSON object) go to FILE (default build/reliability/soak.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=600 kafka_rate=100 grpc_rate=100 out=build/reliability/soak.json
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --kafka-rate) kafka_rate="$2"; shift 2 ;;
    --grpc-rate) grpc_rate="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ "${TACT_SKIP_BUILD:-}" != 1 ]]; then
  deploy/install-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --target tact_reliability_tests -- -j"${TACT_BUILD_JOBS:-2}"
fi
mkdir -p "$(dirname "$out")"
TACT_SOAK_SECONDS="$seconds" TACT_SOAK_KAFKA_RATE="$kafka_rate" TACT_SOAK_GRPC_RATE="$grpc_rate" TACT_SOAK_REPORT="$out" \
  build/tests/tact_reliability_tests --gtest_filter='ReliabilitySoak.*'
