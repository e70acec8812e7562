package plan

import (
	"fmt"
	"slices"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// peers compares the accepted Peers and the configuration each gets.
func peers(b, a *topology.Mesh, after topology.Problems) []PeerChange {
	var names []string
	for _, p := range b.Peers {
		names = append(names, p.Name)
	}
	for _, p := range a.Peers {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	c := newPrefixCache()
	var out []PeerChange
	for _, name := range names {
		bp, inB := b.Peer(name)
		ap, inA := a.Peer(name)
		ch := PeerChange{Name: name}
		switch {
		case !inB:
			ch.Action = Create
			spec(&ch, &topology.Peer{}, ap, c)
			ch.ConfigChanged = true
			ch.Reason = fmt.Sprintf("joins the mesh: give its owner its configuration (showconf peer %s)", name)
		case !inA:
			ch.Action = Delete
			spec(&ch, bp, &topology.Peer{}, c)
			ch.Reason = "leaves the mesh: " + leftOut(after, "Peer", name, "no longer in the cluster")
		default:
			spec(&ch, bp, ap, c)
			bc, _ := b.PeerConfig(name)
			ac, _ := a.PeerConfig(name)
			ch.Config = c.peers(bc.Peers, ac.Peers)
			ch.ConfigChanged = len(ch.Config) > 0 || !c.same(bc.Interface.Address, ac.Interface.Address)
			specChanged := ch.PublicKey != nil || ch.Endpoint != nil || !ch.AllowedIPs.Empty() ||
				ch.PersistentKeepalive != nil || ch.PresharedKey != ""
			if !specChanged && !ch.ConfigChanged {
				continue
			}
			ch.Action = Update
			ch.Reason = peerUpdateReason(name, specChanged, ch.ConfigChanged)
		}
		out = append(out, ch)
	}
	return out
}

// spec fills the differences of the accepted spec.
func spec(ch *PeerChange, b, a *topology.Peer, c *prefixCache) {
	ch.PublicKey = changed(keyString(b.PublicKey), keyString(a.PublicKey))
	ch.Endpoint = changed(b.Endpoint.String(), a.Endpoint.String())
	ch.AllowedIPs = c.diff(b.AllowedIPs, a.AllowedIPs)
	ch.PersistentKeepalive = changed(seconds(b.PersistentKeepalive), seconds(a.PersistentKeepalive))
	ch.PresharedKey = pskChange(b.PresharedKey, a.PresharedKey)
}

func keyString(k wireguard.Key) string {
	if k == (wireguard.Key{}) {
		return ""
	}
	return k.String()
}

func peerUpdateReason(name string, spec, config bool) string {
	install := fmt.Sprintf("its owner must install the new configuration (showconf peer %s)", name)
	switch {
	case spec && config:
		return "its spec changes; " + install
	case spec:
		return "its spec changes; the configuration its owner installs stays the same"
	}
	return "the mesh it connects to changes; " + install
}
