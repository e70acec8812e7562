#!/usr/bin/env bash
# The upgrade from Kilo, end to end: a cluster exactly as Kilo left it is
# handed to kgctl agents started with default flags, on a real
# kube-apiserver, agents in network namespaces with userspace WireGuard.
#
#   east: a1, a2 (10.80.1.0/24; a2 leads by the operator's annotation)
#   west: b1, b2 (10.80.2.0/24; location annotation; b1 leads, reached
#         through its force-endpoint 10.80.2.50, which the router forwards)
#   home: c1 behind a NAT box (192.168.50.0/24, persistent-keepalive 5)
#
# Before any kgctl agent runs, the cluster holds what Kilo leaves:
# testdata/kilo-upgrade/nodes.yaml (Kilo's annotations in Kilo's formats;
# b2's agent cleaned up on its way out, Kilo's default), Kilo's key file at
# Kilo's path /var/lib/kilo/key on every simulated host (Kilo's format: the
# base64 key, no newline, 0600), Kilo's Peer CRD with two Kilo-shaped
# Peers, and on a2 the KILO-NAT chain and jump a killed Kilo agent leaves.
# Then our CRD is applied over Kilo's (the migration's one API change) and
# the agents start with only --hostname and --kubeconfig, c1's while its
# API server is still unreachable.
#
# Asserts: /health answers 503 before an agent's first full apply (c1,
# API blocked) and 200 after; every node keeps its public key (annotation
# and device) and every leader its WireGuard IP (annotation and kilo0's
# address); the leaders are the same (kilo_leader and kgctl_leader 1 on
# them only); no agent reports a problem with Kilo's annotations; both
# Peers are in every leader's WireGuard configuration; every pod reaches
# every other across locations; each agent's --listen serves kilo_nodes,
# kilo_peers, kilo_leader, kilo_reconciles_total and kilo_errors_total
# with the cluster's values and their kgctl_* twins' values, and /graph
# DOT (Kilo's format=dot|gv) and SVG (default, layouts circo and dot),
# also from a pod at a leader's WireGuard IP, as Kilo's e2e/handlers.sh.
# With KILO_KG=PATH (Kilo's own kg, built from github.com/squat/kilo), the
# starting state is made by Kilo's agents instead of the fixture, checked
# against it, and east runs on kgctl while west and home still run Kilo
# (the mixed window) before the rest switches (docs/migrating-from-kilo.md).
# Needs root; skips otherwise. Run it alone machine-wide
# (flock /tmp/kgctl-e2e.lock make e2e-upgrade).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO E2E_PREFIX=kgu
# shellcheck source=lib.sh
. "$REPO/hack/e2e/lib.sh"

e2e_require upgrade etcd wg iptables ping curl openssl kubectl nsenter

START=$SECONDS
e2e_workdir upgrade # KGCTL_BIN: a kgctl built beforehand
kc() { kubectl --kubeconfig "$K" --request-timeout=20s "$@"; }

log "network: router, api, east, west, NAT box with home behind it"
router_up
for i in 0 1 2; do subnet_up "$i"; done
nat_up
mkns api && attach api 0 2
host_link
mkns a1 && attach a1 1 11
mkns a2 && attach a2 1 12
mkns b1 && attach b1 2 11
mkns b2 && attach b2 2 12
mkns c1 && attach_private c1 11
# b1's force-endpoint: the router forwards 10.80.2.50:51820 to b1.
nsexec rt iptables -t nat -A PREROUTING -d 10.80.2.50 -p udp --dport 51820 -j DNAT --to-destination 10.80.2.11:51820
NODES=(a1 a2 b1 b2 c1)
LEADERS=(a2 b1 c1)
declare -A POD=([a1]=10.2.1.1 [a2]=10.2.2.1 [b1]=10.2.3.1 [b2]=10.2.4.1 [c1]=10.2.5.1)
# The WireGuard IPs Kilo allocated (segments sorted by name: east, home, west).
declare -A WGIP=([a2]=10.4.0.1/16 [c1]=10.4.0.2/16 [b1]=10.4.0.3/16)
for n in "${NODES[@]}"; do ip -n "$(ns "$n")" addr add "${POD[$n]}/32" dev lo; done

apiserver_up "$W"

# pairs NODES...: how many ordered pairs of NODES' pods reach each other now.
pairs() {
  local x y ok=0 all=0
  for x in "$@"; do for y in "$@"; do
    [ "$x" = "$y" ] && continue
    all=$((all + 1))
    reach "$x" "${POD[$y]}" "${POD[$x]}" && ok=$((ok + 1))
  done; done
  echo "$ok of $all"
}

# fixture: testdata/kilo-upgrade/nodes.yaml with the nodes' public keys
# (PUB) and last-seen now filled in; prints the file's path.
fixture() {
  local subst=(-e "s|@NOW@|$(date +%s)|g") n
  for n in "${NODES[@]}"; do subst+=(-e "s|@KEY_$n@|${PUB[$n]}|g"); done
  sed "${subst[@]}" "$REPO/testdata/kilo-upgrade/nodes.yaml" > "$W/nodes.yaml"
  grep '@' "$W/nodes.yaml" | grep -v '^#' >/dev/null && die "nodes.yaml has a placeholder left: $(grep '@' "$W/nodes.yaml" | grep -v '^#')"
  echo "$W/nodes.yaml"
}

# kilo_start NODE ARGS...: Kilo's own agent (KILO_KG, built from
# github.com/squat/kilo's cmd/kg) as Kilo's userspace DaemonSet runs it:
# wireguard-go makes kilo0, kg configures it (--create-interface=false),
# with the host's /var/lib/kilo and /etc/cni/net.d (holding the conflist
# Kilo's install-cni writes) bound from W/NODE. --encapsulate=never: the
# test machine has no ipip, without which kg does not start.
kilo_start() {
  local node=$1; shift
  mkdir -p "$W/$node/var-lib-kilo" "$W/$node/cni" /var/lib/kilo /etc/cni/net.d
  chmod 700 "$W/$node/var-lib-kilo"
  printf '%s\n' '{"cniVersion":"0.4.0","name":"kilo","plugins":[{"name":"kubernetes","type":"bridge","bridge":"kube-bridge","isDefaultGateway":true,"forceAddress":true,"mtu":1420,"ipam":{"type":"host-local"}},{"type":"portmap","snat":true,"capabilities":{"portMappings":true}}]}' \
    > "$W/$node/cni/10-kilo.conflist"
  ip netns exec "$(ns "$node")" unshare -m --propagation private sh -c '
    mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard &&
      mount --bind "$0/var-lib-kilo" /var/lib/kilo && mount --bind "$0/cni" /etc/cni/net.d || exit 1
    WG_PROCESS_FOREGROUND=1 wireguard-go kilo0 & echo $! > "$0.wg.pid"
    for _ in $(seq 50); do [ -S /var/run/wireguard/kilo0.sock ] && break; sleep 0.1; done
    exec "$@"' "$W/$node" \
    "$KILO_KG" --hostname "$node" --kubeconfig "$W/kubeconfig" --create-interface=false --interface=kilo0 \
    --encapsulate=never "$@" >> "$W/$node.kilo.log" 2>&1 &
  echo $! > "$W/$node.kilo.pid"; disown
}

# kilo_stop NODE SIGNAL: as when Kilo's DaemonSet goes: SIGTERM lets kg
# clean up (Kilo's default --clean-up=true); SIGKILL leaves everything.
kilo_stop() {
  local pid; pid=$(cat "$W/$1.kilo.pid")
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" "$(cat "$W/$1.wg.pid")" 2>/dev/null || true
  for _ in $(seq 50); do nsexec "$1" ip link show kilo0 >/dev/null 2>&1 || return 0; sleep 0.1; done
}

# real_kilo: the cluster as Kilo's own agents leave it, instead of the
# fixture: the Nodes with only the operator's annotations, Kilo's agents
# started and converged, their annotations compared with the fixture's;
# the mixed window (east on kgctl, west and home still on Kilo); then
# Kilo's agents stopped, b2's letting it clean up, the others killed.
real_kilo() {
  log "real Kilo agents first ($KILO_KG)"
  grep -v 'kilo.squat.ai/\(key\|endpoint\|internal-ip\|wireguard-ip\|last-seen\|granularity\|discovered-endpoints\|cni-compatibility-ip\):' \
    "$REPO/testdata/kilo-upgrade/nodes.yaml" | kc apply -f - >/dev/null
  local n t
  for n in "${NODES[@]}"; do kilo_start "$n"; done
  # Kilo's own mesh is not asserted: in this network its agents' views
  # of one another drift (a NATed leader keeps a stale peer), its bug.
  if t=$(LIMIT=90 converge "${NODES[@]}"); then
    report "real Kilo: its agents' mesh converged in ${t}s"
  else
    report "real Kilo: its agents' own mesh did not converge within 90 s ($(pairs "${NODES[@]}") pairs of pods reached); going on"
  fi
  for n in "${NODES[@]}"; do PUB[$n]=$(wg pubkey < "$W/$n/var-lib-kilo/key"); done
  # Kilo's discovered endpoints appear after its first handshakes with c1.
  for _ in $(seq 60); do
    kc get node a2 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/discovered-endpoints}' | grep -F "${PUB[c1]}" >/dev/null &&
      kc get node b1 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/discovered-endpoints}' | grep -F "${PUB[c1]}" >/dev/null && break
    sleep 1
  done
  kc get nodes -o json > "$W/nodes-kilo.json"
  # The fixture, with these keys, must be what Kilo wrote (last-seen aside).
  kc create --dry-run=client -o json -f "$(fixture)" > "$W/nodes-fixture.json"
  python3 - "$W/nodes-kilo.json" "$W/nodes-fixture.json" <<'PY' >&2 || die "Kilo's own annotations differ from testdata/kilo-upgrade/nodes.yaml (above)"
import json, sys
real = {n["metadata"]["name"]: n["metadata"].get("annotations", {}) for n in json.load(open(sys.argv[1]))["items"]}
text, items, i = open(sys.argv[2]).read(), [], 0
while i < len(text):  # one JSON object per Node, one after another
    if text[i].isspace():
        i += 1
        continue
    obj, i = json.JSONDecoder().raw_decode(text, i)
    items += obj.get("items", [obj])
bad = 0
for n in items:
    name, want = n["metadata"]["name"], n["metadata"].get("annotations", {})
    if name == "b2":
        continue  # the fixture's b2 is after Kilo's clean-up
    got = real.get(name, {})
    for k in sorted(set(want) | set(got)):
        if not k.startswith("kilo.squat.ai/") or k == "kilo.squat.ai/last-seen":
            continue
        w, g = want.get(k), got.get(k)
        if k == "kilo.squat.ai/discovered-endpoints" and w is not None and g is not None:
            # Discovered only after a handshake: "{}" until then.
            w, g = json.loads(w), json.loads(g)
            if g == {}:
                w = g
        if w != g:
            print(f"node {name}: {k}: Kilo wrote {got.get(k)!r}, the fixture has {want.get(k)!r}")
            bad = 1
    if not got.get("kilo.squat.ai/last-seen", "").isdigit():
        print(f"node {name}: last-seen {got.get('kilo.squat.ai/last-seen')!r}")
        bad = 1
sys.exit(bad)
PY
  report "real Kilo: its agents' annotations on a1, a2, b1, c1 are the fixture's (testdata/kilo-upgrade/nodes.yaml), last-seen aside"
  log "the mixed window: east on kgctl, west and home on Kilo"
  for n in a1 a2; do kilo_stop "$n" KILL; agent_start_host "$n" "$W"; KGCTL_ON+=("$n"); done
  # Asserted between east (kgctl) and west (Kilo); home's NATed leader only
  # reported, as Kilo's own view of it drifts.
  t=$(LIMIT=60 converge a1 a2 b1 b2) || die "mixed window: east's pods (kgctl) and west's (Kilo) do not all reach each other"
  report "mixed window: kgctl on a1, a2 (east), Kilo on b1, b2 (west), c1 (home): east and west pods reach each other ${t}s after the switch; all 5: $(pairs "${NODES[@]}") pairs"
  for n in b1 c1; do kilo_stop "$n" KILL; done
  kilo_stop b2 TERM
  for _ in $(seq 50); do
    [ -z "$(kc get node b2 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/key}')" ] && break
    sleep 0.2
  done
  [ -z "$(kc get node b2 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/key}')" ] || die "b2's Kilo agent did not clean up its annotations on SIGTERM"
  report "real Kilo: b1, c1 killed (everything left), b2 stopped with SIGTERM (Kilo's clean-up removed its annotations)"
}

log "the cluster as Kilo left it"
# Kilo's Peer CRD and Peers shaped as Kilo's users and tools write them.
kc apply -f "$REPO/pkg/apis/kilo/v1alpha1/testdata/crd-kilo-shaped.yaml" >/dev/null
kc wait --for condition=established --timeout=30s crd/peers.kilo.squat.ai >/dev/null
PEERS=("$REPO/testdata/kilo-peers/accepted/docs-vpn.yaml" "$REPO/testdata/kilo-upgrade/peer-cluster-b.yaml")
for i in $(seq 50); do
  kc apply "${PEERS[@]/#/-f}" >/dev/null 2>&1 && break
  [ "$i" = 50 ] && die "Kilo's CRD does not take Kilo's Peers: $(kc apply "${PEERS[@]/#/-f}" 2>&1)"
  sleep 0.2
done
declare -A PUB
KGCTL_ON=()
if [ -z "${KILO_KG:-}" ]; then
  # Kilo's key files: the base64 private key without a newline, 0600, in
  # /var/lib/kilo (0700) of each host.
  for n in "${NODES[@]}"; do
    mkdir -p "$W/$n/var-lib-kilo" && chmod 700 "$W/$n/var-lib-kilo"
    (umask 077 && printf '%s' "$(wg genkey)" > "$W/$n/var-lib-kilo/key")
    PUB[$n]=$(wg pubkey < "$W/$n/var-lib-kilo/key")
  done
  kc apply -f "$(fixture)" >/dev/null
  # What a killed Kilo agent leaves in a2's nat table.
  nsexec a2 iptables -t nat -N KILO-NAT
  nsexec a2 iptables -t nat -A KILO-NAT -d 10.4.0.1/32 -m comment --comment "Kilo: do not NAT packets destined for WireGuared IPs" -j RETURN
  nsexec a2 iptables -t nat -A KILO-NAT -m comment --comment "Kilo: NAT remaining packets" -j MASQUERADE
  nsexec a2 iptables -t nat -A POSTROUTING -s 10.2.2.0/24 -m comment --comment "Kilo: jump to KILO-NAT chain" -j KILO-NAT
else
  real_kilo
fi
kc get nodes -o json > "$W/nodes-before.json"

log "the upgrade: our CRD over Kilo's, then the agents with default flags"
kc apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
kc wait --for condition=established --timeout=30s crd/peers.kilo.squat.ai >/dev/null
[ "$(kc get peers -o name | sort | tr '\n' ' ')" = "peer.kilo.squat.ai/cluster-b-north peer.kilo.squat.ai/squat " ] ||
  die "after our CRD replaced Kilo's, the Peers are: $(kc get peers -o name 2>&1)"
# c1 starts while its API server is unreachable.
nsexec c1 iptables -I OUTPUT -d 10.80.0.2 -p tcp --dport 6443 -j REJECT --reject-with tcp-reset
t0=$SECONDS
for n in "${NODES[@]}"; do
  [[ " ${KGCTL_ON[*]} " == *" $n "* ]] || agent_start_host "$n" "$W"
done

# health NODE: /health's status code from the node's agent.
health() { nsexec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:1107/health || true; }
# get NODE PATH OUT: the body of an agent's PATH into OUT; prints the
# status code and the content type.
get() { nsexec "$1" curl -s -o "$3" -w '%{http_code} %{content_type}' --max-time 20 "http://127.0.0.1:1107$2" || true; }

until [ "$(health c1)" = 503 ]; do
  [ $((SECONDS - t0)) -ge 20 ] && die "c1's agent does not answer /health 503 while its API server is unreachable (got $(health c1))"
  sleep 0.2
done
sleep 3
[ "$(health c1)" = 503 ] || die "c1's /health is $(health c1) with no API server for 3 s, want 503"
code=$(get c1 '/graph?format=dot' "$W/c1-graph-early.txt")
[ "${code%% *}" = 500 ] || die "c1's /graph before its first reconcile: $code, want 500: $(cat "$W/c1-graph-early.txt")"
report "health: c1's /health 503 (and /graph 500: $(head -1 "$W/c1-graph-early.txt")) while its API server is unreachable"
nsexec c1 iptables -D OUTPUT -d 10.80.0.2 -p tcp --dport 6443 -j REJECT --reject-with tcp-reset

converge "${NODES[@]}" >/dev/null || die "after the upgrade the pods do not all reach each other"
report "pods: every pod of ${#NODES[@]} nodes in 3 locations reaches every other $((SECONDS - t0))s after the agents started (c1's API blocked for the first ~4 s)"
for n in "${NODES[@]}"; do
  until [ "$(health "$n")" = 200 ]; do
    [ $((SECONDS - t0)) -ge 120 ] && die "$n's /health is $(health "$n") after its mesh converged, want 200"
    sleep 0.5
  done
done
report "health: /health 200 on all ${#NODES[@]} agents after their first full apply"

log "keys, WireGuard IPs and leaders kept"
# Wait for b2's agent (Kilo cleaned up) to publish, and for one resync's
# patches to land.
for _ in $(seq 40); do
  [ -n "$(kc get node b2 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/key}')" ] && break
  sleep 0.5
done
kc get nodes -o json > "$W/nodes-after.json"
ann() { kc get node "$1" -o jsonpath="{.metadata.annotations.kilo\.squat\.ai/$2}"; }
for n in "${NODES[@]}"; do
  [ "$(ann "$n" key)" = "${PUB[$n]}" ] || die "$n: key annotation $(ann "$n" key), want Kilo's ${PUB[$n]} (from its key file)"
  dev=$(nsenter -t "$(cat "$W/$n.pid")" -m -n wg show kilo0 public-key 2>&1)
  [ "$dev" = "${PUB[$n]}" ] || die "$n: kilo0's public key is $dev, want ${PUB[$n]}"
  [ "$(stat -c %s "$W/$n/var-lib-kilo/key")" = 44 ] || die "$n: the agent rewrote Kilo's key file ($(stat -c %s "$W/$n/var-lib-kilo/key") bytes, Kilo's is 44)"
  want=${WGIP[$n]:-}
  got=$(ann "$n" wireguard-ip)
  [ "$got" = "$want" ] || die "$n: wireguard-ip annotation \"$got\", want Kilo's \"$want\""
  if [ -n "$want" ]; then
    nsexec "$n" ip -o addr show dev kilo0 | grep -F " inet $want " >/dev/null || die "$n: kilo0 lacks $want: $(nsexec "$n" ip -o addr show dev kilo0)"
  fi
done
report "kept: all ${#NODES[@]} public keys (annotation = kilo0's = Kilo's key file, untouched; b2 re-published its from the file), leaders' WireGuard IPs a2 ${WGIP[a2]}, c1 ${WGIP[c1]}, b1 ${WGIP[b1]} (annotation and kilo0)"
problems=$(grep -h 'node annotation problem' "$W"/*.log || true)
[ -z "$problems" ] || die "agents report problems with Kilo's annotations: $problems"
events=$(kc get events -A -o jsonpath='{range .items[*]}{.involvedObject.name}: {.reason}: {.message}{"\n"}{end}' | grep 'InvalidAnnotation\|HostPartFailed' || true)
[ -z "$events" ] || die "agents raised Events after the upgrade: $events"
"$KGCTL" graph --kubeconfig "$K" > "$W/cli-graph.dot" 2> "$W/cli-graph.err" || die "kgctl graph on the upgraded cluster failed: $(cat "$W/cli-graph.err")"
# Only the private-endpoint notes of this test network may remain.
bad=$(grep -E 'kilo\.squat\.ai/(key|wireguard-ip|internal-ip|last-seen|granularity|discovered-endpoints|cni-compatibility-ip|location|leader|force-endpoint|persistent-keepalive)|^error' "$W/cli-graph.err" || true)
[ -z "$bad" ] || die "kgctl graph reports problems with Kilo's annotations after the upgrade: $bad"

# scrape NODE: the node's /metrics into $W/NODE.metrics.
scrape() { nsexec "$1" curl -s --max-time 5 http://127.0.0.1:1107/metrics > "$W/$1.metrics"; }
# val NODE SERIES: a series' value in the last scrape (sum over labels).
val() { awk -v m="$2" '$1 ~ "^"m"({|$)" {s+=$2; f=1} END {if (f) print s+0; else print "absent"}' "$W/$1.metrics"; }
for n in "${NODES[@]}"; do
  want=0; [[ " ${LEADERS[*]} " == *" $n "* ]] && want=1
  # A reconcile may land between two series of one scrape: try again.
  for i in 1 2 3 4 5; do
    scrape "$n"
    ok=1
    [ "$(val "$n" kilo_reconciles_total)" = "$(val "$n" kgctl_reconciles_total)" ] || ok=0
    [ "$(val "$n" kilo_errors_total)" = "$(val "$n" kgctl_reconcile_errors_total)" ] || ok=0
    [ $ok = 1 ] && break
    [ $i = 5 ] && die "$n: Kilo's counters differ from their kgctl twins: reconciles $(val "$n" kilo_reconciles_total) vs $(val "$n" kgctl_reconciles_total), errors $(val "$n" kilo_errors_total) vs $(val "$n" kgctl_reconcile_errors_total)"
    sleep 0.3
  done
  [ "$(val "$n" kilo_leader)" = $want ] && [ "$(val "$n" kgctl_leader)" = $want ] ||
    die "$n: kilo_leader $(val "$n" kilo_leader), kgctl_leader $(val "$n" kgctl_leader), want $want"
  [ "$(val "$n" kilo_nodes)" = ${#NODES[@]} ] || die "$n: kilo_nodes $(val "$n" kilo_nodes), want ${#NODES[@]}"
  [ "$(val "$n" kilo_peers)" = 2 ] || die "$n: kilo_peers $(val "$n" kilo_peers), want 2"
  [ "$(val "$n" kilo_reconciles_total)" != absent ] && [ "$(val "$n" kilo_reconciles_total)" -gt 0 ] || die "$n: kilo_reconciles_total $(val "$n" kilo_reconciles_total)"
  [ "$(val "$n" kilo_errors_total)" != absent ] || die "$n: kilo_errors_total absent"
done
report "leaders kept: a2, b1, c1 (kilo_leader = kgctl_leader = 1 on them, 0 on a1, b2)"
report "metrics: every agent serves kilo_nodes ${#NODES[@]}, kilo_peers 2, kilo_reconciles_total = kgctl_reconciles_total, kilo_errors_total = kgctl_reconcile_errors_total (c1: $(val c1 kilo_reconciles_total) reconciles, $(val c1 kilo_errors_total) errors)"

log "Kilo's Peers in every leader's configuration"
for n in "${LEADERS[@]}"; do
  dump=$(nsenter -t "$(cat "$W/$n.pid")" -m -n wg show kilo0 dump)
  echo "$dump" > "$W/$n.wg"
  # wg sorts allowed IPs. (A Peer's persistentKeepalive is the peer's own,
  # as in Kilo: the node's side keeps the node's keepalive.)
  awk '$1 == "GY5aT1N9dTR/nJnT1N2f4ClZWVj0jOAld0r8ysWLyjg=" && $3 == "(none)" && $4 == "10.5.0.1/32"' <<<"$dump" | grep . >/dev/null ||
    die "$n: Peer squat (no endpoint, 10.5.0.1/32) missing from kilo0: $dump"
  awk '$1 == "EylEyrIow1r40D252GdRNG7n4Hl1a2Yv6Ir+XARKkA4=" && $3 == "10.80.9.2:51820" && $4 == "10.42.0.0/24,10.43.0.0/16,172.18.0.2/32"' <<<"$dump" | grep . >/dev/null ||
    die "$n: Peer cluster-b-north (10.80.9.2:51820, 10.42.0.0/24, 172.18.0.2/32, 10.43.0.0/16) missing from kilo0: $dump"
done
# b1 is reached at its force-endpoint, as under Kilo.
grep -F "${PUB[b1]}" "$W/a2.wg" | grep -F 10.80.2.50:51820 >/dev/null || die "a2 does not reach b1 at its force-endpoint: $(grep -F "${PUB[b1]}" "$W/a2.wg")"
report "peers: Kilo's Peers squat (docs) and cluster-b-north (Kilo's showconf --as-peer, dnsOrIP) in all 3 leaders' kilo0; a2 reaches b1 at its force-endpoint 10.80.2.50:51820"
nsexec a2 iptables -t nat -S KILO-NAT > "$W/a2-kilo-nat.txt"
grep -F 'Kilo: NAT remaining' "$W/a2-kilo-nat.txt" >/dev/null && die "a2: Kilo's leftover KILO-NAT rules survived: $(cat "$W/a2-kilo-nat.txt")"
report "leftovers: a2's KILO-NAT chain left by a killed Kilo agent was rewritten by ours ($(grep -c '^-A' "$W/a2-kilo-nat.txt") rules)"

log "/graph on every agent"
for n in "${NODES[@]}"; do
  for q in 'format=dot' 'format=gv&layout=neato'; do
    code=$(get "$n" "/graph?$q" "$W/$n-graph.dot")
    [ "${code%% *}" = 200 ] || die "$n: /graph?$q: $code: $(head -3 "$W/$n-graph.dot")"
    head -1 "$W/$n-graph.dot" | grep '^\(di\)\?graph ' >/dev/null || die "$n: /graph?$q is not DOT: $(head -3 "$W/$n-graph.dot")"
    for x in "${NODES[@]}" squat cluster-b-north; do
      grep -F "$x" "$W/$n-graph.dot" >/dev/null || die "$n: /graph?$q lacks $x"
    done
  done
  for q in '' '?format=svg&layout=dot'; do
    code=$(get "$n" "/graph$q" "$W/$n-graph.svg")
    [ "$code" = "200 image/svg+xml" ] || die "$n: /graph$q: $code, want 200 image/svg+xml: $(head -3 "$W/$n-graph.svg")"
    grep '<svg' "$W/$n-graph.svg" >/dev/null || die "$n: /graph$q is not SVG"
  done
  code=$(get "$n" '/graph?format=pdf' "$W/$n-graph.err")
  [ "${code%% *}" = 400 ] || die "$n: /graph?format=pdf: $code, want 400"
done
# As Kilo's e2e/handlers.sh asks: from a pod, the leader at its WireGuard IP.
code=$(nsexec b2 curl -s -o "$W/wgip-graph.svg" -w '%{http_code}' --max-time 20 --interface "${POD[b2]}" 'http://10.4.0.1:1107/graph?format=svg&layout=circo' || true)
[ "$code" = 200 ] && grep '<svg' "$W/wgip-graph.svg" >/dev/null || die "b2's pod cannot get a2's /graph at 10.4.0.1:1107: $code"
code=$(nsexec b2 curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface "${POD[b2]}" 'http://10.4.0.1:1107/graph?layout=fake' || true)
[ "$code" = 400 ] || die "a2's /graph?layout=fake: $code, want 400"
val_nodes=$(nsexec b2 curl -s --max-time 5 --interface "${POD[b2]}" http://10.4.0.1:1107/metrics | awk '$1 == "kilo_nodes" {print $2}')
[ "$val_nodes" = ${#NODES[@]} ] || die "a2's kilo_nodes at 10.4.0.1:1107 from b2's pod: $val_nodes"
report "graph: every agent's /graph serves DOT (format=dot, gv) naming all nodes and Peers, SVG (default circo, layout=dot), 400 for format=pdf; from b2's pod, a2 at its WireGuard IP 10.4.0.1:1107 serves SVG, kilo_nodes ${#NODES[@]} and 400 for layout=fake (Kilo's e2e/handlers.sh)"

report "upgrade: $((SECONDS - START))s in all"
log "PASS"
cat "$REPORT"
