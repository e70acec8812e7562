#!/usr/bin/env bash
# End-to-end test of add-on mode: real flanneld (vxlan, --kube-subnet-mgr)
# on every node, kgctl agents with --compatibility=flannel on top.
#
#   location east: a1 (leader), a2   10.80.1.0/24
#   location west: b1 (leader), b2   10.80.2.0/24
#
# The router drops flannel's vxlan (UDP 8472) between the two subnets, as
# between two clouds: inside a location pods talk over flannel, across
# locations only the mesh's WireGuard links the leaders. Each node has a
# "pod" address (first address of its pod CIDR) on lo. Asserts, with the
# interfaces' packet counters, which interface each path used; times the
# convergence; removes a leader and checks the rest. Needs root; skips
# otherwise. Run it alone machine-wide (flock /tmp/kgctl-e2e.lock).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO E2E_PREFIX=kga
# shellcheck source=lib.sh
. "$REPO/hack/e2e/lib.sh"

e2e_require addon etcd iptables ping curl openssl kubectl
FLANNELD=$("$REPO/hack/build-flanneld.sh")
modprobe vxlan 2>/dev/null || true

e2e_workdir addon
kc() { kubectl --kubeconfig "$K" "$@"; }

log "network: router, api, two locations"
router_up
for i in 0 1 2; do subnet_up "$i"; done
mkns api && attach api 0 2
host_link
declare -A POD=([a1]=10.2.1.1 [a2]=10.2.2.1 [b1]=10.2.3.1 [b2]=10.2.4.1)
declare -A REGION=([a1]=east [a2]=east [b1]=west [b2]=west)
declare -A ADDR=([a1]=10.80.1.11 [a2]=10.80.1.12 [b1]=10.80.2.11 [b2]=10.80.2.12)
NODES=(a1 a2 b1 b2)
for n in "${NODES[@]}"; do
  mkns "$n"
  a=${ADDR[$n]}; sub=${a#10.80.}; attach "$n" "${sub%%.*}" "${a##*.}"
  ip -n "$(ns "$n")" addr add "${POD[$n]}/32" dev lo
done
# Between locations, no vxlan: only WireGuard (UDP 51820) crosses.
nsexec rt iptables -A FORWARD -s 10.80.1.0/24 -d 10.80.2.0/24 -p udp --dport 8472 -j DROP
nsexec rt iptables -A FORWARD -s 10.80.2.0/24 -d 10.80.1.0/24 -p udp --dport 8472 -j DROP

apiserver_up "$W"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
kc wait --for condition=established --timeout=30s crd/peers.kilo.squat.ai >/dev/null
for n in "${NODES[@]}"; do
  leader=""; [ "${n#?}" = 1 ] && leader='kilo.squat.ai/leader: "true"'
  cat <<EOF | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels:
    topology.kubernetes.io/region: ${REGION[$n]}
  annotations: {$leader}
spec:
  podCIDR: ${POD[$n]%.1}.0/24
EOF
done

# flannel's network: the pod CIDRs' /16, vxlan (kube subnet manager: the
# nodes' spec.podCIDR are the leases).
cat > "$W/net-conf.json" <<EOF
{"Network": "10.2.0.0/16", "Backend": {"Type": "vxlan"}}
EOF

# flanneld_start NODE: flanneld in NODE's namespaces, with a private
# /run/flannel for its subnet.env.
flanneld_start() {
  local n=$1
  ip netns exec "$(ns "$n")" unshare -m --propagation private \
    sh -c 'mkdir -p /run/flannel && mount -t tmpfs none /run/flannel && exec "$@"' -- \
    env NODE_NAME="$n" "$FLANNELD" --kube-subnet-mgr --kubeconfig-file "$K" \
    --net-config-path "$W/net-conf.json" --iface eth0 --ip-masq --healthz-port 0 \
    >> "$W/flanneld-$n.log" 2>&1 &
  echo $! > "$W/flanneld-$n.pid"; disown
}

# rx/tx NODE IF: the interface's packet counters (what `ip -s link` shows).
tx() { nsexec "$1" cat "/sys/class/net/$2/statistics/tx_packets" 2>/dev/null || echo 0; }


log "flanneld on ${NODES[*]}"
start=$SECONDS
for n in "${NODES[@]}"; do flanneld_start "$n"; done
for n in "${NODES[@]}"; do
  until [ "$(nsexec "$n" ip route show dev flannel.1 2>/dev/null | grep -c onlink)" -ge 3 ]; do
    [ $((SECONDS - start)) -ge 60 ] && die "flanneld on $n did not set up flannel.1 and its routes"
    sleep 0.5
  done
done
report "flannel: flannel.1 and routes to the 3 other nodes on every node $((SECONDS - start))s after flanneld started"
LIMIT=30 converge a1 a2 >/dev/null || die "flannel alone: a1 and a2 do not reach each other"
LIMIT=30 converge b1 b2 >/dev/null || die "flannel alone: b1 and b2 do not reach each other"
reach a2 "${POD[b2]}" "${POD[a2]}" && die "a2 reaches b2 before the mesh: the router's vxlan block does not hold"
report "flannel alone: pods reach each other inside a location, not across (vxlan blocked between locations)"

log "kgctl agents in add-on mode"
start=$SECONDS
for n in "${NODES[@]}"; do agent_start "$n" "$W" --compatibility=flannel --internal-cidr 10.80.0.0/16; done
t=$(converge "${NODES[@]}") || die "add-on mode: pods did not all reach each other"
report "add-on mode: all 4 nodes' pods reach each other ${t}s after the agents started"

# path FROM TO WANT...: 20 pings from FROM's pod to TO's pod; WANT are
# NODE:IF (at least 20 more packets sent) and NODE:IF=0 (fewer than 3:
# the path did not use it).
path() {
  local from=$1 to=$2; shift 2
  local -A before
  local ifs=() x
  for n in "${NODES[@]}"; do for i in flannel.1 kilo0; do before[$n:$i]=$(tx "$n" "$i"); done; done
  nsexec "$from" ping -q -c 20 -i 0.05 -W1 -I "${POD[$from]}" "${POD[$to]}" >/dev/null || die "$from -> $to: pings lost"
  local line="path $from -> $to (20 pings), packets sent:"
  for n in "${NODES[@]}"; do for i in flannel.1 kilo0; do
    d=$(( $(tx "$n" "$i") - ${before[$n:$i]} )); line+=" $n/$i=$d"; ifs+=("$n:$i=$d")
  done; done
  report "$line"
  for x in "$@"; do
    local key=${x%=0} d
    d=$(printf '%s\n' "${ifs[@]}" | awk -F= -v k="$key" '$1 == k {print $2}')
    if [ "$key" != "$x" ]; then
      [ "$d" -lt 3 ] || die "$from -> $to: $key sent $d packets, want none (the path must not use it)"
    else
      [ "$d" -ge 20 ] || die "$from -> $to: $key sent $d packets, want at least 20"
    fi
  done
}
vx0=$(nsexec rt iptables -L FORWARD -v -x -n | awk '/8472/ {s+=$1} END {print s+0}')
path a1 a2 a1:flannel.1 a2:flannel.1 a1:kilo0=0 a2:kilo0=0 b1:kilo0=0
path a1 b1 a1:kilo0 b1:kilo0 a1:flannel.1=0 b1:flannel.1=0
path a2 b2 a2:flannel.1 a1:kilo0 b1:flannel.1 b2:flannel.1 b1:kilo0 a1:flannel.1 a2:kilo0=0 b2:kilo0=0
vx1=$(nsexec rt iptables -L FORWARD -v -x -n | awk '/8472/ {s+=$1} END {print s+0}')
report "router: $((vx1 - vx0)) vxlan packets tried to cross between locations during those pings"
[ "$vx1" = "$vx0" ] || die "vxlan packets were sent across locations: the mesh did not take that traffic"

log "removing east's leader a1"
start=$SECONDS
agent_stop a1 "$W"
kill "$(cat "$W/flanneld-a1.pid")" 2>/dev/null || true
kc delete node a1 >/dev/null
t=$(LIMIT=60 converge a2 b1 b2) || die "after a1's removal the others do not reach each other"
report "removal: a1 (east's leader) deleted; a2, b1, b2 reach each other ${t}s later (a2 leads east)"
path a2 b1 a2:kilo0 b1:kilo0

log "PASS"
cat "$REPORT"
