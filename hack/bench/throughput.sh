#!/usr/bin/env bash
# Data-plane throughput, in one run on one pair of network namespaces:
#   1. the bare veth path between the two nodes (through the router),
#   2. pod to pod through the kgctl agents' embedded userspace WireGuard,
#   3. standalone wireguard-go (Debian's package) on the same pair,
# then the ratio 2/3, and a DF probe at the MTU the agent picked
# (ping -M do -s MTU-28 must pass, MTU-27 must not).
#
#   flock /tmp/kgctl-e2e.lock hack/bench/throughput.sh [SECONDS]
#
# Root, network namespaces, iperf3, wireguard-go, wg; not part of CI.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
T=${1:-10}
[ "$(id -u)" = 0 ] || { echo "throughput: needs root"; exit 1; }
for c in iperf3 wireguard-go wg etcd kubectl; do command -v "$c" >/dev/null || die "missing $c"; done
KAS=$("$REPO/hack/build-kube-apiserver.sh")
export KAS
W=$(mktemp -d /tmp/kgctl-tput.XXXXXX)
export W
KGCTL=$W/kgctl
K=$W/kubeconfig
trap 'status=$?; e2e_down "$W" 2>/dev/null || true; exit $status' EXIT
e2e_down
kc() { kubectl --kubeconfig "$K" "$@"; }
(cd "$REPO" && CGO_ENABLED=0 go build -o "$KGCTL" ./cmd/kgctl)

router_up
for i in 0 1 2; do subnet_up "$i"; done
mkns api && attach api 0 2
host_link
mkns t1 && attach t1 1 11
mkns t2 && attach t2 2 11
ip -n "$(ns t1)" addr add 10.2.1.1/32 dev lo
ip -n "$(ns t2)" addr add 10.2.2.1/32 dev lo
apiserver_up "$W"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
for n in t1 t2; do
  cat <<YAML | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {topology.kubernetes.io/region: $n}}
spec: {podCIDR: 10.2.${n#t}.0/24}
YAML
done

# iperf NS DST [SRC]: receiver throughput in Gbit/s of a T-second TCP run.
iperf() {
  local to=$2 from=${3:-}
  nsexec "${4:-t2}" iperf3 -s -1 -D -B "$to" >/dev/null
  sleep 0.5
  nsexec "$1" iperf3 -c "$to" ${from:+-B "$from"} -t "$T" -J |
    awk -F: '/"sum_received"/{r=1} r && /"bits_per_second"/{gsub(/[ ,]/,"",$2); printf "%.2f\n", $2/1e9; exit}'
}

log "bare veth"
bare=$(iperf t1 10.80.2.11)

log "kgctl agents (embedded userspace WireGuard)"
for n in t1 t2; do agent_start "$n" "$W" --encapsulate never; done
for _ in $(seq 120); do reach t1 10.2.2.1 10.2.1.1 && break; sleep 0.5; done
reach t1 10.2.2.1 10.2.1.1 || die "the agents' tunnel does not carry t1 -> t2"
agent=$(iperf t1 10.2.2.1 10.2.1.1)
mtu=$(nsexec t1 cat /sys/class/net/kilo0/mtu)
df_ok=fail df_over=fragmented
nsexec t1 ping -c1 -W2 -M do -s $((mtu - 28)) -I 10.2.1.1 10.2.2.1 >/dev/null 2>&1 && df_ok=pass
nsexec t1 ping -c1 -W2 -M do -s $((mtu - 27)) -I 10.2.1.1 10.2.2.1 >/dev/null 2>&1 || df_over=refused
for n in t1 t2; do agent_stop "$n" "$W"; done
sleep 1

log "standalone wireguard-go"
umask 077
for n in t1 t2; do wg genkey > "$W/$n.wgkey"; wg pubkey < "$W/$n.wgkey" > "$W/$n.wgpub"; done
wggo() { # NS ADDR PEER PEER_ENDPOINT PEER_ALLOWED
  ip netns exec "$(ns "$1")" unshare -m --propagation private sh -c '
    mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard
    wireguard-go -f wg1 >/dev/null 2>&1 & pid=$!
    for i in $(seq 50); do [ -S /var/run/wireguard/wg1.sock ] && break; sleep 0.1; done
    wg set wg1 listen-port 51821 private-key "$0" peer "$(cat "$1")" endpoint "$2" allowed-ips "$3"
    ip addr add "$4" dev wg1 && ip link set wg1 mtu 1420 up
    wait $pid' "$W/$1.wgkey" "$W/$3.wgpub" "$4" "$5" "$2" &
}
wggo t1 10.99.0.1/24 t2 10.80.2.11:51821 10.99.0.2/32
wggo t2 10.99.0.2/24 t1 10.80.1.11:51821 10.99.0.1/32
for _ in $(seq 50); do reach t1 10.99.0.2 10.99.0.1 && break; sleep 0.2; done
reach t1 10.99.0.2 10.99.0.1 || die "standalone wireguard-go tunnel does not carry"
standalone=$(iperf t1 10.99.0.2 10.99.0.1)

ratio=$(awk -v a="$agent" -v s="$standalone" 'BEGIN{printf "%.2f", a/s}')
echo "bare veth:              $bare Gbit/s"
echo "kgctl agent (userspace): $agent Gbit/s"
echo "standalone wireguard-go: $standalone Gbit/s"
echo "ratio agent/standalone:  $ratio (goal >= 0.95)"
echo "agent MTU $mtu: DF probe of $((mtu - 28)) bytes $df_ok, $((mtu - 27)) bytes $df_over"
