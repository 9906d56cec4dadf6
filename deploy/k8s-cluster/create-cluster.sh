#!/bin/sh
# Creates a Redis Cluster once from empty nodes: masters and replicas (REPLICAS per master, 1 by default) out of
# the host:port arguments, then waits until every node reports cluster_state:ok. Idempotent: when the first node
# already knows all the nodes and the cluster is ok it only says so, so it can run on every `up` (compose's
# one-shot `redis-cluster-create`, the Kubernetes Job in k8s/cluster/). Refuses (exit 1) to touch nodes that are
# in some other cluster, or a cluster that is not ok: that needs a person (`redis-cli --cluster check`/`fix`).
#
#   create-cluster.sh host:port host:port ...      (6 for 3 masters + 3 replicas)
# Environment:
#   REDIS_USER        ACL user to authenticate as (needs +@all: CLUSTER ADDSLOTS, MEET, REPLICATE); empty: default
#   REDISCLI_AUTH     its password (read by redis-cli itself, never on a command line)
#   REDIS_CLI_ARGS    extra redis-cli arguments, e.g. "--tls --cacert /etc/redis/tls/ca.crt"
#   REPLICAS          replicas per master (1)
#   WAIT_SECONDS      how long to wait for the nodes to answer and for the cluster to become ok (120)
set -eu

[ "$#" -ge 3 ] || { echo "create-cluster.sh: need at least 3 nodes as host:port" >&2; exit 2; }
replicas=${REPLICAS:-1}
deadline=$(($(date +%s) + ${WAIT_SECONDS:-120}))

cli() {  # cli host:port args...
  node=$1
  shift
  # shellcheck disable=SC2086  # REDIS_CLI_ARGS is a list of words
  redis-cli ${REDIS_USER:+--user "$REDIS_USER"} ${REDIS_CLI_ARGS:-} -h "${node%:*}" -p "${node##*:}" "$@"
}
field() {  # field host:port name: a field of CLUSTER INFO
  cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}
wait_until() {  # wait_until what command...: polls the command until it succeeds or the deadline passes
  what=$1
  shift
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "create-cluster.sh: timed out waiting for $what" >&2
      exit 1
    fi
    sleep 0.2
  done
}
answers() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }
all_ok() {
  for n in "$@"; do [ "$(field "$n" cluster_state)" = ok ] || return 1; done
}

for n in "$@"; do wait_until "$n to answer PING" answers "$n"; done

known=$(field "$1" cluster_known_nodes)
if [ "$known" = "$#" ] && [ "$(field "$1" cluster_state)" = ok ]; then
  echo "create-cluster.sh: cluster already created ($# nodes, cluster_state:ok)"
  exit 0
fi
for n in "$@"; do
  if [ "$(field "$n" cluster_known_nodes)" != 1 ]; then
    echo "create-cluster.sh: $n already knows other nodes but the cluster is not complete and ok;" \
      "inspect it with redis-cli --cluster check $n" >&2
    exit 1
  fi
done

# shellcheck disable=SC2086
redis-cli ${REDIS_USER:+--user "$REDIS_USER"} ${REDIS_CLI_ARGS:-} --cluster create "$@" \
  --cluster-replicas "$replicas" --cluster-yes
wait_until "cluster_state:ok on every node" all_ok "$@"
echo "create-cluster.sh: cluster created ($# nodes, $replicas replica(s) per master)"
