#!/usr/bin/env bash
# Least privilege, proven on a real kube-apiserver: applies manifests/base
# (CRDs, RBAC, the agent ValidatingAdmissionPolicy), creates Nodes node-a
# and node-b and a Pod bound to node-a, issues the agent ServiceAccount a
# token bound to that Pod (its claims carry node-a), then runs
# pkg/source's TestAgentPolicy with it: the agent's own publish path
# works, every other write is refused with the exact RBAC or policy
# message. Loopback only (no network namespaces): ports 18443, 14379.
#
#   hack/agent-policy-test.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
API_PORT=${API_PORT:-18443} ETCD_PORT=${ETCD_PORT:-14379}
W=$(mktemp -d /tmp/kgctl-policy.XXXXXX)
log() { printf '%s [policy] %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
  local rc=$?
  "$REPO/hack/apiserver.sh" --down "$W" || true
  if [ $rc -ne 0 ]; then tail -30 "$W/apiserver.log" >&2 2>/dev/null || true; fi
  rm -rf "$W"
  exit $rc
}
trap cleanup EXIT
"$REPO/hack/apiserver.sh" "$W" "$API_PORT" "$ETCD_PORT"
KAS=$("$REPO/hack/build-kube-apiserver.sh")
command -v kubectl >/dev/null || PATH=$(dirname "$KAS"):$PATH
command -v kubectl >/dev/null || ln -sf "$(dirname "$KAS")/kubectl-v1.34.4" "$W/kubectl"
PATH=$W:$PATH
k() { kubectl --kubeconfig "$W/kubeconfig" "$@"; }

log "apply -k manifests/base"
k apply -k "$REPO/manifests/base" >/dev/null
k wait --for condition=established --timeout 60s crd/peers.kilo.squat.ai >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {topology.kubernetes.io/region: eu}
  annotations: {kilo.squat.ai/location: eu, kilo.squat.ai/leader: "true"}
---
apiVersion: v1
kind: Node
metadata:
  name: node-b
  annotations: {kilo.squat.ai/location: us}
---
apiVersion: v1
kind: Pod
metadata:
  name: kgctl-a
  namespace: kube-system
spec:
  nodeName: node-a
  serviceAccountName: kgctl
  automountServiceAccountToken: false
  containers:
  - name: agent
    image: ghcr.io/kgctl/kgctl:latest
---
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: laptop
spec:
  allowedIPs: [10.5.0.1/32]
  publicKey: GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVo=
YAML

log "token bound to Pod kube-system/kgctl-a"
token=$(k -n kube-system create token kgctl --bound-object-kind Pod --bound-object-name kgctl-a --duration 10m)
sed -e '/^users:/,$d' "$W/kubeconfig" > "$W/agent.kubeconfig"
cat >> "$W/agent.kubeconfig" <<YAML
users:
- name: agent
  user:
    token: $token
contexts:
- name: agent
  context: {cluster: e2e, user: agent}
current-context: agent
YAML

# The policy is loaded asynchronously: wait until it refuses.
for i in $(seq 60); do
  if ! kubectl --kubeconfig "$W/agent.kubeconfig" annotate --overwrite node node-b kilo.squat.ai/key=x >/dev/null 2>&1; then break; fi
  [ "$i" = 60 ] && { log "FAIL: the policy never took effect"; exit 1; }
  k annotate node node-b kilo.squat.ai/key- >/dev/null
  sleep 1
done

log "go test ./pkg/source -run TestAgentPolicy"
cd "$REPO"
KGCTL_POLICY_ADMIN_KUBECONFIG=$W/kubeconfig KGCTL_POLICY_AGENT_KUBECONFIG=$W/agent.kubeconfig \
  go test -count=1 -run '^TestAgentPolicy$' -v ./pkg/source/ 2>&1 | grep -v '^=== RUN' >&2
log "ok"
