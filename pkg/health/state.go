package health

import (
	"net/netip"
	"time"
)

// RejectAfter is WireGuard's REJECT_AFTER_TIME: a session older than this
// carries no traffic, so a handshake within it means the tunnel is live.
const RejectAfter = 180 * time.Second

// State is a tunnel's state as its agent sees it.
type State string

const (
	// Up: a handshake within RejectAfter, or bytes received since the
	// previous sample.
	Up State = "up"
	// Down: a handshake once, but none within RejectAfter and no bytes
	// received since the previous sample.
	Down State = "down"
	// Never: no handshake ever (a wrong key, a blocked port, a peer not
	// yet started).
	Never State = "never"
)

// Sample is one WireGuard peer as the device reports it.
type Sample struct {
	PublicKey     string
	LastHandshake time.Time // zero: never
	RxBytes       int64
	TxBytes       int64
	Endpoint      netip.AddrPort
}

// Hold is how many consecutive samples a new state must hold before it
// is reported: one sample lost to a slow handshake does not flap the
// status.
const Hold = 2

// Tracker keeps each peer's state across samples. The zero value is
// ready; it is not safe for concurrent use.
type Tracker struct {
	peers map[string]*track
}

type track struct {
	rx int64
	// lastRx is when rx last grew, or when the peer was first seen.
	lastRx time.Time
	// grew says rx grew at least once since the peer was first seen.
	grew      bool
	candidate State
	held      int
	reported  State // "" until a state has held for Hold samples
}

// Observe takes one sample of every peer of the device at now and
// returns the reported state of each peer, keyed by public key. A peer
// whose state has not yet held for Hold samples is left out; a peer
// missing from samples is forgotten. Every peer is classified by its
// handshake (see Up).
func (t *Tracker) Observe(now time.Time, samples []Sample) map[string]State {
	return t.ObserveProbed(now, samples, nil, 0)
}

// ObserveProbed is Observe where the peers in probed receive traffic
// at least every few seconds when their tunnel works (the agent probes
// them): such a peer is up while it received bytes within timeout and
// down after timeout without any, however fresh its handshake (a
// handshake stays "fresh" for 180 s after the path died). The other
// peers (VPN clients, say) keep the handshake rule.
func (t *Tracker) ObserveProbed(now time.Time, samples []Sample, probed map[string]bool, timeout time.Duration) map[string]State {
	if t.peers == nil {
		t.peers = map[string]*track{}
	}
	seen := make(map[string]bool, len(samples))
	out := make(map[string]State, len(samples))
	for _, s := range samples {
		seen[s.PublicKey] = true
		tr, old := t.peers[s.PublicKey]
		if !old {
			tr = &track{rx: s.RxBytes, lastRx: now}
			t.peers[s.PublicKey] = tr
		}
		received := old && s.RxBytes > tr.rx
		if received {
			tr.lastRx, tr.grew = now, true
		}
		var st State
		if probed[s.PublicKey] && timeout > 0 {
			st = classifyProbed(now, s, tr.lastRx, timeout)
		} else {
			st = classify(now, s, received)
		}
		tr.rx = s.RxBytes
		if st == tr.candidate {
			tr.held++
		} else {
			tr.candidate, tr.held = st, 1
		}
		if tr.held >= Hold {
			tr.reported = st
		}
		if tr.reported != "" {
			out[s.PublicKey] = tr.reported
		}
	}
	for k := range t.peers {
		if !seen[k] {
			delete(t.peers, k)
		}
	}
	return out
}

// LastReceived is when the peer's received bytes last grew, or when it
// was first seen if they never did (grew false); ok is false for a peer
// not tracked.
func (t *Tracker) LastReceived(key string) (at time.Time, grew, ok bool) {
	tr, ok := t.peers[key]
	if !ok {
		return time.Time{}, false, false
	}
	return tr.lastRx, tr.grew, true
}

// classifyProbed is one sample's state of a probed peer, before
// hysteresis: bytes within timeout decide, not the handshake.
func classifyProbed(now time.Time, s Sample, lastRx time.Time, timeout time.Duration) State {
	switch {
	case s.LastHandshake.IsZero():
		return Never
	case now.Sub(lastRx) < timeout:
		return Up
	default:
		return Down
	}
}

// classify is one sample's state, before hysteresis.
func classify(now time.Time, s Sample, received bool) State {
	switch {
	case s.LastHandshake.IsZero():
		return Never
	case received || now.Sub(s.LastHandshake) <= RejectAfter:
		return Up
	default:
		return Down
	}
}
