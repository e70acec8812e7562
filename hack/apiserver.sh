#!/usr/bin/env bash
# A real kube-apiserver + etcd on loopback, for tests that need no network
# namespaces (CRD schemas, admission policies, RBAC, sources):
#
#   hack/apiserver.sh DIR [API_PORT [ETCD_PORT]]   start; DIR/kubeconfig
#   hack/apiserver.sh --down DIR                   stop
#
# It builds (or reuses the cached) kube-apiserver and returns once the
# server is ready. Give every test cluster on one machine its own ports
# (the API port and the two etcd ports ETCD_PORT, ETCD_PORT+1).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=e2e/lib.sh
. "$REPO/hack/e2e/lib.sh"
if [ "${1:-}" = --down ]; then apiserver_down "${2:?usage: hack/apiserver.sh --down DIR}"; exit 0; fi
d=${1:?usage: hack/apiserver.sh DIR [API_PORT [ETCD_PORT]]}
KAS=$("$REPO/hack/build-kube-apiserver.sh")
export KAS
mkdir -p "$d"
API_NS="" API_ADDR=127.0.0.1 API_PORT=${2:-16443} ETCD_PORT=${3:-12379} apiserver_up "$(cd "$d" && pwd)"
