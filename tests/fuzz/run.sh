#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang-14, ASan+UBSan) and runs each for a time budget on a copy of its
# seed corpus (tests/fuzz/corpus/<target>/; the repo's corpus is not modified). Crashing inputs are written to
# build-fuzz/fuzz-artifacts/<target>/; the script exits non-zero when any target found one.
#
#   tests/fuzz/run.sh [--seconds N] [target...]     default: 60 s each, all three targets
# Prints one line per target: "fuzz <target> seconds=N runs=R corpus=C crashes=K".
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=60
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(fuzz_policy_parser fuzz_event_decoder fuzz_config_loader)

deploy/install-deps.sh --fuzz
export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-$(command -v ccache || true)}
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACT_FUZZ=ON \
  -DTACT_BUILD_TESTS=OFF -DTACT_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]}" -- -j"${TACT_BUILD_JOBS:-2}"

failed=0
for t in "${targets[@]}"; do
  work=build-fuzz/fuzz-work/$t
  art=build-fuzz/fuzz-artifacts/$t
  rm -rf "$work" "$art" && mkdir -p "$work" "$art"
  cp tests/fuzz/corpus/"$t"/* "$work"/
  log=build-fuzz/fuzz-$t.log
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$art/" "$work" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  crashes=$(find "$art" -type f | wc -l)
  echo "fuzz $t seconds=$seconds runs=${runs:-0} corpus=$(find "$work" -type f | wc -l) crashes=$crashes exit=$rc"
  if ((rc != 0 || crashes != 0)); then
    failed=1
    tail -n 40 "$log" >&2
  fi
done
exit $failed
