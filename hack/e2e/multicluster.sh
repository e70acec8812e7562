#!/usr/bin/env bash
# End-to-end test of `kgctl link`: two clusters, each its own real
# kube-apiserver and mesh, linked in one step.
#
#   cluster A: API 10.80.0.2, location east a1 (leader), a2  10.80.1.0/24
#              pods 10.2.0.0/16, WireGuard 10.4.0.0/16, services 10.96.0.0/24
#   cluster B: API 10.80.0.3, location north b1 (leader), b2 10.80.2.0/24
#              pods 10.3.0.0/16, WireGuard 10.6.0.0/16, services 10.97.0.0/24
#
# A service address of each cluster sits on its leader's lo (10.96.0.10 on
# a1, 10.97.0.10 on b1), standing for kube-proxy's. Asserts that plan
# previews the link, that a server dry run leaves nothing, that pods (and
# the followers' pods, through their leaders) and service addresses are
# reached both ways after the link (timed), that a second run changes
# nothing, and that --delete removes exactly the link's Peers and cuts the
# clusters apart again. Needs root; skips otherwise. Run it alone
# machine-wide (flock /tmp/kgctl-e2e.lock).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export REPO E2E_PREFIX=kgm
# shellcheck source=lib.sh
. "$REPO/hack/e2e/lib.sh"

e2e_require multicluster etcd wg iptables ping curl openssl kubectl

e2e_workdir multicluster a b
A=$W/a B=$W/b

log "network: router, two API servers, two clusters"
router_up
for i in 0 1 2; do subnet_up "$i"; done
mkns api && attach api 0 2
mkns api2 && attach api2 0 3
host_link
declare -A POD=([a1]=10.2.1.1 [a2]=10.2.2.1 [b1]=10.3.1.1 [b2]=10.3.2.1)
declare -A REGION=([a1]=east [a2]=east [b1]=north [b2]=north)
mkns a1 && attach a1 1 11
mkns a2 && attach a2 1 12
mkns b1 && attach b1 2 11
mkns b2 && attach b2 2 12
for n in "${!POD[@]}"; do ip -n "$(ns "$n")" addr add "${POD[$n]}/32" dev lo; done
ip -n "$(ns a1)" addr add 10.96.0.10/32 dev lo
ip -n "$(ns b1)" addr add 10.97.0.10/32 dev lo

API_NS=api API_ADDR=10.80.0.2 apiserver_up "$A"
API_NS=api2 API_ADDR=10.80.0.3 API_EXTRA_FLAGS=--service-cluster-ip-range=10.97.0.0/24 apiserver_up "$B"
for d in "$A" "$B"; do
  kubectl --kubeconfig "$d/kubeconfig" apply -f "$REPO/manifests/base/crds.yaml" >/dev/null
  kubectl --kubeconfig "$d/kubeconfig" wait --for condition=established --timeout=30s crd/peers.kilo.squat.ai >/dev/null
done
for n in a1 a2 b1 b2; do
  d=$A; [ "${n:0:1}" = b ] && d=$B
  leader=""; [ "${n#?}" = 1 ] && leader='kilo.squat.ai/leader: "true"'
  cat <<EOF | kubectl --kubeconfig "$d/kubeconfig" apply -f - >/dev/null
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

# reachable FROM ADDR...: wait until FROM's pod reaches every ADDR; prints
# the seconds it took.
reachable() {
  local from=$1 start=$SECONDS limit=${LIMIT:-60}; shift
  while :; do
    local ok=1
    for a in "$@"; do reach "$from" "$a" "${POD[$from]}" || { ok=0; break; }; done
    if [ $ok = 1 ]; then echo $((SECONDS - start)); return 0; fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      for a in "$@"; do reach "$from" "$a" "${POD[$from]}" && log "  $from -> $a: ok" || log "  $from -> $a: FAIL"; done
      return 1
    fi
    sleep 0.5
  done
}

log "two meshes"
for n in a1 a2; do agent_start "$n" "$A"; done
for n in b1 b2; do agent_start "$n" "$B" --subnet 10.6.0.0/16; done
LIMIT=90 reachable a2 "${POD[a1]}" >/dev/null || die "cluster A's mesh did not converge"
LIMIT=90 reachable b2 "${POD[b1]}" >/dev/null || die "cluster B's mesh did not converge"
reach a2 "${POD[b2]}" "${POD[a2]}" && die "a2 reaches b2 before the link"

link() {
  "$KGCTL" link --kubeconfig "$A/kubeconfig" --to-kubeconfig "$B/kubeconfig" --name ab \
    --to-subnet 10.6.0.0/16 --service-cidr 10.96.0.0/24 --to-service-cidr 10.97.0.0/24 "$@"
}
peers() { kubectl --kubeconfig "$1/kubeconfig" get peers -o jsonpath='{range .items[*]}{.metadata.name}:{.metadata.resourceVersion} {end}'; }

log "plan: what the link would change in cluster B"
link --only to --dry-run=client -o yaml > "$W/to-b.yaml"
grep -q 'name: ab-east' "$W/to-b.yaml" || die "link -o yaml lacks Peer ab-east"
set +e
"$KGCTL" plan --kubeconfig "$B/kubeconfig" --subnet 10.6.0.0/16 -f "$W/to-b.yaml" --detailed-exitcode > "$W/plan.txt" 2>&1; code=$?
set -e
[ $code = 2 ] || { cat "$W/plan.txt" >&2; die "plan of the link: exit code $code, want 2 (changes)"; }
grep -q ab-east "$W/plan.txt" || { cat "$W/plan.txt" >&2; die "plan does not show Peer ab-east"; }
cp "$W/plan.txt" "$W/plan-link.txt"
link --dry-run=server > "$W/server-dry-run.txt"
[ -z "$(peers "$A")$(peers "$B")" ] || die "link --dry-run=server left Peers: A: $(peers "$A") B: $(peers "$B")"
report "plan: shows Peer ab-east to be added to cluster B (exit 2); --dry-run=server created nothing"

log "link"
start=$SECONDS
link > "$W/link.txt"
t1=$(reachable a2 "${POD[b1]}" "${POD[b2]}" 10.97.0.10) || die "cluster A's pods do not reach cluster B's pods and service address"
t2=$(reachable b2 "${POD[a1]}" "${POD[a2]}" 10.96.0.10) || die "cluster B's pods do not reach cluster A's pods and service address"
report "link: $(tr '\n' ';' < "$W/link.txt")"
report "link: a2 (A, follower) reaches b1, b2 and B's service 10.97.0.10, and b2 reaches a1, a2 and 10.96.0.10, $((SECONDS - start))s after kgctl link"
reachable a1 "${POD[b2]}" >/dev/null || die "a1 does not reach b2"

log "link again: nothing changes"
before="$(peers "$A")|$(peers "$B")"
link > "$W/link2.txt"
after="$(peers "$A")|$(peers "$B")"
[ "$before" = "$after" ] || die "a second link changed Peers: $before -> $after"
grep -qv unchanged "$W/link2.txt" && die "a second link reported changes: $(cat "$W/link2.txt")"
report "idempotent: a second kgctl link reports $(grep -c unchanged "$W/link2.txt") Peers unchanged, resourceVersions equal ($after)"

log "unlink"
kubectl --kubeconfig "$B/kubeconfig" apply -f - >/dev/null <<EOF
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: laptop
spec:
  allowedIPs: [10.5.0.1/32]
  publicKey: $(wg genkey | wg pubkey)
EOF
start=$SECONDS
link --delete > "$W/unlink.txt"
[ "$(peers "$A")" = "" ] || die "after --delete cluster A still has Peers: $(peers "$A")"
case "$(peers "$B")" in laptop:*) ;; *) die "after --delete cluster B has $(peers "$B"), want only its own laptop";; esac
while reach a2 "${POD[b2]}" "${POD[a2]}"; do
  [ $((SECONDS - start)) -ge 30 ] && die "a2 still reaches b2 30s after the link was deleted"
  sleep 0.5
done
report "unlink: --delete removed the link's 2 Peers (cluster B kept its own Peer laptop); a2 lost b2 $((SECONDS - start))s later"

log "PASS"
cat "$REPORT"
