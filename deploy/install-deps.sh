#!/usr/bin/env bash
# Installs every Debian 12 package tact needs to build, test and run its local stack.
# Idempotent: when everything is present it only runs dpkg-query and exits (well under a second).
# Called by the README commands, by .ci/run (through the test command) and by deploy/Dockerfile.
#
#   deploy/install-deps.sh            build + test + local-stack packages
#   deploy/install-deps.sh --runtime  only what the tactd binaries need at run time (container runtime stage)
#   deploy/install-deps.sh --fuzz     the build packages plus clang-14 and libFuzzer (tests/fuzz, reliability sweep)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libgrpc-dev
  librdkafka-dev libhiredis-dev libabsl-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libssl-dev redis-server redis-tools kcat tzdata openssl
  libjemalloc-dev
  python3 python3-yaml python3-grpcio curl docker-compose
  prometheus
  librsvg2-bin chromium
)
# What tactd and tactctl link (checked with ldd + dpkg -S on a build; the rest come as their dependencies),
# zone data for calendar windows, CA certificates, and tini as PID 1.
runtime_pkgs=(
  libprotobuf32 libgrpc++1.51 libgrpc29 librdkafka1 librdkafka++1 libhiredis0.14
  libyaml-cpp0.7 libabsl20220623 libssl3 libcpp-httplib0.11 libprometheus-cpp-core1.0 libjemalloc2
  tzdata ca-certificates tini
)

# The real Kafka broker of the tests and the local stack (tests/kafka/broker.sh) runs on Java 17+ and is resolved
# with Maven. A java or mvn already on PATH (e.g. not from a Debian package) is used as it is.
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1 || true)
if ! command -v java >/dev/null 2>&1 || ((${java_major:-0} < 17)); then build_pkgs+=(openjdk-17-jre-headless); fi
if ! command -v mvn >/dev/null 2>&1; then build_pkgs+=(maven); fi

# libFuzzer targets (cmake -DTACT_FUZZ=ON): clang with its fuzzer, ASan and UBSan runtimes.
fuzz_pkgs=(clang-14 libclang-rt-14-dev)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--runtime" ]]; then pkgs=("${runtime_pkgs[@]}"); fi
if [[ "${1:-}" == "--fuzz" ]]; then pkgs+=("${fuzz_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# redis-server's package starts a system service on :6379; tact never uses it (tests start their own).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  "${sudo[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
# prometheus's package starts a server on :9090; the tests only use its promtool (deploy/alerts.yaml).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
