# shellcheck shell=bash
# Building blocks of the end-to-end test: a real kube-apiserver + etcd and
# simulated nodes, each a network namespace with its own mount namespace
# (userspace WireGuard's UAPI sockets live in /var/run/wireguard, shared by
# all network namespaces otherwise). Everything is named with $E2E_PREFIX so
# teardown finds it.
#
#   root ns --veth-- [rt: one bridge per subnet, forwards between them]
#     10.80.0.0/24  api (10.80.0.2: kube-apiserver, etcd on its loopback); host 10.80.0.254
#     10.80.N.0/24  location subnets; nodes at .11, .12, ...
#     10.80.3.0/24  the NAT box's public side (.2); behind it 192.168.50.0/24
#     10.80.6.0/24  a cloud's 1:1 NAT (.2): elastic IPs 10.80.6.H for
#                   192.168.60.H behind it, with hairpin
#
# Only addresses inside namespaces made here are used.

E2E_PREFIX=${E2E_PREFIX:-kge}
RT=$E2E_PREFIX-rt

log() { printf '%s [e2e] %s\n' "$(date +%T)" "$*" >&2; }
# die records why, so the exit trap can repeat it after the logs (CI shows
# only the end of the output).
die() { log "FAIL: $*"; [ -n "${W:-}" ] && echo "$*" > "$W/FAILED"; exit 1; }

ns() { echo "$E2E_PREFIX-$1"; }
nsexec() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }

# mkns NAME: a namespace with lo up, forwarding on and reverse-path
# filtering off (the mesh's paths are asymmetric by design).
mkns() {
  local n; n=$(ns "$1")
  ip netns add "$n"
  ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# router_up: the router namespace and its bridges.
router_up() {
  mkns rt
}

# subnet_up IDX: bridge brIDX in the router with 10.80.IDX.1/24.
subnet_up() {
  local i=$1
  ip -n "$RT" link add "br$i" type bridge
  ip -n "$RT" addr add "10.80.$i.1/24" dev "br$i"
  ip -n "$RT" link set "br$i" up
}

# attach NS IDX HOST: a veth from namespace NS into bridge brIDX, with
# 10.80.IDX.HOST/24 and a default route via the router.
attach() {
  local n i=$2 h=$3; n=$(ns "$1")
  ip link add eth0 netns "$n" type veth peer name "p$i-$h" netns "$RT"
  ip -n "$RT" link set "p$i-$h" master "br$i" up
  ip -n "$n" addr add "10.80.$i.$h/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" route add default via "10.80.$i.1"
}

# nat_up: a NAT box with its public side on 10.80.3.2 and a private
# bridge 192.168.50.1/24 behind it; nodes behind it use attach_private.
nat_up() {
  subnet_up 3
  mkns nat
  attach nat 3 2
  ip -n "$(ns nat)" link add brn type bridge
  ip -n "$(ns nat)" addr add 192.168.50.1/24 dev brn
  ip -n "$(ns nat)" link set brn up
  nsexec nat iptables -t nat -A POSTROUTING -s 192.168.50.0/24 -o eth0 -j MASQUERADE
}

# attach_private NS HOST: NS behind the NAT box at 192.168.50.HOST.
attach_private() {
  local n h=$2; n=$(ns "$1")
  ip link add eth0 netns "$n" type veth peer name "pn-$h" netns "$(ns nat)"
  ip -n "$(ns nat)" link set "pn-$h" master brn up
  ip -n "$n" addr add "192.168.50.$h/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" route add default via 192.168.50.1
}

# eip_up: a cloud's 1:1 NAT, as for elastic IPs: its public side is
# 10.80.6.2 and a private bridge 192.168.60.1/24 is behind it; nodes behind
# it use attach_eip, which gives each an elastic IP. Hairpin: a node
# reaching another's elastic IP from inside is DNATed back in with its
# private source kept, so the other sees its private address (what makes
# WireGuard roam an endpoint onto an address the mesh routes).
eip_up() {
  subnet_up 6
  mkns eip
  attach eip 6 2
  ip -n "$(ns eip)" link add brn type bridge
  ip -n "$(ns eip)" addr add 192.168.60.1/24 dev brn
  ip -n "$(ns eip)" link set brn up
}

# attach_eip NS HOST: NS at 192.168.60.HOST behind the 1:1 NAT, its
# elastic IP 10.80.6.HOST (DNAT in, from outside and inside; SNAT out).
attach_eip() {
  local n h=$2; n=$(ns "$1")
  ip link add eth0 netns "$n" type veth peer name "pe-$h" netns "$(ns eip)"
  ip -n "$(ns eip)" link set "pe-$h" master brn up
  ip -n "$n" addr add "192.168.60.$h/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" route add default via 192.168.60.1
  ip -n "$(ns eip)" addr add "10.80.6.$h/32" dev eth0
  nsexec eip iptables -t nat -A PREROUTING -d "10.80.6.$h" -j DNAT --to-destination "192.168.60.$h"
  nsexec eip iptables -t nat -A POSTROUTING -s "192.168.60.$h" -o eth0 -j SNAT --to-source "10.80.6.$h"
}

# host_link: the root namespace reaches the API server at 10.80.0.2.
host_link() {
  ip link add "$E2E_PREFIX-host" type veth peer name "p0-254" netns "$RT"
  ip -n "$RT" link set p0-254 master br0 up
  ip addr add 10.80.0.254/24 dev "$E2E_PREFIX-host"
  ip link set "$E2E_PREFIX-host" up
  ip route add 10.80.0.0/16 via 10.80.0.1 dev "$E2E_PREFIX-host" 2>/dev/null || true
}

# apiserver_up DIR: etcd and kube-apiserver in namespace "api"; writes
# DIR/kubeconfig. API_NS="" runs them in the calling namespace instead;
# API_ADDR, API_PORT and ETCD_PORT move them (several test clusters on one
# machine: give each its own ports); API_EXTRA_FLAGS adds flags.
apiserver_up() {
  local d=$1 kas=${KAS:?} ns=${API_NS-api} addr=${API_ADDR:-10.80.0.2} port=${API_PORT:-6443} etcd=${ETCD_PORT:-2379}
  local run=(); [ -n "$ns" ] && run=(ip netns exec "$(ns "$ns")")
  mkdir -p "$d/pki" "$d/etcd"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kube-apiserver \
    -addext "subjectAltName=IP:$addr,IP:127.0.0.1" \
    -keyout "$d/pki/tls.key" -out "$d/pki/tls.crt" 2>/dev/null
  openssl genrsa -out "$d/pki/sa.key" 2048 2>/dev/null
  local token; token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,admin,admin,\"system:masters\"" > "$d/pki/tokens.csv"
  "${run[@]}" etcd --data-dir "$d/etcd" --listen-client-urls "http://127.0.0.1:$etcd" \
    --advertise-client-urls "http://127.0.0.1:$etcd" --listen-peer-urls "http://127.0.0.1:$((etcd + 1))" \
    > "$d/etcd.log" 2>&1 &
  echo $! > "$d/etcd.pid"; disown
  # shellcheck disable=SC2086
  "${run[@]}" "$kas" --etcd-servers="http://127.0.0.1:$etcd" --bind-address="$addr" --secure-port="$port" \
    --tls-cert-file="$d/pki/tls.crt" --tls-private-key-file="$d/pki/tls.key" \
    --service-account-key-file="$d/pki/sa.key" --service-account-signing-key-file="$d/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --token-auth-file="$d/pki/tokens.csv" \
    --authorization-mode=RBAC --service-cluster-ip-range=10.96.0.0/24 ${API_EXTRA_FLAGS:-} \
    > "$d/apiserver.log" 2>&1 &
  echo $! > "$d/apiserver.pid"; disown
  cat > "$d/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://$addr:$port
    certificate-authority: $d/pki/tls.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
EOF
  for _ in $(seq 120); do
    if kubectl --kubeconfig "$d/kubeconfig" get --raw /readyz >/dev/null 2>&1; then
      log "kube-apiserver ready"
      return 0
    fi
    sleep 0.5
  done
  tail -20 "$d/apiserver.log" >&2
  die "kube-apiserver not ready within 60s"
}

# apiserver_down DIR: stops what apiserver_up DIR started.
apiserver_down() {
  local f
  for f in "$1/apiserver.pid" "$1/etcd.pid"; do
    if [ -e "$f" ]; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
  done
}

# agent_start NODE DIR ARGS...: kgctl agent in NODE's namespaces, with a
# private /var/run/wireguard; its pid in DIR/NODE.pid, log in DIR/NODE.log.
# The mesh's flags are Kilo's defaults (--encapsulate always, on a kernel
# that may have no ipip); only what the test machine needs differs
# (userspace WireGuard, paths, a short resync, no CNI file).
agent_start() {
  local node=$1 d=$2; shift 2
  mkdir -p "$d/$node"
  ip netns exec "$(ns "$node")" unshare -m --propagation private \
    sh -c 'mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard && exec "$@"' -- \
    "$KGCTL" agent --hostname "$node" --kubeconfig "$d/kubeconfig" --wireguard userspace \
    --private-key "$d/$node/key" --listen 127.0.0.1:1107 --cni=false \
    --resync-period 5s "$@" >> "$d/$node.log" 2>&1 &
  echo $! > "$d/$node.pid"; disown
}

# agent_start_host NODE DIR ARGS...: kgctl agent in NODE's namespaces as
# our DaemonSet runs it: only --hostname and --kubeconfig (plus ARGS), every
# path its default. The node's own directories stand in for the host's:
# DIR/NODE/var-lib-kilo at /var/lib/kilo (Kilo's key file, 0700) and
# DIR/NODE/cni at /etc/cni/net.d, each bound in a private mount namespace,
# with a private /var/run/wireguard. The two mount points are created empty
# on the machine if missing (nothing is written to them).
agent_start_host() {
  local node=$1 d=$2; shift 2
  mkdir -p "$d/$node/var-lib-kilo" "$d/$node/cni" /var/lib/kilo /etc/cni/net.d
  chmod 700 "$d/$node/var-lib-kilo"
  ip netns exec "$(ns "$node")" unshare -m --propagation private \
    sh -c 'mkdir -p /var/run/wireguard && mount -t tmpfs none /var/run/wireguard &&
      mount --bind "$0/var-lib-kilo" /var/lib/kilo && mount --bind "$0/cni" /etc/cni/net.d && exec "$@"' "$d/$node" \
    "$KGCTL" agent --hostname "$node" --kubeconfig "$d/kubeconfig" "$@" >> "$d/$node.log" 2>&1 &
  echo $! > "$d/$node.pid"; disown
}

agent_stop() {
  local pid; pid=$(cat "$2/$1.pid" 2>/dev/null) || return 0
  kill "${3:--TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# metric NODE NAME: sum of a metric's samples from the node's agent.
metric() {
  nsexec "$1" curl -s --max-time 2 http://127.0.0.1:1107/metrics | awk -v m="$2" '$1 ~ "^"m"({|$)" {s+=$2} END {print s+0}'
}

# reach FROM TO_ADDR SRC_ADDR: one ping from SRC_ADDR in FROM's namespace.
reach() { nsexec "$1" ping -c1 -W1 -I "$3" "$2" >/dev/null 2>&1; }

# converge NODES...: wait (up to LIMIT seconds, default 90) until every pod
# of NODES reaches every other (the script's POD array: node -> pod IP);
# prints the seconds it took, or logs which pairs fail.
converge() {
  local start=$SECONDS limit=${LIMIT:-90}
  while :; do
    local ok=1
    for x in "$@"; do for y in "$@"; do
      [ "$x" = "$y" ] && continue
      reach "$x" "${POD[$y]}" "${POD[$x]}" || { ok=0; break 2; }
    done; done
    if [ $ok = 1 ]; then echo $((SECONDS - start)); return 0; fi
    [ $((SECONDS - start)) -ge "$limit" ] && { matrix "$@"; return 1; }
    sleep 0.5
  done
}

# matrix NODES...: logs whether each pod of NODES reaches each other.
matrix() {
  local x y r
  for x in "$@"; do for y in "$@"; do
    [ "$x" = "$y" ] && continue
    if reach "$x" "${POD[$y]}" "${POD[$x]}"; then r=ok; else r=FAIL; fi
    log "  $x -> $y: $r"
  done; done
}

e2e_down() {
  local d=${1:-}
  if [ -n "$d" ]; then
    for f in "$d"/*.pid; do [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  fi
  for n in $(ip netns list | awk '{print $1}' | grep "^$E2E_PREFIX-" || true); do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  ip link del "$E2E_PREFIX-host" 2>/dev/null || true
}

# e2e_require NAME TOOL...: what every end-to-end script needs first. Skips
# the script (exit 0) unless root; builds or reuses the cached
# kube-apiserver (KAS) and links its kubectl where the machine has none;
# fails naming a missing TOOL.
e2e_require() {
  local name=$1 c
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "e2e${name:+ $name}: skipping: needs root for network namespaces (run as root, as CI does)"
    exit 0
  fi
  KAS=$("$REPO/hack/build-kube-apiserver.sh")
  export KAS
  command -v kubectl >/dev/null || ln -sf "$(dirname "$KAS")/kubectl-v1.34.4" /usr/local/bin/kubectl
  for c in "$@"; do
    command -v "$c" >/dev/null || die "missing $c (.ci/run installs it)"
  done
}

# e2e_workdir NAME [CLUSTER...]: a new work directory W with KGCTL, K
# (W/kubeconfig) and REPORT; each CLUSTER a subdirectory of W (default:
# W itself) whose agents' logs are shown on failure and which is torn down
# on exit; leftovers of an earlier run removed; kgctl built, or KGCTL_BIN
# copied (a binary built beforehand, outside flock on a shared machine).
e2e_workdir() {
  local name=$1 c
  shift
  W=$(mktemp -d "/tmp/kgctl-$name.XXXXXX")
  export W
  KGCTL=$W/kgctl K=$W/kubeconfig REPORT=$W/report.txt
  E2E_CLUSTERS=()
  for c in "$@"; do
    mkdir -p "$W/$c"
    E2E_CLUSTERS+=("$W/$c")
  done
  [ $# -gt 0 ] || E2E_CLUSTERS=("$W")
  trap e2e_exit EXIT
  e2e_down
  if [ -n "${KGCTL_BIN:-}" ]; then
    cp "$KGCTL_BIN" "$KGCTL"
  else
    log "building kgctl"
    (cd "$REPO" && CGO_ENABLED=0 go build -o "$KGCTL" ./cmd/kgctl)
  fi
}

# e2e_exit is e2e_workdir's EXIT trap: on failure the tail of every agent's
# log and the reason; always the teardown; the script's exit status kept.
e2e_exit() {
  local status=$? d f
  if [ $status -ne 0 ]; then
    for d in "${E2E_CLUSTERS[@]}"; do
      for f in "$d"/*.log; do echo "--- $f"; tail -25 "$f"; done >&2
    done
    log "FAIL: $(cat "$W/FAILED" 2>/dev/null || echo "exit status $status")"
  fi
  for d in "${E2E_CLUSTERS[@]}"; do e2e_down "$d" || true; done
  exit $status
}

# report appends a result line to REPORT and shows it.
report() { echo "$*" | tee -a "$REPORT" >&2; }
