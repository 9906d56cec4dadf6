#!/usr/bin/env bash
# The full reliability sweep (docs/RELIABILITY.md is its output): the fault matrix at full size (>= 20 kill -9
# rounds, larger loads), every libFuzzer target for a time budget, and the bounded soak; then regenerates
# docs/RELIABILITY.md from what this run measured.
#
#   tests/reliability/sweep.sh [--short] [--fuzz-seconds N] [--soak-seconds N]
#     --short           the matrix at the short sizes of the normal test suite (quick check of the sweep itself)
#     --fuzz-seconds N  per fuzz target (default 60; 0 skips fuzzing)
#     --soak-seconds N  soak duration (default 600; 0 skips the soak)
# Exits non-zero when a scenario fails (a documented known failure does not count), a fuzzer finds a crash or
# the soak exceeds its bounds; docs/RELIABILITY.md is written in every case.
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=full fuzz_seconds=60 soak_seconds=600
while (($#)); do
  case "$1" in
    --short) mode=short; shift ;;
    --fuzz-seconds) fuzz_seconds="$2"; shift 2 ;;
    --soak-seconds) soak_seconds="$2"; shift 2 ;;
    *) echo "sweep.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
jobs=${TACT_BUILD_JOBS:-2}
out=build/reliability
set -e
deploy/install-deps.sh --fuzz
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target tact_reliability_tests tact_unit_tests -- -j"$jobs"
set +e
rm -rf "$out" && mkdir -p "$out"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status=0

echo "== invariant checker self-test" >&2
build/tests/tact_unit_tests --gtest_filter='InvariantsTest.*:FuzzRegressionTest.*' >"$out/checker.log" 2>&1 || status=1
checker_tests=$(grep -c '^\[       OK \]' "$out/checker.log" || true)
[[ $status == 0 ]] || cat "$out/checker.log" >&2

echo "== fault matrix ($mode)" >&2
matrix_env=()
[[ $mode == full ]] && matrix_env=(TACT_RELIABILITY=full)
env "${matrix_env[@]}" TACT_RELIABILITY_REPORT="$out/matrix.jsonl" \
  build/tests/tact_reliability_tests --gtest_filter='ReliabilityMatrix.*' >"$out/matrix.log" 2>&1 || status=1
grep -E '^\[reliability\]|^\[  (FAILED|SKIPPED) ' "$out/matrix.log" >&2 || true
grep -E '^\[  SKIPPED \] ReliabilityMatrix\.[A-Za-z]+ \(' "$out/matrix.log" | sed 's/^\[  SKIPPED \] //; s/ (.*//' \
  >"$out/skipped.txt" || true

if ((fuzz_seconds > 0)); then
  echo "== fuzzing (${fuzz_seconds} s per target)" >&2
  tests/fuzz/run.sh --seconds "$fuzz_seconds" >"$out/fuzz.out" 2>"$out/fuzz.log" || status=1
  grep '^fuzz ' "$out/fuzz.out" >"$out/fuzz.txt"
  cat "$out/fuzz.txt" >&2
fi

if ((soak_seconds > 0)); then
  echo "== soak (${soak_seconds} s)" >&2
  TACT_SKIP_BUILD=1 TACT_RELIABILITY_REPORT="$out/matrix.jsonl" tests/reliability/soak.sh --seconds "$soak_seconds" \
    --out "$out/soak.json" >"$out/soak.log" 2>&1 || status=1
  grep -E '^\[soak\]|Failure' "$out/soak.log" >&2 || true
fi

python3 tests/reliability/render.py --out docs/RELIABILITY.md --template tests/reliability/RELIABILITY.md.in \
  --matrix "$out/matrix.jsonl" --skipped "$out/skipped.txt" --fuzz "$out/fuzz.txt" --soak "$out/soak.json" \
  --started "$started" --mode "$mode" --fuzz-seconds "$fuzz_seconds" --soak-seconds "$soak_seconds" \
  --checker-tests "$checker_tests" --status "$status"
echo "sweep: docs/RELIABILITY.md written ($( ((status == 0)) && echo pass || echo FAIL ))" >&2
exit $status
