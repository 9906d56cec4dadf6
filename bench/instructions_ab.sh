#!/usr/bin/env bash
# Instructions per Kafka event of two or more tactd binaries, counted by valgrind's callgrind while
# kafka_pipeline_bench drives each one (dev broker, real Redis). Prints, per binary, the median over --runs of:
# the whole process, the pipeline thread (Pipeline::Run: consume, decode, route, produce, delivery reports) and
# the decision thread (BatchSequencer::Work: plan, store call, records), per event, and each as a ratio to the
# first binary's. Instruction counts do not move with a shared VM's load, so a change of 2% shows where CPU time
# (kafka_pipeline_bench, ±10% between rounds here) cannot tell it apart. They are not time: a cache miss or a
# lock wait costs no instruction, and valgrind's CPU has no SHA extensions (HMAC-SHA256 counts several times
# what it costs on most servers). Startup is in the total, the same for every binary (~70 M instructions).
#
#   bench/instructions_ab.sh [--build-dir DIR] [--events N] [--runs R] --tactd OLD --tactd NEW [-- bench args...]
#
# Default: build/, 20,000 events as producers send them, 2 runs, the bench's arguments `--tactd-flag
# --redis-older-layouts=false` (a sealed Redis: no older layouts looked in); arguments after `--` replace them
# (`-- --flat-events --tactd-flag --redis-older-layouts=false`: ids, channel and class only). About 30 s per binary
# and run. Needs valgrind (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
events=20000
runs=2
tactds=()
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --tactd) tactds+=("$(realpath "$2")"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "instructions_ab: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [[ ${#tactds[@]} -lt 2 ]]; then
  echo "instructions_ab: give two or more --tactd binaries (the first is the baseline)" >&2
  exit 2
fi
[[ ${#extra[@]} -gt 0 ]] || extra=(--tactd-flag --redis-older-layouts=false)
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -q valgrind >/dev/null
fi
bench="$build/bench/kafka_pipeline_bench"
[[ -x "$bench" ]] || { echo "instructions_ab: build $bench first" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
: >"$results"
for ((run = 1; run <= runs; run++)); do
  for i in "${!tactds[@]}"; do
    wrapper="$work/tactd-$i.sh"
    printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/cg-%s-%s.%%p %q "$@"\n' \
      "$work" "$i" "$run" "${tactds[$i]}" >"$wrapper"
    chmod +x "$wrapper"
    if ! "$bench" --rounds 1 --partitions 1 --events "$events" --tactd "$wrapper" "${extra[@]}" >"$work/bench.log" 2>&1; then
      echo "instructions_ab: kafka_pipeline_bench failed for ${tactds[$i]}:" >&2
      tail -5 "$work/bench.log" >&2
      exit 1
    fi
    out=$(ls "$work"/cg-"$i"-"$run".* 2>/dev/null | head -1)
    [[ -n "$out" ]] || { echo "instructions_ab: no callgrind output for ${tactds[$i]}" >&2; exit 1; }
    total=$(awk '/^summary:/ { print $2 }' "$out")
    inclusive=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | tr -d ,)
    pipeline=$(awk '/tact::pipeline::Pipeline::Run\(\) \[/ { print $1; exit }' <<<"$inclusive")
    decision=$(awk '/tact::decision::BatchSequencer::Work\(.*\) \[/ { print $1; exit }' <<<"$inclusive")
    echo "$i ${total:-0} ${pipeline:-0} ${decision:-0}" >>"$results"
    rm -f "$out"
  done
done

python3 - "$events" "$results" "${tactds[@]}" <<'EOF'
import statistics, sys
events = int(sys.argv[1])
rows = [line.split() for line in open(sys.argv[2])]
names = sys.argv[3:]
per = {}
for i, *values in rows:
    per.setdefault(int(i), []).append([int(v) / events for v in values])
base = None
for i, name in enumerate(names):
    med = [statistics.median(col) for col in zip(*per[i])]
    base = base or med
    ratio = [m / b if b else 0 for m, b in zip(med, base)]
    print(f"kafka.instructions ratio={ratio[0]:.3f} tactd_bin={name} events={events} runs={len(per[i])} "
          f"ir_per_event={med[0]:.0f} pipeline_thread={med[1]:.0f} ({ratio[1]:.3f}) "
          f"decision_thread={med[2]:.0f} ({ratio[2]:.3f})")
EOF
