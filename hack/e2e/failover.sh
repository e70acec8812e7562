#!/usr/bin/env bash
# End-to-end test of leader failover on a dead data path (docs/failover.md):
# a real kube-apiserver, agents with default flags (userspace WireGuard)
# in network namespaces, real packets.
#
#   location east:  a1, a2  10.80.1.0/24 (both with endpoints the other
#                           locations reach)
#   location west:  b1      10.80.2.0/24
#   location north: c1      10.80.4.0/24
#
# Each run cuts the data path of east's current leader (its WireGuard
# port, UDP 51820, dropped both ways in its namespace; its agent and its
# API access stay alive) and measures the time until every pod of east
# reaches every pod of west and north again and b1's and c1's WireGuard
# peer for east is the other node's key. Then the link is restored: the
# leader must not move back for 2 × probe timeout + a resync, and no ping
# between any two pods may be lost meanwhile. FAILOVER_RUNS runs (default
# 3); min/median/max reported; a failover over FAILOVER_LIMIT seconds
# (default 30) fails. Needs root; skips otherwise. Run it alone
# machine-wide (flock /tmp/kgctl-e2e.lock).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO E2E_PREFIX=kgf
# shellcheck source=lib.sh
. "$REPO/hack/e2e/lib.sh"
# shellcheck source=outage.sh
. "$REPO/hack/e2e/outage.sh" # pings_start, pings_stop

e2e_require failover etcd wg iptables ping curl openssl kubectl nsenter

RUNS=${FAILOVER_RUNS:-3}
LIMIT_S=${FAILOVER_LIMIT:-30}
PROBE_TIMEOUT=10 # the agent's default --probe-timeout
RESYNC=5         # lib.sh's agent_start --resync-period

e2e_workdir failover
kc() { kubectl --kubeconfig "$K" "$@"; }

log "network: router, api, three locations"
router_up
for i in 0 1 2 4; do subnet_up "$i"; done
mkns api && attach api 0 2
host_link
declare -A POD=([a1]=10.2.1.1 [a2]=10.2.2.1 [b1]=10.2.3.1 [c1]=10.2.4.1)
declare -A REGION=([a1]=east [a2]=east [b1]=west [c1]=north)
declare -A ADDR=([a1]=10.80.1.11 [a2]=10.80.1.12 [b1]=10.80.2.11 [c1]=10.80.4.11)
NODES=(a1 a2 b1 c1)
EAST=(a1 a2)
OTHERS=(b1 c1)
for n in "${NODES[@]}"; do
  mkns "$n"
  a=${ADDR[$n]}; sub=${a#10.80.}; attach "$n" "${sub%%.*}" "${a##*.}"
  ip -n "$(ns "$n")" addr add "${POD[$n]}/32" dev lo
done

apiserver_up "$W"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
for n in "${NODES[@]}"; do
  cat <<EOF | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels:
    topology.kubernetes.io/region: ${REGION[$n]}
spec:
  podCIDR: ${POD[$n]%.1}.0/24
EOF
done

# reachable X Y...: X's pod reaches every Y's pod and back (one ping each).
all_reach() {
  local x y
  for x in "${EAST[@]}"; do for y in "${OTHERS[@]}"; do
    reach "$x" "${POD[$y]}" "${POD[$x]}" || return 1
    reach "$y" "${POD[$x]}" "${POD[$y]}" || return 1
  done; done
}

# east_key ON: the public key of the WireGuard peer ON has for location
# east (the one whose allowed IPs hold a1's pod CIDR).
east_key() {
  nsenter -t "$(cat "$W/$1.pid")" -m -n wg show kilo0 allowed-ips 2>/dev/null |
    awk '/10\.2\.1\.0\/24/ {print $1}'
}
declare -A KEY
key_of() { wg pubkey < "$W/$1/key"; }
leader_east() {
  local k; k=$(east_key b1)
  for n in "${EAST[@]}"; do [ "${KEY[$n]}" = "$k" ] && { echo "$n"; return; }; done
  echo "?"
}

# cut_link NODE / restore_link NODE: drop WireGuard's UDP both ways in NODE's
# namespace (raw table: no agent touches it); TCP to the API server and
# the private network stay.
cut_link() {
  nsexec "$1" iptables -t raw -I PREROUTING -p udp --dport 51820 -j DROP
  nsexec "$1" iptables -t raw -I OUTPUT -p udp --sport 51820 -j DROP
}
restore_link() {
  nsexec "$1" iptables -t raw -D PREROUTING -p udp --dport 51820 -j DROP
  nsexec "$1" iptables -t raw -D OUTPUT -p udp --sport 51820 -j DROP
}
status_of() { kc get node "$1" -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/status}'; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }

log "starting agents (default flags) on ${NODES[*]}"
for n in "${NODES[@]}"; do agent_start "$n" "$W"; done
start=$SECONDS
until all_reach; do
  [ $((SECONDS - start)) -ge 90 ] && die "the mesh did not converge within 90s"
  sleep 0.5
done
for n in "${NODES[@]}"; do KEY[$n]=$(key_of "$n"); done
report "mesh up: east's pods reach west's and north's $((SECONDS - start))s after the agents started; east led by $(leader_east)"

times=()
for run in $(seq "$RUNS"); do
  old=$(leader_east)
  [ "$old" = "?" ] && die "run $run: b1 has no peer for east"
  new=a1; [ "$old" = a1 ] && new=a2
  # Probes flow before the cut: a fresh leader is not judged on its grace.
  sleep 3
  log "run $run: cutting $old's WireGuard port (its agent and API access stay)"
  t0=$EPOCHREALTIME
  cut_link "$old"
  switched=""
  while :; do
    if [ -z "$switched" ] && [ "$(east_key b1)" = "${KEY[$new]}" ] && [ "$(east_key c1)" = "${KEY[$new]}" ]; then
      switched=$(elapsed "$t0")
    fi
    if [ -n "$switched" ] && all_reach; then break; fi
    if awk -v e="$(elapsed "$t0")" -v l=$((LIMIT_S * 3)) 'BEGIN {exit !(e > l)}'; then
      matrix_log=$(for x in "${NODES[@]}"; do for y in "${NODES[@]}"; do [ "$x" = "$y" ] && continue; reach "$x" "${POD[$y]}" "${POD[$x]}" && r=ok || r=FAIL; echo "$x->$y:$r"; done; done | tr '\n' ' ')
      die "run $run: no failover from $old to $new within $((LIMIT_S * 3))s (b1's east peer $(east_key b1), c1's $(east_key c1); $old's status $(status_of "$old"); $matrix_log)"
    fi
    sleep 0.2
  done
  took=$(elapsed "$t0")
  times+=("$took")
  st=$(status_of "$old")
  echo "$st" | grep '"demoted":' >/dev/null || die "run $run: $old's status has no demoted field: $st"
  report "run $run: $old cut; b1 and c1 switched east's peer to $new after ${switched}s; every east pod <-> west and north pods after ${took}s; $old's status: $st"
  awk -v t="$took" -v l="$LIMIT_S" 'BEGIN {exit !(t > l)}' && die "run $run: failover took ${took}s, over ${LIMIT_S}s"

  log "run $run: restoring $old's link; the leader must stay $new, no ping lost"
  restore_link "$old"
  pings_start "${NODES[@]}"
  hold=$((2 * PROBE_TIMEOUT + RESYNC + 2))
  sleep "$hold"
  now_leader=$(leader_east); c_leader=$(east_key c1)
  pings_stop || die "run $run: pods lost packets after $old's link came back"
  [ "$now_leader" = "$new" ] && [ "$c_leader" = "${KEY[$new]}" ] ||
    die "run $run: east's leader moved after the link came back: b1 sees $now_leader, c1's key $c_leader (want $new)"
  # kgctl status tells the operator the same: east led by the new leader,
  # its tunnels to the other locations up, no node drifted.
  st_leaders=$("$KGCTL" status --kubeconfig "$K" -o jsonpath='{range .nodes[?(@.leader==true)]}{.name}={.up} {end}' 2>>"$W/status.log")
  st_drifted=$("$KGCTL" status --kubeconfig "$K" -o jsonpath='{.nodes[?(@.drifted==true)].name}' 2>>"$W/status.log")
  case " $st_leaders" in *" $new="[2-9]*) ;; *) die "run $run: kgctl status shows leaders $st_leaders; want $new with 2+ tunnels up" ;; esac
  case " $st_leaders" in *" $old="*) die "run $run: kgctl status still shows $old leading: $st_leaders" ;; esac
  [ -z "$st_drifted" ] || die "run $run: kgctl status names drifted nodes: $st_drifted"
  report "run $run: kgctl status: leaders $st_leaders, none drifted"
  sent=$(cat "$W"/ping-*.txt | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' | awk '{s+=$1} END {print s}')
  report "run $run: link restored: leader stayed $new for ${hold}s, $sent pings between every pair of pods, 0 lost"
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
min=$(echo "$sorted" | head -1); max=$(echo "$sorted" | tail -1)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2] + a[NR/2+1]) / 2}')
report "failover over $RUNS runs (cut to every cross-location pod pair answering via the new leader): min ${min}s, median ${median}s, max ${max}s (limit ${LIMIT_S}s; probe interval 2s, timeout ${PROBE_TIMEOUT}s)"
log "PASS"
cat "$REPORT"
