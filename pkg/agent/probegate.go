package agent

import (
	"net/netip"
	"time"
)

// Probes to a leader that does not answer are held back (probeGate).
//
// WireGuard sends nothing to a peer without a session: it keeps the
// packet (wireguard-go up to 128 per peer, each in a 64 KiB buffer,
// whatever its size) and starts a handshake, and drops what it kept only
// after 90 s of failed handshakes, counted from the last packet it was
// given. A probe every 2 s to a leader that never answers thus kept 8 MiB
// per such leader for good: 392 MiB in an agent with 49 of them (the
// 10,000-node liveness benchmark, whose simulated leaders have no
// WireGuard; in a cluster, a location whose leader is unreachable). The
// gate probes such a leader once every probeRetry instead, so WireGuard
// gives up and drops it in between; one packet is enough to start a
// handshake.
const (
	// probeSession: a peer that received within this long may have a
	// session, and is probed every tick (the probes are what failover
	// reads). WireGuard rejects a session 180 s after its handshake.
	probeSession = 3 * time.Minute
	// probeRetry is how often a silent leader is probed: more than the
	// 90 s after which WireGuard drops what it kept for a peer.
	probeRetry = 2 * time.Minute
)

// probeTarget is another segment's leader: its WireGuard IP and its
// public key (base64, as the device's samples name it).
type probeTarget struct {
	Addr netip.Addr
	Key  string
}

// probeGate remembers, per leader's key, when it was first and last
// probed.
type probeGate struct {
	first, sent map[string]time.Time
}

// due returns the addresses to probe at now: every leader that received
// within probeSession (lastRx: the device's health tracker; grew false
// when it never did), every leader during the first timeout after the
// gate first saw it (a new tunnel's handshake), and a silent leader when
// it was last probed probeRetry ago or more. Leaders no longer targeted
// are forgotten.
func (g *probeGate) due(targets []probeTarget, now time.Time, timeout time.Duration, lastRx func(key string) (at time.Time, grew, ok bool)) []netip.Addr {
	if g.first == nil {
		g.first, g.sent = map[string]time.Time{}, map[string]time.Time{}
	}
	out := make([]netip.Addr, 0, len(targets))
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t.Key] = true
		first, seen := g.first[t.Key]
		if !seen {
			first = now
			g.first[t.Key] = now
		}
		at, grew, ok := lastRx(t.Key)
		answering := ok && grew && now.Sub(at) < probeSession
		if answering || now.Sub(first) < timeout || now.Sub(g.sent[t.Key]) >= probeRetry {
			out = append(out, t.Addr)
			g.sent[t.Key] = now
		}
	}
	for k := range g.first {
		if !keep[k] {
			delete(g.first, k)
			delete(g.sent, k)
		}
	}
	return out
}
