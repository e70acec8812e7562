# shellcheck shell=bash
# The control plane goes away, and clocks disagree: phases of the
# end-to-end test (sourced by run.sh, which provides ns/nsexec/log/die/
# report, converge, POD, KGCTL, W, K, agent_start/agent_stop, and
# AGENT_ARGS: the flags the phase's agents run with, e.g. a granularity).
#
# e2e_skew_and_outage NODES...: two agents restarted with clocks five
# minutes ahead and behind; then, with every pair of pods pinging, the API
# server is stopped for OUTAGE seconds (default 180) and started again;
# no ping may be lost, and the mesh must follow a change made afterwards.

# pings_start NODES...: one ping per ordered pair of pods, five a second,
# until pings_stop; replies are counted per pair.
pings_start() {
  rm -f "$W"/ping-*.txt "$W/pings.pids"
  local x y
  for x in "$@"; do for y in "$@"; do
    [ "$x" = "$y" ] && continue
    # Not through nsexec (a function: $! would be its subshell's pid).
    ip netns exec "$(ns "$x")" ping -i 0.2 -W 1 -I "${POD[$x]}" "${POD[$y]}" > "$W/ping-$x-$y.txt" 2>&1 &
    echo $! >> "$W/pings.pids"
  done; done
}

# pings_stop: stops the pings (SIGALRM: ping prints its summary; a
# background job of a script ignores SIGINT) and
# reports each pair's loss; fails if any pair lost a packet.
pings_stop() {
  local pid f lost=0
  while read -r pid; do kill -ALRM "$pid" 2>/dev/null || true; done < "$W/pings.pids"
  while read -r pid; do wait "$pid" 2>/dev/null || true; done < "$W/pings.pids"
  for f in "$W"/ping-*.txt; do
    # Lost = a hole in the replies' sequence, or replies ending early; the
    # one request in flight when ping is stopped is not a loss.
    local tx rx last
    tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$f")
    rx=$(grep -c 'bytes from' "$f" || true)
    last=$(grep -o 'icmp_seq=[0-9]*' "$f" | tail -1 | cut -d= -f2)
    if [ -z "$tx" ] || [ -z "$last" ] || [ "$rx" != "$last" ] || [ $((tx - last)) -gt 1 ]; then
      log "  $(basename "$f" .txt): ${rx:-?} replies, last icmp_seq ${last:-?}, ${tx:-?} sent"
      lost=1
    fi
  done
  return $lost
}

# kas_stop: stops kube-apiserver (etcd keeps running), remembering its
# command line for kas_start.
kas_stop() {
  local pid; pid=$(cat "$W/apiserver.pid")
  tr '\0' '\n' < "/proc/$pid/cmdline" > "$W/apiserver.cmdline"
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

kas_start() {
  local args=()
  mapfile -t args < "$W/apiserver.cmdline"
  nsexec api "${args[@]}" >> "$W/apiserver.log" 2>&1 &
  echo $! > "$W/apiserver.pid"; disown
  for _ in $(seq 120); do
    kubectl --kubeconfig "$K" get --raw /readyz >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "kube-apiserver did not come back within 60s"
}

# wg_peers NODE: the number of WireGuard peers NODE's agent has configured.
wg_peers() {
  nsenter -t "$(cat "$W/$1.pid")" -m -n wg show kilo0 peers 2>/dev/null | wc -l
}

e2e_skew_and_outage() {
  local nodes=("$@") outage=${OUTAGE:-180} n
  # Clocks: the second node's five minutes ahead, the third's behind. The
  # kernel clock is shared, so the agents' injected clocks are moved.
  log "clock skew: ${nodes[1]} +5m, ${nodes[2]} -5m"
  agent_stop "${nodes[1]}" "$W"; agent_start "${nodes[1]}" "$W" "${AGENT_ARGS[@]}" --debug-clock-offset=5m
  agent_stop "${nodes[2]}" "$W"; agent_start "${nodes[2]}" "$W" "${AGENT_ARGS[@]}" --debug-clock-offset=-5m
  LIMIT=120 converge "${nodes[@]}" >/dev/null || die "clock skew: the mesh did not converge"
  local before=()
  for n in "${nodes[@]}"; do before+=("$(wg_peers "$n")"); done
  pings_start "${nodes[@]}"
  sleep 75 # longer than the agents' staleness limit (1m)
  for i in "${!nodes[@]}"; do
    n=${nodes[$i]}
    [ "$(wg_peers "$n")" = "${before[$i]}" ] ||
      { pings_stop || true; die "clock skew: $n has $(wg_peers "$n") WireGuard peers, had ${before[$i]}"; }
  done
  report "clock skew: with clocks 5 minutes ahead and behind, no agent dropped a peer over 75 s"

  log "control-plane outage: stopping kube-apiserver for ${outage}s"
  local t0=$SECONDS
  kas_stop
  sleep "$outage"
  for i in "${!nodes[@]}"; do
    n=${nodes[$i]}
    [ "$(wg_peers "$n")" = "${before[$i]}" ] ||
      { pings_stop || true; die "outage: after ${outage}s without the API server, $n has $(wg_peers "$n") WireGuard peers, had ${before[$i]}"; }
  done
  kas_start
  local down=$((SECONDS - t0))
  sleep 5
  pings_stop || die "outage: pods lost packets while the API server was away"
  local sent; sent=$(cat "$W"/ping-*.txt | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' | awk '{s+=$1} END {print s}')
  report "outage: API server away ${down}s; $sent pings between every pair of ${#nodes[@]} nodes' pods, 0 lost; WireGuard peers unchanged"

  # The mesh follows a change made after the API server returns: within
  # client-go's reconnect backoff (its reflector waits up to 30 s, jittered
  # to 60 s, between attempts once an outage has lasted minutes).
  local target=${nodes[0]} start=$SECONDS
  kubectl --kubeconfig "$K" annotate node "$target" kilo.squat.ai/persistent-keepalive=7 --overwrite >/dev/null
  until nsenter -t "$(cat "$W/$target.pid")" -m -n wg show kilo0 persistent-keepalive 2>/dev/null | grep -w 7 >/dev/null; do
    [ $((SECONDS - start)) -ge 180 ] && die "after the outage, $target's agent did not apply persistent-keepalive=7 within 180s"
    sleep 0.5
  done
  report "after the outage: a change (persistent-keepalive on $target) applied $((SECONDS - start))s after it was made"
  kubectl --kubeconfig "$K" annotate node "$target" kilo.squat.ai/persistent-keepalive- >/dev/null
  for n in "${nodes[1]}" "${nodes[2]}"; do agent_stop "$n" "$W"; agent_start "$n" "$W" "${AGENT_ARGS[@]}"; done
  LIMIT=60 converge "${nodes[@]}" >/dev/null || die "after the outage phase, the mesh did not converge again"
}
