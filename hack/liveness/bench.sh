#!/usr/bin/env bash
# Liveness at scale, measured: a real kube-apiserver holding N Nodes (10,000
# by default) as Kilo's agents annotate them, a load generator writing
# their heartbeats at the rate N agents would (one per node per period),
# and two real agents with userspace WireGuard in network namespaces, one
# built from this tree and one from BASE (the scheme before liveness by
# observation: every heartbeat woke every agent), side by side in one run.
#
#   hack/liveness/bench.sh            N=10000 PERIOD=30s DURATION=60s BASE=8b22dc5
#
# Reports API writes/s, watch events/s for one agent's watch, and each
# agent's reconciles, CPU and RSS while idle and under the heartbeat load.
# Needs root; takes the machine-wide network-namespace lock.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000} PERIOD=${PERIOD:-30s} DURATION=${DURATION:-60} BASE=${BASE:-8b22dc5}
export E2E_PREFIX=kgl
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
[ "$(id -u)" = 0 ] || { echo "liveness bench: needs root" >&2; exit 1; }
if [ -z "${KGCTL_LOCKED:-}" ]; then
  exec env KGCTL_LOCKED=1 flock /tmp/kgctl-e2e.lock "$0" "$@"
fi
KAS=$("$REPO/hack/build-kube-apiserver.sh")
export KAS
W=$(mktemp -d /tmp/kgctl-liveness.XXXXXX)
export W
trap 'e2e_down "$W"; git -C "$REPO" worktree remove --force "$W/base" 2>/dev/null || true' EXIT
e2e_down

log "building the load generator, kgctl and kgctl at $BASE"
(cd "$REPO" && go build -o "$W/liveness" ./hack/liveness && CGO_ENABLED=0 go build -o "$W/kgctl-new" ./cmd/kgctl)
git -C "$REPO" worktree add -q --detach "$W/base" "$BASE"
(cd "$W/base" && CGO_ENABLED=0 go build -o "$W/kgctl-old" ./cmd/kgctl)

router_up
subnet_up 0
subnet_up 1
mkns api && attach api 0 2
host_link
API_EXTRA_FLAGS="--max-requests-inflight=2000 --max-mutating-requests-inflight=1000" apiserver_up "$W"
K=$W/kubeconfig

log "creating $N nodes"
t0=$SECONDS
"$W/liveness" create -kubeconfig "$K" -n "$N"
log "created $N nodes in $((SECONDS - t0))s"

# agent NS NODE BINARY: a real agent for one of the nodes.
agent() {
  local n=$1 node=$2 bin=$3
  mkns "$n" && attach "$n" 1 "$4"
  mkdir -p "$W/$n"
  ip netns exec "$(ns "$n")" unshare -m --propagation private \
    sh -c 'mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard && exec "$@"' -- \
    "$bin" agent --hostname "$node" --kubeconfig "$K" --wireguard userspace --cni=false \
    --private-key "$W/$n/key" --listen 127.0.0.1:1107 > "$W/$n.log" 2>&1 &
  echo $! > "$W/$n.pid"; disown
}
agent new node-00000 "$W/kgctl-new" 11
agent old node-00001 "$W/kgctl-old" 12
for n in new old; do
  for _ in $(seq 240); do
    nsexec "$n" curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null 2>&1 && break
    sleep 0.5
  done
  nsexec "$n" curl -sf --max-time 1 http://127.0.0.1:1107/health >/dev/null || { tail "$W/$n.log"; die "agent $n not healthy"; }
done
sleep 20 # first reconciles and their patches settle

# sample NS: reconciles, CPU ticks, RSS (KiB) of an agent.
sample() {
  local pid; pid=$(cat "$W/$1.pid")
  local rec; rec=$(nsexec "$1" curl -s --max-time 2 http://127.0.0.1:1107/metrics | awk '$1 ~ /^kgctl_reconciles_total/ {s+=$2} END {print s+0}')
  echo "$rec $(awk '{print $14+$15}' "/proc/$pid/stat") $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
}
# measure LABEL SECONDS: each agent's reconciles, CPU and RSS over SECONDS.
measure() {
  local label=$1 secs=$2 n
  declare -A s0
  for n in new old; do s0[$n]=$(sample "$n"); done
  sleep "$secs"
  for n in new old; do
    read -r r0 c0 _ <<<"${s0[$n]}"
    read -r r1 c1 rss <<<"$(sample "$n")"
    printf '%-10s %-24s reconciles %5d (%.2f/s)  CPU %6.1f%% of a core  RSS %4d MiB\n' "$label" \
      "$n ($([ "$n" = new ] && echo this tree || echo "$BASE"))" $((r1 - r0)) \
      "$(awk -v r=$((r1 - r0)) -v s="$secs" 'BEGIN {print r / s}')" \
      "$(awk -v c=$((c1 - c0)) -v s="$secs" 'BEGIN {print c / s}')" $((rss / 1024))
  done
}

echo "liveness bench: $N nodes, heartbeat period $PERIOD, $(nproc) cores" | tee "$W/report.txt"
measure idle 30 | tee -a "$W/report.txt"
"$W/liveness" watch -kubeconfig "$K" -duration "${DURATION}s" > "$W/watch.txt" &
watchpid=$!
"$W/liveness" beat -kubeconfig "$K" -n "$N" -skip 2 -period "$PERIOD" -duration "${DURATION}s" > "$W/beat.txt" &
beatpid=$!
sleep 2
measure heartbeat $((DURATION - 5)) | tee -a "$W/report.txt"
wait "$beatpid" "$watchpid"
cat "$W/beat.txt" "$W/watch.txt" | tee -a "$W/report.txt"
cp "$W/report.txt" "${REPORT:-/tmp/kgctl-liveness-report.txt}"
