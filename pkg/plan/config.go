package plan

import (
	"slices"
	"strings"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// peers compares two lists of WireGuard peers, matched by public key:
// WireGuard knows a peer by its key, so a location whose leader changes
// is one peer removed and another added.
func (c *prefixCache) peers(before, after []wireguard.Peer) []WireGuardPeerChange {
	if len(before) == len(after) {
		// The usual case: the same peers in the same order.
		aligned := true
		var out []WireGuardPeerChange
		for i := range before {
			b, a := &before[i], &after[i]
			if b.PublicKey != a.PublicKey {
				aligned = false
				break
			}
			if c.samePeer(b, a) {
				continue
			}
			if ch := peerChange(Update, b, a, c); !ch.empty() {
				out = append(out, ch)
			}
		}
		if aligned {
			sortPeerChanges(out)
			return out
		}
	}
	byKey := make(map[wireguard.Key]int, len(before))
	for i := range before {
		byKey[before[i].PublicKey] = i
	}
	seen := make([]bool, len(before))
	var out []WireGuardPeerChange
	for i := range after {
		a := &after[i]
		j, ok := byKey[a.PublicKey]
		if !ok {
			out = append(out, peerChange(Create, nil, a, c))
			continue
		}
		seen[j] = true
		if ch := peerChange(Update, &before[j], a, c); !ch.empty() {
			out = append(out, ch)
		}
	}
	for j := range before {
		if !seen[j] {
			out = append(out, peerChange(Delete, &before[j], nil, c))
		}
	}
	sortPeerChanges(out)
	return out
}

// samePeer reports whether two peers configure a device identically.
func (c *prefixCache) samePeer(a, b *wireguard.Peer) bool {
	return a.PublicKey == b.PublicKey && a.Endpoint == b.Endpoint &&
		a.PersistentKeepalive == b.PersistentKeepalive && pskChange(a.PresharedKey, b.PresharedKey) == "" &&
		c.same(a.AllowedIPs, b.AllowedIPs)
}

// peerChange describes one peer; before or after is nil for a created or
// deleted one.
func peerChange(action Action, before, after *wireguard.Peer, c *prefixCache) WireGuardPeerChange {
	var zero wireguard.Peer
	b, a := before, after
	if b == nil {
		b = &zero
	}
	if a == nil {
		a = &zero
	}
	ch := WireGuardPeerChange{Action: action, Name: a.Name, PublicKey: a.PublicKey.String()}
	if after == nil {
		ch.Name, ch.PublicKey = b.Name, b.PublicKey.String()
	}
	ch.Endpoint = changed(b.Endpoint.String(), a.Endpoint.String())
	ch.AllowedIPs = c.diff(b.AllowedIPs, a.AllowedIPs)
	ch.PersistentKeepalive = changed(seconds(b.PersistentKeepalive), seconds(a.PersistentKeepalive))
	ch.PresharedKey = pskChange(b.PresharedKey, a.PresharedKey)
	return ch
}

func (ch WireGuardPeerChange) empty() bool {
	return ch.Endpoint == nil && ch.AllowedIPs.Empty() && ch.PersistentKeepalive == nil && ch.PresharedKey == ""
}

// pskChange says how a preshared key changes without showing it.
func pskChange(before, after *wireguard.Key) string {
	switch {
	case before == nil && after == nil:
		return ""
	case before == nil:
		return "added"
	case after == nil:
		return "removed"
	case *before != *after:
		return "changed"
	}
	return ""
}

func seconds(d time.Duration) int { return int(d / time.Second) }

func sortPeerChanges(cs []WireGuardPeerChange) {
	slices.SortFunc(cs, func(a, b WireGuardPeerChange) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.PublicKey, b.PublicKey)
	})
}
