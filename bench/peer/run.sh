#!/usr/bin/env bash
# Peer benchmark (#26): tactd's Throttle.Check against envoyproxy/ratelimit's ShouldRateLimit, the same limits, the
# same ghz load, each server on its own redis-server, runs interleaved. Prints tact/ratelimit ratios of calls/s
# (closed loop, concurrency 16 and 64), p50/p99 at a fixed rate (5,000 calls/s) and CPU per call of the server and of
# its redis-server (utime+stime from /proc/<pid>/stat around each run, as bench/proc_cpu.h does), and per call the
# commands its redis-server ran (a script's own calls included) and its read events (~ round trips: a read can
# carry several pipelined commands), from INFO stats after a CONFIG RESETSTAT.
#
#   bench/peer/run.sh [--rounds R] [--calls N] [--customers K] [--rate RPS] [--connections C]
#                     [--configs day,day_week] [--pin] [--build-dir DIR] [--no-build] [--no-install] [--keep DIR]
#                     [--install-only]
#
# Configurations (files beside this script):
#   day       tact: promotion 1 per calendar day     ratelimit: customer_day 1/DAY
#   day_week  tact: 1 per calendar day + 3 per week  ratelimit: customer_day 1/DAY + customer_week 3/WEEK, two
#             descriptors per request, STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT=true (a call one limit refuses is
#             not counted by the other, as in tact)
# The load: every run sends N calls (default 50,000), the i-th call for the i-th customer of one seeded sequence drawn
# uniformly from K customers (default 100,000), the same sequence for both servers; each tact call has its own
# event_id. Both redis-servers are flushed before every run, so each run starts from the same state and both servers
# write (a first call of a customer is allowed and counted, a repeat is refused).
#
# Needs: Go (GO=..., default `go` on PATH, else /usr/local/go/bin/go) and the Go module proxy the first time, to
# install ratelimit and ghz at pinned versions into build/peer-go/bin (kept there); redis-server, python3, curl,
# protoc.
# Builds build/tactd and build/tact-devbroker (tactd needs a Kafka broker to start; the in-memory dev broker serves,
# idle) unless --no-build. Never run by bench/run.sh or CI (network); --no-install exits 77 (skipped) instead of
# installing the Go tools (the ctest smoke test). Exits 1 when a call fails or tact's decisions are not the expected
# ones (every customer's first call released, the others suppressed). Everything started is stopped on exit.
# --install-only: installs the Go tools (when missing) and exits (bench/peer/grpc_floor.sh uses ghz).
# --pin: ghz runs on CPU 0 alone, the servers, their redis-servers and the dev broker on the other CPUs (taskset), so
# the load driver does not compete with the server it measures: calls/s then measures the server side's capacity
# (on 2 CPUs: one core for a server and its Redis), not who leaves ghz more of a shared core. Needs 2 CPUs or more.
# PEER_RATELIMIT_ENV="NAME=value ..." adds settings to ratelimit's environment (e.g. REDIS_POOL_SIZE=20).
# PEER_TACT_ARGS="--flag value ..." adds flags to tactd's command line (tactd runs with --redis-older-layouts false: a fresh Redis).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

RATELIMIT_PKG=github.com/envoyproxy/ratelimit/src/service_cmd
RATELIMIT_VERSION=v1.4.1-0.20260122083618-3fb702589d36  # the proxy refuses a bare commit hash: a pseudo-version
GHZ_PKG=github.com/bojand/ghz/cmd/ghz
GHZ_VERSION=v0.120.0

rounds=3 calls=50000 customers=100000 rate=5000 connections=4 configs=day,day_week build=1 install=1 keep="" bdir=build
pin=0 install_only=0
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --customers) customers=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --build-dir) bdir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --pin) pin=1; shift ;;
    --no-install) install=0; shift ;;
    --install-only) install_only=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench/peer/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in rounds calls customers rate connections; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/peer/run.sh: --$v must be a positive integer, got '${!v}'" >&2; exit 2; }
done

log() { echo "peer: $*" >&2; }

# --pin: the load driver's CPU and the servers' (empty: no pinning)
on_load=() on_servers=()
if ((pin)); then
  ncpu=$(nproc)
  ((ncpu >= 2)) || { echo "bench/peer/run.sh: --pin needs 2 CPUs or more, this machine has $ncpu" >&2; exit 2; }
  command -v taskset >/dev/null || { echo "bench/peer/run.sh: --pin needs taskset (util-linux)" >&2; exit 2; }
  on_load=(taskset -c 0) on_servers=(taskset -c "1-$((ncpu - 1))")
fi

# --- Go tools at their pinned versions ------------------------------------------------------------------------------
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
((build)) && mkdir -p "$bdir"
bdir=$(cd "$bdir" 2>/dev/null && pwd) || { echo "bench/peer/run.sh: no build directory (--build-dir)" >&2; exit 1; }
gobin=$bdir/peer-go/bin
ratelimit_bin=$gobin/service_cmd
ghz_bin=$gobin/ghz
# installed <binary> <module version>: true when the binary exists and was built from that version of its module
installed() { [[ -x "$1" ]] && "$GO" version -m "$1" 2>/dev/null | awk -v v="$2" '$1 == "mod" && $3 == v { f = 1 } END { exit !f }'; }
install_tool() {  # install_tool <binary> <package> <version>
  installed "$1" "$3" && return
  ((install)) || { echo "bench/peer/run.sh: $2@$3 not installed in $gobin: skipped (--no-install)" >&2; exit 77; }
  [[ -x "$GO" ]] || { echo "bench/peer/run.sh: Go not found (set GO=/path/to/go)" >&2; exit 1; }
  log "installing $2@$3 into $gobin (GOPROXY=$("$GO" env GOPROXY))"
  mkdir -p "$gobin"
  GOBIN=$gobin GOFLAGS="$("$GO" env GOFLAGS) -mod=mod" "$GO" install "$2@$3" >&2
  installed "$1" "$3" || { echo "bench/peer/run.sh: $1 is not $2@$3 after go install" >&2; exit 1; }
}
install_tool "$ratelimit_bin" "$RATELIMIT_PKG" "$RATELIMIT_VERSION"
install_tool "$ghz_bin" "$GHZ_PKG" "$GHZ_VERSION"
((install_only)) && exit 0
for tool in redis-server redis-cli python3 curl protoc; do
  command -v "$tool" >/dev/null || { echo "bench/peer/run.sh: $tool not found (deploy/install-deps.sh)" >&2; exit 1; }
done

# --- tactd ------------------------------------------------------------------------------------------------------------
if ((build)); then
  [[ -f $bdir/build.ninja ]] || cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  cmake --build "$bdir" -- -j2 tactd tact-devbroker >&2
fi
tactd=$bdir/tactd devbroker=$bdir/tact-devbroker
for b in "$tactd" "$devbroker"; do
  [[ -x $b ]] || { echo "bench/peer/run.sh: $b missing (build it, or drop --no-build)" >&2; exit 1; }
done
# the commit measured: HEAD, and the last commit that changed what tactd is built from
tact_rev="unknown commit"
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
  tact_rev="$(git rev-parse --short HEAD), daemon/ and proto/ of $(git log -1 --format=%h -- daemon proto)"
  git diff --quiet HEAD -- daemon proto || tact_rev="$tact_rev + uncommitted changes"
fi

# --- processes, cleanup -----------------------------------------------------------------------------------------------
work=$(mktemp -d /tmp/tact-peer.XXXXXX)
pids=()
cleanup() {
  local status=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$keep" ]]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/ && log "logs and reports kept in $keep"; fi
  if ((status != 0)) && [[ -z "$keep" ]]; then
    for f in "$work"/*.log; do [[ -s $f ]] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for <what> <pid> <command...>: polls the command until it succeeds, the process dies or 60 s pass
  local what=$1 pid=$2 deadline=$((SECONDS + 60))
  shift 2
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "bench/peer/run.sh: $what exited at start" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "bench/peer/run.sh: $what not ready after 60 s" >&2; exit 1; }
    sleep 0.2
  done
}
start_redis() {  # start_redis <name>: sets port_<name>, pid_<name>
  local port dir=$work/redis-$1
  port=$(free_port)
  mkdir -p "$dir"
  "${on_servers[@]}" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no >"$work/redis-$1.log" 2>&1 &
  pids+=($!)
  printf -v "port_$1" %s "$port"
  printf -v "pid_$1" %s "$!"
  wait_for "redis-server ($1)" "$!" redis-cli -p "$port" ping
}
clk_tck=$(getconf CLK_TCK)
cpu_us() {  # utime+stime of a process in microseconds (fields 14 and 15 of /proc/<pid>/stat)
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  read -r -a f <<<"$s"
  echo $(((f[11] + f[12]) * 1000000 / clk_tck))
}

# --- the load ---------------------------------------------------------------------------------------------------------
# One file of count-delimited binary requests per server and configuration, call i = element i (ghz sends element
# RequestNumber % N), decoded once when ghz starts; ghz runs with --disable-template-data. With ghz's defaults (JSON
# data, and a call template built for every call even when the data has none) ghz took ~190 µs of CPU per call here,
# more than either server: on a shared machine that measured ghz as much as the servers. Prints the number of distinct
# customers.
distinct=$(python3 - "$work" "$calls" "$customers" <<'PY'
import random, sys
work, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(26)
seq = [f"customer-{rng.randrange(k)}" for _ in range(n)]
def dump(name, lines):  # protobuf text format of one `Calls` message (see encode), one call per line
    with open(f"{work}/{name}.txt", "w") as f:
        f.writelines(line + "\n" for line in lines)
dump("tact", (f'calls {{ event {{ event_id: "peer-{i}" tenant: "acme" customer_id: "{c}" channel: EMAIL '
              f'message_class: PROMOTION }} }}' for i, c in enumerate(seq)))
for cfg, keys in (("day", ["customer_day"]), ("day_week", ["customer_day", "customer_week"])):
    dump(f"ratelimit-{cfg}", ('calls { domain: "peer" ' +
                              " ".join(f'descriptors {{ entries {{ key: "{key}" value: "{c}" }} }}' for key in keys) +
                              " }" for c in seq))
print(len(set(seq)))
PY
)
# encode <name> <import path> <proto file> <request type>: $work/<name>.txt -> $work/<name>.bin. protoc encodes a
# `Calls { repeated <request type> calls = 1; }`, whose elements are each a tag byte and a length-delimited request;
# without the tag bytes that is the count-delimited stream ghz reads.
encode() {
  local name=$1 import=$2 proto=$3 type=$4
  printf 'syntax = "proto3";\nimport "%s";\nmessage Calls { repeated %s calls = 1; }\n' "$proto" "$type" \
    >"$work/calls_$name.proto"
  protoc -I "$import" -I "$work" --encode=Calls "calls_$name.proto" <"$work/$name.txt" >"$work/$name.calls"
  python3 - "$work/$name.calls" "$work/$name.bin" <<'PY'
import sys
data, out, i = open(sys.argv[1], "rb").read(), bytearray(), 0
while i < len(data):
    assert data[i] == 0x0A, f"unexpected tag {data[i]:#x} at byte {i}"
    start = i = i + 1
    length = shift = 0
    while True:  # the element's length, a varint, kept as it is
        b = data[i]
        i += 1
        length |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    out += data[start:i + length]
    i += length
open(sys.argv[2], "wb").write(out)
PY
}
encode tact proto tact/v1/throttle.proto tact.v1.CheckRequest
for cfg in day day_week; do
  encode "ratelimit-$cfg" bench/peer rls_subset.proto envoy.service.ratelimit.v3.RateLimitRequest
done

# ghz_run <server> <json report> <ghz args...>
ghz_run() {
  local server=$1 out=$2
  shift 2
  local common=(--insecure --connections "$connections" --disable-template-data -O json -o "$out")
  if [[ $server == tact ]]; then
    "${on_load[@]}" "$ghz_bin" "${common[@]}" --import-paths proto --proto proto/tact/v1/throttle.proto \
      --call tact.v1.Throttle/Check --binary-file "$work/tact.bin" "$@" "127.0.0.1:$grpc_tact" >&2
  else
    "${on_load[@]}" "$ghz_bin" "${common[@]}" --import-paths bench/peer --proto bench/peer/rls_subset.proto \
      --call envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit --binary-file "$work/ratelimit-$cfg.bin" \
      "$@" "127.0.0.1:$grpc_ratelimit" >&2
  fi
}
tact_decisions() {  # RELEASE and SUPPRESS counts of gRPC decisions so far, from tactd's /metrics
  curl -sf "http://127.0.0.1:$admin_tact/metrics" |
    awk '/^tact_decisions_total\{/ && /source="grpc"/ { if (/decision="RELEASE"/) r += $NF; else if (/decision="SUPPRESS"/) s += $NF }
         END { printf "%d %d\n", r, s }'
}

failed=0
results=$work/results.txt
: >"$results"
# measure <config> <server> <mode> <round>: one ghz run on a flushed Redis, one result line
measure() {
  local cfg=$1 server=$2 mode=$3 round=$4 args=() spid rpid rport s0 r0 s1 r1 out
  case $mode in
    c16) args=(-c 16 -n "$calls") ;;
    c64) args=(-c 64 -n "$calls") ;;
    rate) args=(-c 64 --rps "$rate" -n "$calls") ;;
  esac
  if [[ $server == tact ]]; then spid=$pid_tactd rpid=$pid_redis_tact rport=$port_redis_tact
  else spid=$pid_ratelimit rpid=$pid_redis_ratelimit rport=$port_redis_ratelimit; fi
  redis-cli -p "$rport" flushall >/dev/null
  redis-cli -p "$rport" config resetstat >/dev/null
  out=$work/ghz-$cfg-$server-$mode-$round.json
  s0=$(cpu_us "$spid") r0=$(cpu_us "$rpid")
  ghz_run "$server" "$out" "${args[@]}"
  s1=$(cpu_us "$spid") r1=$(cpu_us "$rpid")
  # Redis' counts since the resetstat: commands (a script's own calls included) and read events (~ round trips)
  local counts
  counts=$(redis-cli -p "$rport" info stats | tr -d '\r' |
    awk -F: '$1 == "total_commands_processed" { c = $2 } $1 == "total_reads_processed" { r = $2 } END { print c + 0, r + 0 }')
  redis-cli -p "$rport" info commandstats | tr -d '\r' >"$work/commandstats-$cfg-$server-$mode-$round.txt"  # --keep
  # one result line: config server mode round calls/s p50_ms p99_ms server_us/call redis_us/call failed keys
  # redis_commands/call redis_reads/call; the report is cut to its summary (kept with --keep)
  python3 - "$out" "$cfg $server $mode $round" $((s1 - s0)) $((r1 - r0)) "$(redis-cli -p "$rport" dbsize)" $counts >>"$results" <<'PY'
import json, sys
path, head, scpu, rcpu, keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cmds, reads = int(sys.argv[6]), int(sys.argv[7])
r = json.load(open(path))
pct = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
n = max(r["count"], 1)
print(head, int(r["rps"]), pct.get(50, 0), pct.get(99, 0), scpu / n, rcpu / n,
      r["count"] - (r.get("statusCodeDistribution") or {}).get("OK", 0), keys, cmds / n, reads / n)
r.pop("details", None)
r.get("options", {}).pop("data", None)
json.dump(r, open(path, "w"))
PY
}

# --- one configuration: start both stacks, warm up, interleave, stop ---------------------------------------------------
run_config() {
  local cfg=$1 stop=false
  [[ $cfg == day_week ]] && stop=true
  [[ -d bench/peer/tact/$cfg && -d bench/peer/ratelimit/$cfg ]] || { echo "bench/peer/run.sh: no configuration '$cfg'" >&2; exit 2; }
  local first=${#pids[@]}
  start_redis redis_ratelimit
  start_redis redis_tact

  grpc_ratelimit=$(free_port)
  local http_ratelimit
  http_ratelimit=$(free_port)
  env -i PATH="$PATH" HOME="$work" HOST=127.0.0.1 PORT="$http_ratelimit" DEBUG_HOST=127.0.0.1 DEBUG_PORT="$(free_port)" \
    GRPC_HOST=127.0.0.1 GRPC_PORT="$grpc_ratelimit" USE_STATSD=false LOG_LEVEL=warn \
    RUNTIME_ROOT="$root/bench/peer/ratelimit" RUNTIME_SUBDIRECTORY="$cfg" RUNTIME_APPDIRECTORY=config \
    RUNTIME_WATCH_ROOT=false REDIS_SOCKET_TYPE=tcp REDIS_URL="127.0.0.1:$port_redis_ratelimit" \
    STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT=$stop ${PEER_RATELIMIT_ENV:-} \
    "${on_servers[@]}" "$ratelimit_bin" >"$work/ratelimit-$cfg.log" 2>&1 &
  pids+=($!)
  pid_ratelimit=$!

  local bootstrap=$work/bootstrap-$cfg
  "${on_servers[@]}" "$devbroker" --partitions 1 --bootstrap-file "$bootstrap" >"$work/devbroker-$cfg.log" 2>&1 &
  pids+=($!)
  wait_for tact-devbroker "$!" test -s "$bootstrap"
  grpc_tact=$(free_port) admin_tact=$(free_port)
  # A fresh deployment on an empty Redis: no key of an older layout to look for (redis.older_layouts false), as
  # ratelimit has none. PEER_TACT_ARGS adds flags (e.g. "--redis-older-layouts true" for an upgraded deployment).
  TACT_REDIS_KEY_SECRET=peer-bench TACT_CUSTOMER_HASH_KEY=peer-bench "${on_servers[@]}" "$tactd" --policies "bench/peer/tact/$cfg" \
    --kafka-brokers "$(<"$bootstrap")" --redis "127.0.0.1:$port_redis_tact" --grpc-plaintext true \
    --redis-older-layouts false ${PEER_TACT_ARGS:-} \
    --grpc-listen "127.0.0.1:$grpc_tact" --admin-listen "127.0.0.1:$admin_tact" --log-level warn \
    >"$work/tactd-$cfg.log" 2>&1 &
  pids+=($!)
  pid_tactd=$!

  wait_for "ratelimit ($cfg)" "$pid_ratelimit" curl -sf "http://127.0.0.1:$http_ratelimit/healthcheck"
  wait_for "tactd ($cfg)" "$pid_tactd" curl -sf "http://127.0.0.1:$admin_tact/readyz"

  log "$cfg: warming up both servers"
  ghz_run ratelimit "$work/warmup.json" -c 16 -n 2000
  ghz_run tact "$work/warmup.json" -c 16 -n 2000
  local before after
  for ((round = 1; round <= rounds; round++)); do
    for mode in c16 c64 rate; do
      local order=(ratelimit tact)
      ((round % 2 == 0)) && order=(tact ratelimit)
      for server in "${order[@]}"; do
        log "$cfg round $round/$rounds: $server $mode"
        [[ $server == tact ]] && before=$(tact_decisions)
        measure "$cfg" "$server" "$mode" "$round"
        if [[ $server == ratelimit && $stop == true ]]; then  # each allowed call counted once by the week limit
          local counted
          counted=$(redis-cli -p "$port_redis_ratelimit" eval "local n = 0 for _, k in ipairs(redis.call('keys', '*customer_week*')) do n = n + tonumber(redis.call('get', k)) end return n" 0)
          echo "$cfg $((counted - distinct))" >>"$work/overcount.txt"
        fi
        if [[ $server == tact ]]; then
          after=$(tact_decisions)
          read -r r0 s0 <<<"$before"; read -r r1 s1 <<<"$after"
          if ((r1 - r0 != distinct || s1 - s0 != calls - distinct)); then
            log "ERROR: tact decided RELEASE $((r1 - r0)) SUPPRESS $((s1 - s0)), expected $distinct and $((calls - distinct)) (a run across midnight UTC starts a new day)"
            failed=1
          fi
        fi
      done
    done
  done

  for ((i = ${#pids[@]} - 1; i >= first; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  pids=("${pids[@]:0:first}")
}

IFS=, read -r -a config_list <<<"$configs"
for cfg in "${config_list[@]}"; do run_config "$cfg"; done

# --- the table --------------------------------------------------------------------------------------------------------
cpus=$(nproc)
echo "peer benchmark $(date -u +%Y-%m-%d): tact $tact_rev ($tactd) vs envoyproxy/ratelimit $RATELIMIT_VERSION, ghz $GHZ_VERSION; $cpus CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "load: $calls Check calls per run, customers drawn uniformly from $customers ($distinct distinct: their first call is allowed and counted, the other $((calls - distinct)) refused by the day limit); each server's redis-server flushed before every run; ghz --connections $connections --disable-template-data, binary requests; $rounds rounds, servers interleaved (ratelimit first in odd rounds, tact first in even), medians"
echo "day: tact 1 per calendar day (UTC) | ratelimit customer_day 1/DAY.  day_week: tact + 3 per calendar week (Mon-Sun) | ratelimit + customer_week 3/WEEK (epoch weeks, Thu-Wed), STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT=true"
python3 - "$results" "$rate" "$work/overcount.txt" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)  # (cfg, server, mode) -> [fields]
errors = 0
for line in open(sys.argv[1]):
    cfg, server, mode, rnd, rps, p50, p99, scpu, rcpu, errs, keys, cmds, reads = line.split()
    cpu = float(scpu) + float(rcpu)
    # busy: the cores the server and its Redis used (below the cores they had: the load driver was the limit);
    # percore: the calls/s one core of server + Redis serves at that cost (the capacity the load driver may hide)
    rows[(cfg, server, mode)].append(dict(rps=float(rps), p50=float(p50), p99=float(p99), scpu=float(scpu),
                                          rcpu=float(rcpu), cpu=cpu, keys=int(keys), cmds=float(cmds),
                                          reads=float(reads), busy=cpu * float(rps) / 1e6,
                                          percore=1e6 / cpu if cpu else 0.0))
    errors += int(errs)
rate = sys.argv[2]
metrics = [  # label, mode, field, format, goal (ratio test)
    ("calls/s, concurrency 16", "c16", "rps", "{:.0f}", ">= 1.5", lambda r: r >= 1.5),
    ("calls/s, concurrency 64", "c64", "rps", "{:.0f}", ">= 1.5", lambda r: r >= 1.5),
    (f"calls/s reached at {rate}/s", "rate", "rps", "{:.0f}", "", None),
    (f"p50 ms at {rate}/s", "rate", "p50", "{:.2f}", "", None),
    (f"p99 ms at {rate}/s", "rate", "p99", "{:.2f}", "<= 0.7", lambda r: r <= 0.7),
    ("server CPU us/call, c=64", "c64", "scpu", "{:.1f}", "", None),
    ("redis CPU us/call, c=64", "c64", "rcpu", "{:.1f}", "<= 1", lambda r: r <= 1.0),
    ("server+redis CPU us/call, c=64", "c64", "cpu", "{:.1f}", "", None),
    ("server+redis cores busy, c=64", "c64", "busy", "{:.2f}", "", None),
    ("calls/s per server+redis core, c=64", "c64", "percore", "{:.0f}", "", None),
    (f"server CPU us/call, {rate}/s", "rate", "scpu", "{:.1f}", "", None),
    (f"redis CPU us/call, {rate}/s", "rate", "rcpu", "{:.1f}", "<= 1", lambda r: r <= 1.0),
    ("redis commands/call, c=64", "c64", "cmds", "{:.2f}", "", None),
    ("redis read events/call, c=64", "c64", "reads", "{:.2f}", "", None),
    (f"redis commands/call, {rate}/s", "rate", "cmds", "{:.2f}", "", None),
    (f"redis read events/call, {rate}/s", "rate", "reads", "{:.2f}", "", None),
    ("redis keys after a run", "c64", "keys", "{:.0f}", "", None),
]
print(f"{'CONFIG':9}  {'METRIC':36}  {'TACT':>9}  {'RATELIMIT':>9}  {'TACT/RL':>7}  GOAL")
for cfg in dict.fromkeys(k[0] for k in rows):
    for label, mode, field, fmt, goal, ok in metrics:
        t = [r[field] for r in rows.get((cfg, "tact", mode), [])]
        l = [r[field] for r in rows.get((cfg, "ratelimit", mode), [])]
        if not t or not l:
            continue
        mt, ml = statistics.median(t), statistics.median(l)
        ratio = f"{mt / ml:7.2f}" if ml and field != "keys" else "      -"
        verdict = "" if ok is None or not ml else f"{goal} {'met' if ok(mt / ml) else 'NOT met'}"
        print(f"{cfg:9}  {label:36}  {fmt.format(mt):>9}  {fmt.format(ml):>9}  {ratio}  {verdict}")
try:
    extra = [int(l.split()[1]) for l in open(sys.argv[3])]
    print(f"ratelimit's week counter counted {sum(extra)} refused calls in {len(extra)} runs (per run: "
          f"{', '.join(map(str, extra))}): under concurrency two first calls of one customer both pass its GET, then "
          "both INCRBY (not atomic); tact writes a customer's key only if it is as it read it (else check.lua decides)")
except FileNotFoundError:
    pass
if errors:
    print(f"ERROR: {errors} calls did not end OK (see the ghz reports with --keep)")
sys.exit(1 if errors else 0)
PY
exit $((failed))
