#!/usr/bin/env bash
# The Peer CRD against a real kube-apiserver (loopback, ports 16443/12379):
# with Kilo's schema (our CRD without its CEL rules and bounds, which
# pkg/apis/kilo/v1alpha1's golden test proves is Kilo's) and with ours,
#   - every Peer of testdata/kilo-peers/accepted is accepted by both;
#   - every Peer of testdata/kilo-peers/refused is refused by ours with a
#     message naming each field of its "# refused:" line, and accepted by
#     Kilo's unless marked "# kilo: refused";
#   - kgctl's own output (showconf --as-peer -o yaml, peer add --dry-run=client
#     -o yaml) is accepted by both;
#   - with Kilo's schema, a Peer no client can decode (port 2^32) stored in
#     the cluster leaves showconf working, reported by name.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
DIR=$(mktemp -d /tmp/kgctl-crd-test.XXXXXX)
KGCTL=$DIR/kgctl
fail=0
cleanup() { hack/apiserver.sh --down "$DIR" >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
log() { echo "[crd-test] $*"; }
bad() { echo "[crd-test] FAIL: $*"; fail=1; }

go build -o "$KGCTL" ./cmd/kgctl
# kubectl: the machine's, or the one built beside the cached kube-apiserver.
KAS=$(hack/build-kube-apiserver.sh)
if ! command -v kubectl >/dev/null; then ln -sf "$(dirname "$KAS")/kubectl-v1.34.4" "$DIR/kubectl"; export PATH=$DIR:$PATH; fi
hack/apiserver.sh "$DIR" 16443 12379 >"$DIR/apiserver.log" 2>&1 || { cat "$DIR/apiserver.log"; exit 1; }
export KUBECONFIG=$DIR/kubeconfig
k() { kubectl --request-timeout=20s "$@"; }

"$KGCTL" showconf node aws-1 --as-peer -o yaml --allowed-ips 10.96.0.0/12 -f testdata/example >"$DIR/as-peer-ip.yaml"
"$KGCTL" showconf node lab-1 --as-peer -o yaml -f testdata/example >"$DIR/as-peer-dns.yaml"
"$KGCTL" peer add phone --dry-run=client -o yaml --wg-quick-file "$DIR/phone.conf" -f testdata/example >"$DIR/peer-add.yaml"
"$KGCTL" peer add gateway --endpoint gw.example.org:51820 --keepalive 25 --dry-run=client -o yaml --wg-quick-file "$DIR/gateway.conf" -f testdata/example >"$DIR/peer-add-endpoint.yaml"
grep -q dnsOrIP "$DIR/as-peer-dns.yaml" || bad "showconf --as-peer -o yaml printed no endpoint: $(cat "$DIR/as-peer-dns.yaml")"

use_crd() {
  k delete crd peers.kilo.squat.ai --ignore-not-found --wait >/dev/null
  k apply -f "$1" >/dev/null
  k wait --for condition=established crd/peers.kilo.squat.ai --timeout=30s >/dev/null
  # Discovery and the schema reach the handlers a moment after Established.
  for _ in $(seq 50); do k apply --dry-run=server -f testdata/kilo-peers/accepted/docs-vpn.yaml >/dev/null 2>&1 && return 0; sleep 0.2; done
}

check_crd() { # name file
  local name=$1 n=0
  log "CRD: $name ($2)"
  use_crd "$2"
  for f in testdata/kilo-peers/accepted/*.yaml "$DIR"/as-peer-*.yaml "$DIR"/peer-add*.yaml; do
    if out=$(k apply --dry-run=server -f "$f" 2>&1); then n=$((n + 1)); else bad "$name refused $f: $out"; fi
  done
  for f in testdata/kilo-peers/refused/*.yaml; do
    fields=$(sed -n 's/^# refused: //p' "$f")
    kilo_refuses=$(grep -c '^# kilo: refused' "$f" || true)
    if out=$(k apply --dry-run=server -f "$f" 2>&1); then
      if [ "$name" = ours ] || [ "$kilo_refuses" -gt 0 ]; then bad "$name accepted $f"; else n=$((n + 1)); fi
      continue
    fi
    if [ "$name" = kilo ] && [ "$kilo_refuses" -eq 0 ]; then bad "kilo's schema refused $f: $out"; continue; fi
    for field in $fields; do
      grep -qF -e "$field:" -e "$field\"" <<<"$out" || bad "$name refused $f without naming $field: $out"
    done
    n=$((n + 1))
  done
  log "$name: $n Peers as expected"
}

check_crd kilo pkg/apis/kilo/v1alpha1/testdata/crd-kilo-shaped.yaml
check_crd ours manifests/base/crds.yaml

# Issue 12 item 6: a Peer Kilo's schema admits and no client decodes.
use_crd pkg/apis/kilo/v1alpha1/testdata/crd-kilo-shaped.yaml
k apply -f testdata/kilo-peers/accepted/docs-vpn.yaml -f testdata/kilo-peers/refused/port-too-big.yaml >/dev/null
# The example's Nodes, seen by their agents just now.
sed "s|kilo.squat.ai/last-seen: .*|kilo.squat.ai/last-seen: \"$(date +%s)\"|" testdata/example/nodes.yaml | k apply -f - >/dev/null
set +e
out=$("$KGCTL" showconf node aws-1 2>&1); rc=$?
set -e
grep -q 'Peer "port-too-big": spec.endpoint.port "4294967296"' <<<"$out" || bad "showconf did not report the undecodable Peer (exit $rc): $out"
grep -q 'AllowedIPs = 10.5.0.1/32' <<<"$out" || bad "showconf lost the good Peer next to the undecodable one: $out"

[ "$fail" -eq 0 ] && log "ok" || { log "FAILED"; exit 1; }
