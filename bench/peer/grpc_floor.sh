#!/usr/bin/env bash
# The gRPC path's floor (#26): what gRPC's C++ API costs per unary call by how the server is built, with one Redis
# round-trip per batch of calls and no decision (bench/grpc_floor_server.cc). Each shape is driven by the peer
# benchmark's ghz (closed loop at concurrency 64; a fixed 5,000 calls/s at concurrency 64) on its own fresh
# redis-server; shapes interleave within each round, in turn first. Prints per shape and load the medians of the
# rounds: the server's CPU per call (utime+stime from /proc/<pid>/stat around the run), its voluntary context
# switches per call, calls/s, p99; and the CPU per call as a ratio to `callback-workers`, tactd's shape.
#
#   bench/peer/grpc_floor.sh [--rounds R] [--calls N] [--rate RPS] [--shapes S,...] [--build-dir DIR] [--no-build]
#
# Shapes: callback-workers, async-workers, async-inline, async-inline+health (gRPC's default health service too),
# async-inline/2 (two completion queues, a thread each). Needs ghz (installed by bench/peer/run.sh into
# <build>/peer-go/bin the first time: Go and the module proxy), redis-server, python3. Never run by CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=3 calls=50000 rate=5000 bdir=build build=1
shapes=callback-workers,async-workers,async-inline,async-inline+health,async-inline/2
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --build-dir) bdir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench/peer/grpc_floor.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in rounds calls rate; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/peer/grpc_floor.sh: --$v must be a positive integer" >&2; exit 2; }
done

((build)) && cmake --build "$bdir" -- -j2 grpc_floor_server >&2
bench/peer/run.sh --build-dir "$bdir" --no-build --install-only
ghz=$bdir/peer-go/bin/ghz server=$bdir/bench/grpc_floor_server
[[ -x $server ]] || { echo "bench/peer/grpc_floor.sh: no $server (build the grpc_floor_server target)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for <what> <pid> <command...>: polls until the command succeeds, 10 s at most
  local what=$1 pid=$2
  shift 2
  for _ in $(seq 200); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "bench/peer/grpc_floor.sh: $what exited" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench/peer/grpc_floor.sh: $what not ready in 10 s" >&2
  exit 1
}
clk_tck=$(getconf CLK_TCK)
cpu_us() {  # utime+stime of a process in microseconds
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  read -r -a f <<<"$s"
  echo $(((f[11] + f[12]) * 1000000 / clk_tck))
}
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'; }

request='{"event":{"eventId":"floor-1","tenant":"acme","customerId":"customer-1","channel":"EMAIL","messageClass":"PROMOTION"}}'
drive() {  # drive <ghz args...>: one ghz run against the server on $gport, its report in $work/ghz.json
  "$ghz" --insecure --connections 4 --disable-template-data --import-paths proto --proto proto/tact/v1/throttle.proto \
    --call tact.v1.Throttle/Check -d "$request" -O json -o "$work/ghz.json" "$@" "127.0.0.1:$gport" >/dev/null
}
results=$work/results.txt
: >"$results"
IFS=, read -r -a shape_list <<<"$shapes"
for ((round = 1; round <= rounds; round++)); do
  n=${#shape_list[@]}
  for ((k = 0; k < n; k++)); do
    shape=${shape_list[(k + round - 1) % n]}
    args=(--shape "${shape%%[+/]*}")
    [[ $shape == *+health ]] && args+=(--health 1)
    [[ $shape == */* ]] && args+=(--threads "${shape##*/}")
    rport=$(free_port) gport=$(free_port)
    mkdir -p "$work/redis-$round-$k"
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis-$round-$k" --save '' --appendonly no \
      >"$work/redis.log" 2>&1 &
    rpid=$!
    pids+=("$rpid")
    wait_for redis-server "$rpid" redis-cli -p "$rport" ping
    "$server" "${args[@]}" --port "$gport" --redis-port "$rport" 2>"$work/server.log" &
    spid=$!
    pids+=("$spid")
    wait_for "grpc_floor_server ($shape)" "$spid" grep -q ready "$work/server.log"
    echo "grpc_floor: round $round/$rounds: $shape" >&2
    drive -c 16 -n 2000  # warm-up
    for load in c64 rate; do
      if [[ $load == c64 ]]; then load_args=(-c 64 -n "$calls"); else load_args=(-c 64 --rps "$rate" -n "$calls"); fi
      c0=$(cpu_us "$spid") s0=$(switches "$spid")
      drive "${load_args[@]}"
      c1=$(cpu_us "$spid") s1=$(switches "$spid")
      python3 - "$work/ghz.json" "$shape" "$load" $((c1 - c0)) $((s1 - s0)) >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = max(r["count"], 1)
p99 = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}.get(99, 0)
ok = (r.get("statusCodeDistribution") or {}).get("OK", 0)
print(sys.argv[2], sys.argv[3], int(sys.argv[4]) / n, int(sys.argv[5]) / n, r["rps"], p99, r["count"] - ok)
PY
    done
    kill -TERM "$spid" "$rpid"
    wait "$spid" "$rpid" 2>/dev/null || true
    pids=()
  done
done

echo "grpc floor $(date -u +%Y-%m-%d): $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); $calls calls per run, ghz --connections 4 --disable-template-data -c 64 (closed loop; and --rps $rate); $rounds rounds, medians; one Redis PING round-trip per batch, no decision"
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
failed = 0
for line in open(sys.argv[1]):
    shape, load, cpu, sw, rps, p99, bad = line.split()
    rows.setdefault((shape, load), []).append((float(cpu), float(sw), float(rps), float(p99)))
    failed += int(bad)
med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in rows.items()}
for (shape, load), (cpu, sw, rps, p99) in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    base = med.get(("callback-workers", load))
    ratio = f"ratio={cpu / base[0]:.2f} " if base else ""
    print(f"grpc.floor_{load} {ratio}shape={shape} server_cpu_us_per_call={cpu:.1f} switches_per_call={sw:.2f} "
          f"calls_per_s={rps:.0f} p99_ms={p99:.2f}")
if failed:
    print(f"grpc_floor: {failed} calls did not end OK", file=sys.stderr)
    sys.exit(1)
PY
