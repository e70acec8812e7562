#!/usr/bin/env bash
# Data-plane throughput, in one run on one pair of network namespaces:
#   1. the bare veth path between the two nodes (through the router),
#   2. pod to pod through the kgctl agents' embedded userspace WireGuard,
#   3. standalone wireguard-go built from the module version the agent
#      embeds (go.mod's golang.zx2c4.com/wireguard, same dependencies),
#      cached in ~/.cache/kgctl, on the same pair,
#   4. for reference, the machine's wireguard-go when there is one
#      (Debian's is 0.0.20220316, before the TUN and UDP offloads),
# then the ratio 2/3, the offloads the TUN devices got (ethtool -k), and
# DF probes across the agents' tunnel at the MTU the agent picked, IPv4
# and IPv6 (pods are dual-stack here; the underlay stays IPv4):
# ping -M do -s MTU-28 (IPv6: MTU-48) must pass, one byte more must not.
#
#   flock /tmp/kgctl-e2e.lock hack/bench/throughput.sh [SECONDS]   # ROUNDS=3
#
# The agent and standalone wireguard-go run side by side (kilo0 on 51820,
# wg1 on 51821) and are measured alternately ROUNDS times; the ratio is
# that of the medians (the machine's load moves from one run to the next).
#
# Root (network namespaces; skips otherwise), iperf3, wg; ethtool
# optional; run it alone machine-wide (flock, as above); not part of CI.
# The report (stdout) is also kept in the work directory's report.txt.
# wireguard-go offers its offloads (TUN GSO/GRO through virtio-net
# headers, UDP GSO/GRO) by itself wherever the kernel has them: there is
# no flag to turn on, only the report that they are on.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO E2E_PREFIX=kgt
# shellcheck source=../e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
T=${1:-10} ROUNDS=${ROUNDS:-3}

e2e_require throughput iperf3 wg etcd kubectl openssl ping
e2e_workdir tput # kgctl built, or KGCTL_BIN
kc() { kubectl --kubeconfig "$K" "$@"; }
WGV=$(cd "$REPO" && go list -m -f '{{.Version}}' golang.zx2c4.com/wireguard)
WGGO=${XDG_CACHE_HOME:-$HOME/.cache}/kgctl/wireguard-go-$WGV
if [ ! -x "$WGGO" ]; then
  log "building wireguard-go $WGV (the agent's version) into $WGGO"
  mkdir -p "$(dirname "$WGGO")"
  (cd "$REPO" && CGO_ENABLED=0 go build -o "$WGGO.tmp" golang.zx2c4.com/wireguard) && mv "$WGGO.tmp" "$WGGO"
fi

router_up
for i in 0 1 2; do subnet_up "$i"; done
mkns api && attach api 0 2
host_link
mkns t1 && attach t1 1 11
mkns t2 && attach t2 2 11
for n in t1 t2; do
  nsexec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.all.forwarding=1
  ip -n "$(ns "$n")" addr add "10.2.${n#t}.1/32" dev lo
  ip -n "$(ns "$n")" addr add "fd00:2:${n#t}::1/128" dev lo
done
apiserver_up "$W"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
for n in t1 t2; do
  cat <<YAML | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {topology.kubernetes.io/region: $n}}
spec: {podCIDR: 10.2.${n#t}.0/24, podCIDRs: [10.2.${n#t}.0/24, "fd00:2:${n#t}::/64"]}
YAML
done

# reach6 FROM TO_ADDR SRC_ADDR: one IPv6 ping.
reach6() { nsexec "$1" ping -6 -c1 -W1 -I "$3" "$2" >/dev/null 2>&1; }

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
# Default flags, as users run them (without ipip the agent routes as with
# --encapsulate never, which is the path measured).
for n in t1 t2; do agent_start "$n" "$W"; done
for _ in $(seq 120); do reach t1 10.2.2.1 10.2.1.1 && break; sleep 0.5; done
reach t1 10.2.2.1 10.2.1.1 || die "the agents' tunnel does not carry t1 -> t2"
mtu=$(nsexec t1 cat /sys/class/net/kilo0/mtu)
# df FAMILY SRC DST HEADERS: "pass/refused" when MTU-HEADERS bytes of
# payload cross with DF and one byte more does not.
df() {
  local ok=fail over=fragmented
  nsexec t1 ping "$1" -c1 -W2 -M do -s $((mtu - $4)) -I "$2" "$3" >/dev/null 2>&1 && ok=pass
  nsexec t1 ping "$1" -c1 -W2 -M do -s $((mtu - $4 + 1)) -I "$2" "$3" >/dev/null 2>&1 || over=refused
  echo "$((mtu - $4)) bytes $ok, $((mtu - $4 + 1)) bytes $over"
}
df4=$(df -4 10.2.1.1 10.2.2.1 28)
# The agents route an IPv6 pod CIDR into kilo0 without a gateway (the
# leader's WireGuard IP is IPv4); should that route be missing, a device
# route stands in for it and the report says so, so that the probe still
# measures the tunnel's MTU for IPv6 packets.
df6="not probed: no IPv6 path through the tunnel"
v6_routed=""
reach6 t1 fd00:2:2::1 fd00:2:1::1 || {
  ip -n "$(ns t1)" -6 route add fd00:2:2::/64 dev kilo0 && ip -n "$(ns t2)" -6 route add fd00:2:1::/64 dev kilo0 &&
    v6_routed=" (IPv6 pod route added by the script: the agent installed none)"
}
for _ in $(seq 20); do reach6 t1 fd00:2:2::1 fd00:2:1::1 && break; sleep 0.5; done
reach6 t1 fd00:2:2::1 fd00:2:1::1 && df6="$(df -6 fd00:2:1::1 fd00:2:2::1 48)$v6_routed"
offloads() { # NS DEV: the TUN's segmentation offloads, as ethtool reports them
  command -v ethtool >/dev/null || { echo "ethtool missing"; return; }
  nsexec "$1" ethtool -k "$2" 2>/dev/null | awk -F': ' '/^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|tx-udp-segmentation):/ {printf "%s%s=%s", s, $1, $2; s=" "}'
}
agent_offloads=$(offloads t1 kilo0)

# wg_up BINARY: a standalone wireguard-go tunnel wg1 (10.99.0.0/24, port
# 51821) on the same namespaces, beside the agents' kilo0; wg_down.
wg_up() {
  wg_down
  WG_BIN=$1
  wggo t1 10.99.0.1/24 t2 10.80.2.11:51821 10.99.0.2/32
  wggo t2 10.99.0.2/24 t1 10.80.1.11:51821 10.99.0.1/32
  for _ in $(seq 50); do reach t1 10.99.0.2 10.99.0.1 && break; sleep 0.2; done
  reach t1 10.99.0.2 10.99.0.1 || die "standalone $1 tunnel does not carry"
}
wg_down() { for n in t1 t2; do ip -n "$(ns "$n")" link del wg1 2>/dev/null || true; done; sleep 1; }
# median X...: the middle value.
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

umask 077
for n in t1 t2; do wg genkey > "$W/$n.wgkey"; wg pubkey < "$W/$n.wgkey" > "$W/$n.wgpub"; done
wggo() { # NS ADDR PEER PEER_ENDPOINT PEER_ALLOWED
  ip netns exec "$(ns "$1")" unshare -m --propagation private sh -c '
    mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard
    "$5" -f wg1 >/dev/null 2>&1 & pid=$!
    for i in $(seq 50); do [ -S /var/run/wireguard/wg1.sock ] && break; sleep 0.1; done
    wg set wg1 listen-port 51821 private-key "$0" peer "$(cat "$1")" endpoint "$2" allowed-ips "$3"
    ip addr add "$4" dev wg1 && ip link set wg1 mtu 1420 up
    wait $pid' "$W/$1.wgkey" "$W/$3.wgpub" "$4" "$5" "$2" "$WG_BIN" &
}
# The agent and standalone wireguard-go run side by side and are measured
# in turn, ROUNDS times: the machine's load moves between runs, and
# alternating spreads it over both; the medians are compared.
log "standalone wireguard-go $WGV beside the agents, $ROUNDS rounds each"
wg_up "$WGGO"
standalone_offloads=$(offloads t1 wg1)
as=() ss=()
for r in $(seq "$ROUNDS"); do
  as+=("$(iperf t1 10.2.2.1 10.2.1.1)")
  ss+=("$(iperf t1 10.99.0.2 10.99.0.1)")
  log "round $r: agent ${as[-1]}, standalone ${ss[-1]} Gbit/s"
done
agent=$(median "${as[@]}") standalone=$(median "${ss[@]}")
wg_down
for n in t1 t2; do agent_stop "$n" "$W"; done
debian="" debian_v=""
if command -v wireguard-go >/dev/null; then
  debian_v=$(wireguard-go --version 2>/dev/null | awk 'NR==1 {print $2}')
  wg_up "$(command -v wireguard-go)"
  debian_offloads=$(offloads t1 wg1)
  debian="$(iperf t1 10.99.0.2 10.99.0.1) Gbit/s  ($debian_v, for reference; wg1: $debian_offloads)"
  wg_down
fi

ratio=$(awk -v a="$agent" -v s="$standalone" 'BEGIN{printf "%.2f", a/s}')
report "bare veth:               $bare Gbit/s"
report "kgctl agent (userspace): $agent Gbit/s, median of ${as[*]}  (kilo0: $agent_offloads)"
report "standalone wireguard-go: $standalone Gbit/s, median of ${ss[*]}  ($WGV, the agent's version; wg1: $standalone_offloads)"
[ -z "$debian" ] || report "machine's wireguard-go:  $debian"
report "ratio agent/standalone:  $ratio (goal >= 0.95)"
report "agent MTU $mtu: DF probe IPv4 $df4; IPv6 $df6"
cat "$REPORT"
