#!/usr/bin/env bash
# One agent's memory in a cluster of N Nodes (10,000 by default) with the
# informer cache, measured on a real API server (lib.sh's apiserver_up on
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
#   flock /tmp/kgctl-e2e.lock hack/bench/agent-rss.sh [N]
#
# The agent runs with default flags, as users run it (without ipip it
# routes as with --encapsulate never; its iptables rules are installed);
# only what the test machine needs differs (lib.sh's agent_start:
# userspace WireGuard, paths, a 5 s resync, no CNI file). AGENT_FLAGS adds
# flags (AGENT_FLAGS="--no-iptables" measures without the rules).
#
# Needs root (namespaces; skips otherwise), socat, curl, etcd, iptables
# and the cached kube-apiserver; run it alone machine-wide (flock, as above). The
# report (stdout) is also kept in the work directory's report.txt. Not part
# of CI.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-10000}
export REPO E2E_PREFIX=kgr
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"

e2e_require agent-rss socat etcd curl openssl kubectl iptables-save
e2e_workdir rss # kgctl built, or KGCTL_BIN

log "building the generator and cachemem"
(cd "$REPO" && go build -o "$W/cachemem" ./hack/bench/cachemem &&
  go run ./hack/bench/gen -nodes "$N" -locations 100 -format list > "$W/nodes.yaml")
API_NS="" API_ADDR=127.0.0.1 API_PORT=46443 ETCD_PORT=42379 apiserver_up "$W"
kubectl --kubeconfig "$K" apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
log "creating $N nodes"
"$W/cachemem" load -kubeconfig "$K" -f "$W/nodes.yaml"
rm "$W/nodes.yaml"

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
# Both relays are stopped through their pid files (e2e_down).
socat UNIX-LISTEN:"$W/api.sock",fork TCP:127.0.0.1:46443 &
echo $! > "$W/relay.pid"; disown
ip netns exec "$(ns a)" socat TCP-LISTEN:46443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$W/api.sock" &
echo $! > "$W/relay-ns.pid"; disown
sleep 0.5

# shellcheck disable=SC2086 # AGENT_FLAGS: words
agent_start a "$W" --hostname node-00000 ${AGENT_FLAGS:-}
pid=$(cat "$W/a.pid")
t0=$SECONDS
for _ in $(seq 600); do
  nsexec a curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || die "the agent exited"
  sleep 0.5
done
nsexec a curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null || die "agent not healthy within 300 s"
healthy=$((SECONDS - t0))

# sample: reconciles, RSS (KiB), Go heap in use (bytes) of the agent, and
# its CPU time in ms (user and system, with the children it waited for:
# iptables-save and iptables-restore).
sample() {
  local m; m=$(nsexec a curl -s --max-time 2 http://127.0.0.1:1107/metrics)
  echo "$(awk '$1 ~ /^kgctl_reconciles_total/ {s+=$2} END {print s+0}' <<<"$m")" \
    "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
    "$(awk '$1 == "go_memstats_heap_inuse_bytes" {printf "%d", $2}' <<<"$m")" \
    "$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15 + $16 + $17) * 1000 / hz}' "/proc/$pid/stat")"
}
read -r r0 rss0 heap0 cpu0 <<<"$(sample)"
for _ in $(seq 120); do
  read -r r1 rss1 heap1 cpu1 <<<"$(sample)"
  [ "$r1" -ge $((r0 + 5)) ] && break
  sleep 1
done
[ "$r1" -ge $((r0 + 5)) ] || die "5 resyncs did not happen within 120 s"

rules=$(nsexec a iptables-save | grep -c '^-A' || true)
report "agent-rss: $N nodes, $(nproc) cores, $(date -u +%FT%TZ), kgctl $(cd "$REPO" && git describe --always --dirty), agent flags: ${AGENT_FLAGS:-defaults}"
report "$(printf 'agent, healthy after %3ds:   RSS %4d MiB, Go heap in use %4d MiB (%d reconciles), CPU %d ms' "$healthy" $((rss0 / 1024)) $((heap0 >> 20)) "$r0" "$cpu0")"
report "$(printf 'agent, after 5 resyncs:       RSS %4d MiB, Go heap in use %4d MiB (%d reconciles), CPU %d ms per reconcile since' $((rss1 / 1024)) $((heap1 >> 20)) "$r1" $(((cpu1 - cpu0) / (r1 - r0))))"
report "agent's IPv4 iptables rules: $rules"
for trim in false true; do
  report "$("$W/cachemem" cache -kubeconfig "$K" -trim=$trim)"
done
cat "$REPORT"
# A run that passed leaves its logs and report, not etcd's data nor the
# binaries (a failed one is kept whole; e2e_exit stops everything either
# way).
apiserver_down "$W"
rm -rf "$W/etcd" "$W/kgctl" "$W/cachemem"
