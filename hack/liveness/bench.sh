#!/usr/bin/env bash
# Liveness at scale, measured: a real kube-apiserver holding N Nodes (10,000
# by default), each annotated as an agent leaves it and Ready as kubelet
# leaves it; a load generator writing what N agents (and kubelets) would;
# two real agents from this tree (userspace WireGuard, network namespaces)
# living through it. Both schemes in one run, one phase each:
#
#   idle     nothing but the two agents
#   kilo     Kilo's scheme: every node's last-seen every PERIOD (30s); the
#            simulated nodes carry no kgctl marker, so the real agents
#            write theirs every resync too (Kilo agents read it)
#   kgctl    every simulated node marked as kgctl's; last-seen every
#            HEARTBEAT (10m), Ready mostly constant: one node turns
#            Unknown every FLIP (10s) and back Ready 30s later
#   kubelet  kubelet's status report alone (lastHeartbeatTime every 5m per
#            node): what any cluster pays, Kilo or not; it must wake no one
#
#   hack/liveness/bench.sh      N=10000 PERIOD=30s HEARTBEAT=600s FLIP=10s DURATION=60
#
# KGCTL_B=BINARY runs agent b from another build (a kgctl built from an
# older commit, say): both builds through the same load, in one run.
#
# Reports per phase: API writes/s to Nodes (the API server's own request
# counters), the events one agent's watch receives per second, and each
# real agent's reconciles, patches, CPU, RSS and Go heap, and after each
# phase the live heap of agents of this tree (a heap profile on SIGUSR1,
# kept as $W/NS-PHASE.pprof). Needs root; takes the
# machine-wide network-namespace lock. API server on 26443, etcd on 22379.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000} PERIOD=${PERIOD:-30s} HEARTBEAT=${HEARTBEAT:-600s} FLIP=${FLIP:-10s} DURATION=${DURATION:-60}
export E2E_PREFIX=kgl API_PORT=${API_PORT:-26443} ETCD_PORT=${ETCD_PORT:-22379}
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
[ "$(id -u)" = 0 ] || { echo "liveness bench: needs root" >&2; exit 1; }
if [ -z "${KGCTL_LOCKED:-}" ]; then
  exec env KGCTL_LOCKED=1 flock /tmp/kgctl-e2e.lock "$0" "$@"
fi
KAS=$("$REPO/hack/build-kube-apiserver.sh")
export KAS
command -v kubectl >/dev/null || PATH=$(dirname "$KAS"):$PATH
W=$(mktemp -d /tmp/kgctl-liveness.XXXXXX)
export W
command -v kubectl >/dev/null || ln -sf "$(dirname "$KAS")/kubectl-v1.34.4" "$W/kubectl"
PATH=$W:$PATH
trap 'e2e_down "$W"' EXIT
e2e_down

log "building the load generator and kgctl"
(cd "$REPO" && go build -o "$W/liveness" ./hack/liveness && CGO_ENABLED=0 go build -o "$W/kgctl" ./cmd/kgctl)

router_up
subnet_up 0
subnet_up 1
mkns api && attach api 0 2
host_link
API_EXTRA_FLAGS="--max-requests-inflight=2000 --max-mutating-requests-inflight=1000" apiserver_up "$W"
K=$W/kubeconfig

log "creating $N nodes (Ready)"
t0=$SECONDS
"$W/liveness" create -kubeconfig "$K" -n "$N"
log "created $N nodes in $((SECONDS - t0))s"

# agent NS NODE HOST [BINARY]: a real agent for one of the nodes (its
# heap profiles in $W/NS).
agent() {
  local n=$1 node=$2 bin=${4:-$W/kgctl}
  mkns "$n" && attach "$n" 1 "$3"
  mkdir -p "$W/$n"
  TMPDIR=$W/$n ip netns exec "$(ns "$n")" unshare -m --propagation private \
    sh -c 'mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard && exec "$@"' -- \
    "$bin" agent --hostname "$node" --kubeconfig "$K" --wireguard userspace --cni=false \
    --private-key "$W/$n/key" --listen 127.0.0.1:1107 > "$W/$n.log" 2>&1 &
  echo $! > "$W/$n.pid"; disown
}
AGENTS="a b"
agent a node-00000 11
agent b node-00001 12 "${KGCTL_B:-}"
for n in $AGENTS; do
  for _ in $(seq 240); do
    nsexec "$n" curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null 2>&1 && break
    sleep 0.5
  done
  nsexec "$n" curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null || { tail "$W/$n.log"; die "agent $n not healthy"; }
done
sleep 20 # first reconciles and their patches settle

# api_writes: PATCH and UPDATE requests on Nodes (and their status) the
# API server has served so far.
api_writes() {
  kubectl --kubeconfig "$K" get --raw /metrics |
    awk '/^apiserver_request_total\{/ && /resource="nodes"/ && /verb="(PATCH|UPDATE)"/ {s += $NF} END {printf "%d\n", s}'
}
# sample NS: reconciles, patches, CPU ticks, RSS (KiB), Go heap in use
# and allocated (MiB: live objects and garbage not yet collected) of an
# agent.
sample() {
  local pid m; pid=$(cat "$W/$1.pid")
  m=$(nsexec "$1" curl -s --max-time 2 http://127.0.0.1:1107/metrics)
  echo "$(awk '$1 ~ /^kgctl_reconciles_total/ {s+=$2} END {print s+0}' <<<"$m")" \
    "$(awk '$1 ~ /^kgctl_node_patches_total/ {s+=$2} END {print s+0}' <<<"$m")" \
    "$(awk '{print $14+$15}' "/proc/$pid/stat")" "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
    "$(awk '$1 == "go_memstats_heap_inuse_bytes" {printf "%d", $2 / 1048576}' <<<"$m")" \
    "$(awk '$1 == "go_memstats_heap_alloc_bytes" {printf "%d", $2 / 1048576}' <<<"$m")"
}
# heap NS LABEL: the agent's live heap after a GC (SIGUSR1 makes it write
# a heap profile, internal/heapdump), logged, and its profile kept as
# $W/NS-LABEL.pprof (`go tool pprof -sample_index=inuse_space`). Only
# for agents built from this tree (KGCTL_B replaces agent b's binary).
heap() {
  local n=$1 label=$2 before line f
  [ "$n" = b ] && [ -n "${KGCTL_B:-}" ] && return 0
  before=$(grep -c 'msg="heap profile"' "$W/$n.log" || true)
  kill -USR1 "$(cat "$W/$n.pid")"
  for _ in $(seq 40); do
    [ "$(grep -c 'msg="heap profile"' "$W/$n.log" || true)" -gt "$before" ] && break
    sleep 0.5
  done
  line=$(grep 'msg="heap profile"' "$W/$n.log" | tail -1)
  f=$(sed -n 's/.* path=\([^ ]*\).*/\1/p' <<<"$line")
  [ -n "$f" ] && cp "$f" "$W/$n-$label.pprof"
  # shellcheck disable=SC2001
  printf '%-8s agent %s: after a GC: %s\n' "$label" "$n" "$(sed 's/.*heapAllocMiB=\([0-9]*\) heapInuseMiB=\([0-9]*\).*heapReleasedMiB=\([0-9]*\) sysMiB=\([0-9]*\).*/live heap \1 MiB, in use \2, released \3, from the OS \4/' <<<"$line")"
}
# measure LABEL SECONDS: API writes/s, and each agent's reconciles,
# patches, CPU and RSS over SECONDS.
measure() {
  local label=$1 secs=$2 n w0 w1
  declare -A s0
  w0=$(api_writes)
  for n in $AGENTS; do s0[$n]=$(sample "$n"); done
  sleep "$secs"
  w1=$(api_writes)
  printf '%-8s API writes to Nodes %7.1f/s\n' "$label" "$(awk -v w=$((w1 - w0)) -v s="$secs" 'BEGIN {print w / s}')"
  for n in $AGENTS; do
    read -r r0 p0 c0 _ <<<"${s0[$n]}"
    read -r r1 p1 c1 rss inuse alloc <<<"$(sample "$n")"
    printf '%-8s agent %s: reconciles %4d (%.2f/s)  own patches %3d  CPU %5.1f%% of a core  RSS %4d MiB  heap in use %4d MiB, allocated %4d\n' "$label" "$n" \
      $((r1 - r0)) "$(awk -v r=$((r1 - r0)) -v s="$secs" 'BEGIN {print r / s}')" $((p1 - p0)) \
      "$(awk -v c=$((c1 - c0)) -v s="$secs" 'BEGIN {print c / s}')" $((rss / 1024)) "$inuse" "$alloc"
  done
  for n in $AGENTS; do heap "$n" "$label"; done
}
# phase LABEL CMD...: run the load generator's commands (each a quoted
# string) and one agent-like watch for DURATION, measuring meanwhile.
phase() {
  local label=$1 pids=() c; shift
  "$W/liveness" watch -kubeconfig "$K" -duration "${DURATION}s" > "$W/$label.watch" &
  pids+=($!)
  for c in "$@"; do
    # shellcheck disable=SC2086
    "$W/liveness" $c -kubeconfig "$K" -n "$N" -skip 2 -duration "${DURATION}s" >> "$W/$label.load" &
    pids+=($!)
  done
  sleep 2
  measure "$label" $((DURATION - 5)) | tee -a "$W/report.txt"
  wait "${pids[@]}"
  sed "s/^/$label   /" "$W/$label.load" "$W/$label.watch" | tee -a "$W/report.txt"
}

echo "liveness bench: $N nodes, $(nproc) cores, $(date -u +%FT%TZ), kgctl $(cd "$REPO" && git describe --always --dirty)${KGCTL_B:+, agent b: $KGCTL_B}" | tee "$W/report.txt"
measure idle 30 | tee -a "$W/report.txt"
phase kilo "beat -period $PERIOD"
log "every simulated node becomes a kgctl node (marker)"
"$W/liveness" mark -kubeconfig "$K" -n "$N" -skip 2 | tee -a "$W/report.txt"
sleep 40 # the agents' next reconciles see no reader needing last-seen
for n in $AGENTS; do grep 'heartbeat (last-seen)' "$W/$n.log" | tail -1 | sed "s/^/agent $n: /" | tee -a "$W/report.txt"; done
phase kgctl "beat -period $HEARTBEAT" "flip -every $FLIP -down 30s"
phase kubelet "kubelet -period 5m"
cp "$W/report.txt" "${REPORT:-/tmp/kgctl-liveness-report.txt}"
