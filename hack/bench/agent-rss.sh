#!/usr/bin/env bash
# One agent's memory in a cluster of N Nodes (10,000 by default) with the
# informer cache, measured on a real API server (hack/apiserver.sh on
# loopback, ports 46443 and 42379/42380):
#
#   1. N kubelet-like Nodes from hack/bench/gen (status: addresses,
#      capacity, conditions, node info; managedFields added by the server)
#      are created, and one agent runs as node-00000 in its own network
#      namespace (userspace WireGuard, a veth eth0; it reaches the API
#      server through a UNIX socket relayed by socat on both sides);
#   2. its RSS and Go heap once it is healthy (the informers synced, the
#      first full apply done) and after 5 more resyncs;
#   3. beside it, in one run, the cache alone: client-go's Node informer
#      holding whole Nodes, against the agent's watcher that trims each
#      Node before caching it (source.trimNode: name, labels, Kilo's
#      annotations, pod CIDRs).
#
#   hack/bench/agent-rss.sh [N]
#
# Needs root (namespaces), socat, curl, etcd and the cached kube-apiserver;
# takes the machine-wide network-namespace lock. Not part of CI.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-10000}
export E2E_PREFIX=kgr
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
[ "$(id -u)" = 0 ] || { echo "agent-rss: needs root" >&2; exit 1; }
if [ -z "${KGCTL_LOCKED:-}" ]; then
  exec env KGCTL_LOCKED=1 flock /tmp/kgctl-e2e.lock "$0" "$@"
fi
for c in socat etcd curl; do command -v "$c" >/dev/null || die "missing $c"; done
W=$(mktemp -d /tmp/kgctl-rss.XXXXXX)
KAS=$("$REPO/hack/build-kube-apiserver.sh")
command -v kubectl >/dev/null || PATH=$(dirname "$KAS"):$PATH
KGCTL=$W/kgctl
export KGCTL
relay=""
cleanup() {
  agent_stop a "$W"
  # Every process left in the namespace (the relay inside it is started
  # through a shell function: $! is not its pid), and the host's relay:
  # they would hold the lock's file descriptor.
  # shellcheck disable=SC2046
  kill -9 $(ip netns pids "$(ns a)" 2>/dev/null) $relay 2>/dev/null || true
  ip netns del "$(ns a)" 2>/dev/null || true
  "$REPO/hack/apiserver.sh" --down "$W"
  rm -rf "$W/etcd" "$W/nodes.yaml"
}
trap cleanup EXIT

log "building kgctl, the generator and cachemem"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$KGCTL" ./cmd/kgctl && go build -o "$W/cachemem" ./hack/bench/cachemem &&
  go run ./hack/bench/gen -nodes "$N" -locations 100 -format list > "$W/nodes.yaml")
"$REPO/hack/apiserver.sh" "$W" 46443 42379
K=$W/kubeconfig
kubectl --kubeconfig "$K" apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
log "creating $N nodes"
"$W/cachemem" load -kubeconfig "$K" -f "$W/nodes.yaml"

# The agent's namespace: an eth0 (one end of a veth pair kept inside, as
# kernels without the dummy module have veth) with a default route for
# the internal IP's detection, and 127.0.0.1:46443 relayed to the API
# server.
mkns a
ip -n "$(ns a)" link add eth0 type veth peer name eth1
ip -n "$(ns a)" addr add 172.16.0.0/16 dev eth0
ip -n "$(ns a)" link set eth1 up
ip -n "$(ns a)" link set eth0 up
ip -n "$(ns a)" route add default dev eth0
socat UNIX-LISTEN:"$W/api.sock",fork TCP:127.0.0.1:46443 & relay="$!"
nsexec a socat TCP-LISTEN:46443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$W/api.sock" & relay="$relay $!"
sleep 0.5

agent_start a "$W" --hostname node-00000 --encapsulate never --no-iptables
pid=$(cat "$W/a.pid")
t0=$SECONDS
for _ in $(seq 600); do
  nsexec a curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { tail "$W/a.log"; die "the agent exited"; }
  sleep 0.5
done
nsexec a curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null || { tail "$W/a.log"; die "agent not healthy"; }
healthy=$((SECONDS - t0))

# sample: reconciles, RSS (KiB), Go heap in use (bytes) of the agent.
sample() {
  local m; m=$(nsexec a curl -s --max-time 2 http://127.0.0.1:1107/metrics)
  echo "$(awk '$1 ~ /^kgctl_reconciles_total/ {s+=$2} END {print s+0}' <<<"$m")" \
    "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
    "$(awk '$1 == "go_memstats_heap_inuse_bytes" {printf "%d", $2}' <<<"$m")"
}
read -r r0 rss0 heap0 <<<"$(sample)"
for _ in $(seq 120); do
  read -r r1 rss1 heap1 <<<"$(sample)"
  [ "$r1" -ge $((r0 + 5)) ] && break
  sleep 1
done
[ "$r1" -ge $((r0 + 5)) ] || die "5 resyncs did not happen within 120 s"

{
  echo "agent-rss: $N nodes, $(nproc) cores, $(date -u +%FT%TZ), kgctl $(cd "$REPO" && git describe --always --dirty)"
  printf 'agent, healthy after %3ds:   RSS %4d MiB, Go heap in use %4d MiB (%d reconciles)\n' "$healthy" $((rss0 / 1024)) $((heap0 >> 20)) "$r0"
  printf 'agent, after 5 resyncs:       RSS %4d MiB, Go heap in use %4d MiB (%d reconciles)\n' $((rss1 / 1024)) $((heap1 >> 20)) "$r1"
  "$W/cachemem" cache -kubeconfig "$K" -trim=false
  "$W/cachemem" cache -kubeconfig "$K" -trim=true
} | tee "${REPORT:-/tmp/kgctl-agent-rss.txt}"
