#!/usr/bin/env bash
# Runs every benchmark (bench/*_bench.cc, plus bench/*_bench.sh drivers) and prints ONE table of their figures.
# Each benchmark prints result lines "<name> ratio=<ours/baseline> key=value ..." (ratio optional), the baseline in the
# same run against the same Redis or broker; anything else it prints goes to stderr. Never gates CI.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null  # -O2, same tree as the tests
cmake --build build -- -j"$(nproc)" >/dev/null
shopt -s nullglob
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
run() {  # keeps result lines, passes everything else through to stderr
  local out
  if ! out=$("$@"); then
    echo "bench: $* failed" >&2
    status=1
  fi
  grep -E '^[^ ]+ [^ =]+=' <<<"$out" >>"$results" || echo "bench: $* printed no result line" >&2
  grep -vE '^[^ ]+ [^ =]+=' <<<"$out" >&2 || true
}
for src in bench/*_bench.cc; do
  run "build/bench/$(basename "$src" .cc)"
done
for driver in bench/*_bench.sh; do
  run "$driver"
done
if [[ ! -s "$results" ]]; then
  echo "no benchmarks found in bench/"
  exit "$status"
fi
bench/format_table.sh <"$results"
exit "$status"
