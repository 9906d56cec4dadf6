#!/usr/bin/env bash
# The whole test suite in one command: installs what is missing, builds (warnings are errors when CI=true),
# runs every unit and integration test with ctest. Integration tests start their own redis-server,
# tact-devbroker and tactd on free loopback ports and stop them, also on failure; the tests labelled kafka share
# one Apache Kafka broker that a ctest fixture starts before them and stops after them.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
tests/kafka/broker.sh fetch  # the Apache Kafka broker of the kafka-labelled tests: resolved once with Maven
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -- -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300 "$@"
