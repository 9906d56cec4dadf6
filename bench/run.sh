#!/usr/bin/env bash
# Runs every benchmark (bench/*_bench.cc, plus bench/*_bench.sh drivers) and prints their one-line results.
# Each line is "<name> ratio=<ours/baseline> ..." where the baseline was measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null  # -O2, same tree as the tests
cmake --build build -- -j"$(nproc)" >/dev/null
shopt -s nullglob
for src in bench/*_bench.cc; do
  name=$(basename "$src" .cc)
  "build/bench/$name"
done
for driver in bench/*_bench.sh; do
  "$driver"
done
