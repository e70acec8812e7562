#!/usr/bin/env bash
# End-to-end test: a real kube-apiserver + etcd, kgctl agents with
# userspace WireGuard in network namespaces, real packets.
#
#   location east: a1, a2 (10.80.1.0/24)     location west: b1 (10.80.2.0/24)
#   location home: c1 behind a NAT box (192.168.50.0/24, keepalive)
#   a VPN peer (10.80.4.0/24) configured from `kgctl peer add` / showconf
#   later: d1 joins in location south (10.80.5.0/24)
#   full mesh: e1, e2 behind a cloud's 1:1 NAT (192.168.60.0/24), each
#   with a forced public endpoint on its elastic IP (10.80.6.0/24, hairpin)
#
# The agents run with Kilo's default flags (--encapsulate always: on a
# kernel without ipip they say so and route without encapsulation).
#
# Each node has a "pod" address (first address of its pod CIDR) on lo.
# Asserts reachability between every pair of pods in location and full
# granularity, from the peer, after a node joins (timed), across an agent
# restart (no loss between the others), with a broken annotation, and that
# a no-op resync writes nothing. Needs root; skips otherwise.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO
# shellcheck source=lib.sh
. "$REPO/hack/e2e/lib.sh"
# shellcheck source=outage.sh
. "$REPO/hack/e2e/outage.sh"

e2e_require "" etcd wg wireguard-go iptables ping curl openssl kubectl

e2e_workdir e2e
kc() { kubectl --kubeconfig "$K" "$@"; }

log "network: router, api, locations, NAT box, peer"
router_up
for i in 0 1 2 4 5; do subnet_up "$i"; done
nat_up
eip_up
mkns api && attach api 0 2
host_link
mkns a1 && attach a1 1 11
mkns a2 && attach a2 1 12
mkns b1 && attach b1 2 11
mkns c1 && attach_private c1 11
mkns d1 && attach d1 5 11
mkns peer && attach peer 4 2
mkns e1 && attach_eip e1 11
mkns e2 && attach_eip e2 12

declare -A POD=([a1]=10.2.1.1 [a2]=10.2.2.1 [b1]=10.2.3.1 [c1]=10.2.4.1 [d1]=10.2.5.1 [e1]=10.2.6.1 [e2]=10.2.7.1)
declare -A REGION=([a1]=east [a2]=east [b1]=west [c1]=home [d1]=south [e1]=cloud [e2]=cloud)
for n in "${!POD[@]}"; do ip -n "$(ns "$n")" addr add "${POD[$n]}/32" dev lo; done

apiserver_up "$W"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
kc wait --for condition=established --timeout=30s crd/peers.kilo.squat.ai >/dev/null

node_create() {
  local n=$1 extra=${2:-}
  cat <<EOF | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels:
    topology.kubernetes.io/region: ${REGION[$n]}
  annotations: {${extra}}
spec:
  podCIDR: ${POD[$n]%.1}.0/24
EOF
}

NODES=(a1 a2 b1 c1)
for n in "${NODES[@]}"; do node_create "$n"; done
kc annotate node c1 kilo.squat.ai/persistent-keepalive=5 --overwrite >/dev/null

log "location granularity: starting agents on ${NODES[*]}"
for n in "${NODES[@]}"; do agent_start "$n" "$W"; done
t=$(converge "${NODES[@]}") || die "location granularity: pods did not all reach each other"
report "location granularity: all ${#NODES[@]} nodes' pods reach each other ${t}s after the agents started"
# Default flags: a kernel without ipip is said once (Event, metric), and the
# device's transport is kept out of the mesh by its mark.
if ip netns exec "$(ns a1)" ip link show tunl0 >/dev/null 2>&1; then want_tunnel=0; else want_tunnel=1; fi
[ "$(metric a1 'kgctl_host_part_errors{part="tunnel"}')" = "$want_tunnel" ] ||
  die "a1: kgctl_host_part_errors{part=\"tunnel\"} is $(metric a1 'kgctl_host_part_errors{part="tunnel"}'), want $want_tunnel"
if [ "$want_tunnel" = 1 ]; then
  # Events are sent asynchronously; after two more resyncs still only one.
  sleep 11
  events=$(kc get events -n kube-system --field-selector involvedObject.name=a1,reason=EncapsulationUnavailable -o name | wc -l)
  said=$(grep -c 'host part failed.*part=tunnel' "$W/a1.log" || true)
  [ "$events" = 1 ] && [ "$said" = 1 ] || die "a1: want one EncapsulationUnavailable Event and one log line after several resyncs, got $events and $said"
fi
nsexec a1 ip rule | grep 'fwmark 0x1000 lookup main' >/dev/null || die "a1 has no rule for WireGuard's mark: $(nsexec a1 ip rule)"
report "default flags: no ipip reported once on a1 (tunnel part errors = $want_tunnel), routes inside the location without it; mark rule in place"
"$KGCTL" showconf node a1 --kubeconfig "$K" > "$W/a1.conf"
grep -q "$(cat "$W/c1/key" | wg pubkey)" "$W/a1.conf" || die "showconf from the live cluster lacks c1's key"
"$KGCTL" graph --kubeconfig "$K" > "$W/graph.dot"
grep -q 'label="c1' "$W/graph.dot" || die "graph from the live cluster lacks c1"

log "a VPN peer configured from the cluster"
# A server dry run must leave nothing behind in a real API server.
"$KGCTL" peer add watch --kubeconfig "$K" --dry-run=server > /dev/null 2>&1 || die "peer add --dry-run=server failed"
kc get peer watch >/dev/null 2>&1 && die "peer add --dry-run=server created the Peer"
# The client's file exactly as peer add writes it: the address comes from
# --peer-cidr; wg-quick strip must accept it.
"$KGCTL" peer add laptop --kubeconfig "$K" --keepalive 5 --wg-quick-file "$W/wg0.conf" 2>/dev/null
[ "$(stat -c %a "$W/wg0.conf")" = 600 ] || die "wg-quick file is not mode 0600"
wg-quick strip "$W/wg0.conf" > "$W/peer.setconf" || die "wg-quick strip refused peer add's file"
addr=$(awk -F' = ' '/^Address/ {print $2}' "$W/wg0.conf")
[ "$addr" = 10.5.0.1/32 ] || die "peer add picked $addr, want 10.5.0.1/32"
"$KGCTL" peer list --kubeconfig "$K" | grep '^laptop .*10.5.0.1/32' >/dev/null || die "peer list lacks laptop"
# The peer's own interface: wireguard-go, configured with plain wg.
ip netns exec "$(ns peer)" unshare -m --propagation private sh -c '
  mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard
  WG_PROCESS_FOREGROUND=1 wireguard-go wg0 & pid=$!
  for i in $(seq 50); do [ -S /var/run/wireguard/wg0.sock ] && break; sleep 0.1; done
  wg setconf wg0 "$W/peer.setconf"
  ip addr add 10.5.0.1/32 dev wg0 && ip link set wg0 up
  ip route add 10.2.0.0/16 dev wg0 && ip route add 10.4.0.0/16 dev wg0
  wait $pid' > "$W/peer.log" 2>&1 &
echo $! > "$W/peer.pid"; disown
start=$SECONDS
until nsexec peer ping -c1 -W1 -I 10.5.0.1 "${POD[a2]}" >/dev/null 2>&1; do
  [ $((SECONDS - start)) -ge 60 ] && die "the peer cannot reach a2's pod"
done
until nsexec peer ping -c1 -W1 -I 10.5.0.1 "${POD[b1]}" >/dev/null 2>&1; do
  [ $((SECONDS - start)) -ge 60 ] && die "the peer cannot reach b1's pod"
done
report "peer: reaches pods in two locations $((SECONDS - start))s after it started"

log "an explicit --encapsulate never on a2 (Kilo's other common setting)"
agent_stop a2 "$W"
agent_start a2 "$W" --encapsulate never
LIMIT=60 converge a1 a2 b1 >/dev/null || die "--encapsulate never: a2 does not reach a1 and b1"
report "encapsulate never: a2 reaches a1 and b1 again"

log "idle agents: no-op resyncs must write nothing"
sleep 6
before=$(for n in "${NODES[@]}"; do metric "$n" kgctl_host_writes_total; done | awk '{s+=$1} END {print s+0}')
recs_before=$(metric a1 kgctl_reconciles_total)
sleep 16
after=$(for n in "${NODES[@]}"; do metric "$n" kgctl_host_writes_total; done | awk '{s+=$1} END {print s+0}')
recs_after=$(metric a1 kgctl_reconciles_total)
report "no-op resync: $((after - before)) host writes (netlink + iptables + wireguard) across ${#NODES[@]} agents over $((recs_after - recs_before)) reconciles of a1"
[ "$after" = "$before" ] || die "idle agents wrote to the host: $before -> $after"
pid=$(cat "$W/a1.pid")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat"); sleep 10; cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
report "idle agent a1: RSS $((rss / 1024)) MiB, CPU $(( (cpu1 - cpu0) * 10 )) ms per 10 s ($(awk -v t=$((cpu1 - cpu0)) 'BEGIN {printf "%.1f", t / 10}')% of one core), resync every 5 s"

log "plan against the live cluster"
cat > "$W/change.yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: a2
  annotations:
    kilo.squat.ai/leader: "true"
EOF
set +e
"$KGCTL" plan --kubeconfig "$K" -f "$W/change.yaml" --detailed-exitcode > "$W/plan.txt" 2>&1; code=$?
set -e
[ $code = 2 ] || { cat "$W/plan.txt" >&2; die "plan exit code $code, want 2 (changes)"; }
grep -q a2 "$W/plan.txt" || die "plan does not mention a2"
KGCTL_E2E_KUBECONFIG=$K go -C "$REPO" test -count=1 -run 'Kube' ./pkg/source/ >&2

log "a node joins"
node_create d1
start=$SECONDS
agent_start d1 "$W"
LIMIT=60 converge a1 b1 c1 d1 >/dev/null || die "d1 did not join"
report "join: d1's pod reached from every location $((SECONDS - start))s after its agent started"

log "restarting b1's agent must not disturb a2 <-> c1"
# ping runs for a fixed time (a background job ignores SIGINT).
nsexec a2 ping -i 0.2 -w 15 -W1 -I "${POD[a2]}" "${POD[c1]}" > "$W/ping.txt" 2>&1 &
pingpid=$!
sleep 2
agent_stop b1 "$W" -KILL
sleep 1
agent_start b1 "$W"
wait $pingpid || true
LIMIT=60 converge a1 b1 >/dev/null || die "b1 did not come back"
loss=$(grep -o '[0-9.]*% packet loss' "$W/ping.txt")
report "restart: a2 -> c1 during b1's agent restart: $loss ($(grep -c 'bytes from' "$W/ping.txt") replies)"
grep -q ' 0% packet loss' "$W/ping.txt" || die "traffic between a2 and c1 was lost during b1's restart"

log "userspace restart gap: b1's own traffic across SIGTERM and restart of its agent"
# gap WITH|WITHOUT: ping b1 -> a1 every 0.1 s across a restart of b1's
# agent; without, the saved state is removed first (as before it existed).
gap() {
  nsexec b1 ping -i 0.1 -w 10 -W1 -I "${POD[b1]}" "${POD[a1]}" > "$W/gap.txt" 2>&1 &
  local pingpid=$! sent got
  sleep 2
  agent_stop b1 "$W"
  [ "$1" = without ] && rm -f "$W/b1/kgctl-state.json"
  agent_start b1 "$W"
  wait $pingpid || true
  sent=$(awk '/packets transmitted/ {print $1}' "$W/gap.txt"); got=$(grep -c 'bytes from' "$W/gap.txt" || true)
  report "restart gap $1 the saved state: b1 -> a1 lost $((sent - got)) of $sent pings at 0.1 s (~$(awk -v l=$((sent - got)) 'BEGIN {printf "%.1f", l / 10}') s)"
  GAP=$((sent - got))
  LIMIT=30 converge a1 b1 >/dev/null || die "b1 did not come back after its restart"
}
[ -s "$W/b1/kgctl-state.json" ] || die "b1 saved no state beside its key"
gap without
gap with
[ "$GAP" -le 20 ] || die "restart gap with the saved state: $GAP pings lost (over 2 s)"

log "a broken annotation on a2 leaves the others working"
kc annotate node a2 kilo.squat.ai/force-endpoint=not-an-endpoint kilo.squat.ai/allowed-location-ips=300.1.1.1/8 --overwrite >/dev/null
sleep 12
LIMIT=30 converge a1 b1 c1 d1 >/dev/null || die "the mesh broke after a2's annotation went bad"
# The agents' Events go to kube-system (their RBAC); they are sent
# asynchronously.
start=$SECONDS
until kc get events -n kube-system --field-selector involvedObject.name=a2 -o jsonpath='{.items[*].message}' | grep force-endpoint >/dev/null; do
  [ $((SECONDS - start)) -ge 30 ] && die "no Event on node a2 naming the bad annotation; a2's: $(kc get events -n kube-system --field-selector involvedObject.name=a2 2>&1)"
  sleep 1
done
report "broken annotation: the other nodes still reach each other; node a2 got an Event naming force-endpoint"
kc annotate node a2 kilo.squat.ai/force-endpoint- kilo.squat.ai/allowed-location-ips- >/dev/null

log "full granularity, with e1 and e2 behind a 1:1 NAT (elastic IPs, hairpin)"
# Their private IPs are routed through WireGuard by the others, and each
# reaches the other's elastic IP through the hairpin, arriving from its
# private address: WireGuard roams onto it, and only the device's mark
# keeps that handshake out of the mesh's routes.
for h in 1 2; do node_create "e$h" "\"kilo.squat.ai/force-endpoint\": \"10.80.6.1$h:51820\""; done
ALL=(a1 a2 b1 c1 d1 e1 e2)
for n in "${ALL[@]}"; do agent_stop "$n" "$W"; done
for n in "${ALL[@]}"; do agent_start "$n" "$W" --mesh-granularity full; done
t=$(LIMIT=90 converge "${ALL[@]}") || die "full granularity: pods did not all reach each other"
report "full granularity: all ${#ALL[@]} nodes' pods reach each other ${t}s after restart, e1 <-> e2 through the hairpin included"

# The control plane goes away for three minutes and two clocks are five
# minutes off: every pair of pods keeps pinging without loss.
AGENT_ARGS=(--mesh-granularity full)
e2e_skew_and_outage "${ALL[@]}"

log "peer remove: the agents drop the peer"
"$KGCTL" peer remove laptop --kubeconfig "$K" >/dev/null
start=$SECONDS
while nsexec peer ping -c1 -W1 -I 10.5.0.1 "${POD[a2]}" >/dev/null 2>&1; do
  [ $((SECONDS - start)) -ge 30 ] && die "the removed peer still reaches a2's pod after 30s"
  sleep 0.5
done
report "peer remove: the removed peer lost access $((SECONDS - start))s after peer remove"

log "--clean-up removes everything the agent made"
agent_stop d1 "$W"
agent_start d1 "$W" --mesh-granularity full --clean-up
LIMIT=30 converge a1 d1 >/dev/null || die "d1 did not rejoin"
[ -n "$(nsexec d1 ip route show table 1107)" ] || die "d1 has no mesh routes before clean-up"
agent_stop d1 "$W"
left=$(nsexec d1 ip route show table 1107; nsexec d1 ip rule | grep 1107 || true; nsexec d1 ip link show kilo0 2>/dev/null; nsexec d1 iptables-save | grep -i 'kgctl\|KILO' || true)
[ -z "$left" ] || die "after --clean-up, d1 still has: $left"
report "clean-up: after SIGTERM with --clean-up, d1 has no mesh route, rule, interface or iptables rule left"

log "PASS"
cat "$REPORT"
