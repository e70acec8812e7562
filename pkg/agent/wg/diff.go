package wg

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// maxKeepalive is the largest persistent keepalive WireGuard accepts (a
// 16-bit number of seconds).
const maxKeepalive = 65535 * time.Second

// Result counts what one Apply changed. It holds no keys, so it is safe to
// log and to export as metrics.
type Result struct {
	PeersAdded   int
	PeersRemoved int
	PeersUpdated int
	// InterfaceChanged reports a new private key or listen port.
	InterfaceChanged bool
	// Writes is the number of configuration writes made to the device:
	// 0 when the device already matched.
	Writes int
}

// Changed reports whether there was anything to write.
func (r Result) Changed() bool {
	return r.InterfaceChanged || r.PeersAdded+r.PeersRemoved+r.PeersUpdated > 0
}

// String summarises r for a log line.
func (r Result) String() string {
	var b strings.Builder
	if r.InterfaceChanged {
		b.WriteString("interface changed, ")
	}
	b.WriteString(strconv.Itoa(r.PeersAdded) + " peers added, ")
	b.WriteString(strconv.Itoa(r.PeersRemoved) + " removed, ")
	b.WriteString(strconv.Itoa(r.PeersUpdated) + " updated, ")
	b.WriteString(strconv.Itoa(r.Writes) + " writes")
	return b.String()
}

// Diff returns the smallest wgtypes.Config that turns the device state
// current into desired, and counts it. It is pure: no I/O, no clock.
//
// The returned config never replaces all peers: stale peers are removed one
// by one, changed peers are updated in place (UpdateOnly), and a peer's
// allowed IPs are replaced only when they differ as a set. The private key
// and listen port are written only when they differ; a nil private key or a
// zero listen port in desired leaves the device's own.
//
// Endpoints: a peer whose desired endpoint is empty keeps whatever endpoint
// the device has (one learned from the peer's own packets, for a peer behind
// NAT). A DNS endpoint takes its address from resolved (keyed by host name);
// a host missing there counts as empty, so the current endpoint stays.
//
// desired must not list a public key twice (Validate checks that). Removals
// come first in the result, sorted by public key; then additions and updates
// in desired's order. A current of nil is an empty device. The config holds
// the private key when it changes: do not log it.
func Diff(current *wgtypes.Device, desired wireguard.Config, resolved map[string]netip.Addr) (wgtypes.Config, Result) {
	if current == nil {
		current = &wgtypes.Device{}
	}
	var (
		cfg wgtypes.Config
		res Result
	)
	if k := desired.Interface.PrivateKey; k != nil {
		want := clampPrivateKey(*k)
		if want != current.PrivateKey {
			cfg.PrivateKey = &want
			res.InterfaceChanged = true
		}
	}
	if p := desired.Interface.ListenPort; p != 0 && p != current.ListenPort {
		cfg.ListenPort = &p
		res.InterfaceChanged = true
	}

	index := make(map[wgtypes.Key]int, len(current.Peers))
	for i := range current.Peers {
		index[current.Peers[i].PublicKey] = i
	}
	seen := make([]bool, len(current.Peers))
	var (
		changes []wgtypes.PeerConfig
		s       scratch
	)
	for _, want := range desired.Peers {
		ep := desiredEndpoint(want.Endpoint, resolved)
		i, ok := index[want.PublicKey]
		if !ok {
			changes = append(changes, s.newPeer(want, ep))
			res.PeersAdded++
			continue
		}
		if seen[i] {
			continue // a repeated public key: the first one wins
		}
		seen[i] = true
		if pc, changed := s.updatePeer(&current.Peers[i], want, ep); changed {
			changes = append(changes, pc)
			res.PeersUpdated++
		}
	}
	var removals []wgtypes.PeerConfig
	for i := range current.Peers {
		if !seen[i] {
			removals = append(removals, wgtypes.PeerConfig{PublicKey: current.Peers[i].PublicKey, Remove: true})
		}
	}
	slices.SortFunc(removals, func(a, b wgtypes.PeerConfig) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
	res.PeersRemoved = len(removals)
	if len(removals)+len(changes) > 0 {
		cfg.Peers = append(removals, changes...)
	}
	return cfg, res
}

// scratch holds buffers reused across peers so that comparing a peer that
// did not change allocates nothing.
type scratch struct {
	want, have []netip.Prefix
}

// newPeer is the config that adds want to a device.
func (s *scratch) newPeer(want wireguard.Peer, ep netip.AddrPort) wgtypes.PeerConfig {
	pc := wgtypes.PeerConfig{
		PublicKey: want.PublicKey,
		// Replacing is a no-op on a new peer, and exact if the peer
		// appeared after the device was read.
		ReplaceAllowedIPs: true,
		AllowedIPs:        ipNets(s.desiredPrefixes(want.AllowedIPs)),
	}
	if psk := presharedKey(want.PresharedKey); psk != (wgtypes.Key{}) {
		pc.PresharedKey = &psk
	}
	if ep.IsValid() {
		pc.Endpoint = net.UDPAddrFromAddrPort(ep)
	}
	if ka := keepalive(want.PersistentKeepalive); ka != 0 {
		pc.PersistentKeepaliveInterval = &ka
	}
	return pc
}

// updatePeer is the config that turns cur into want, and whether there is
// anything in it.
func (s *scratch) updatePeer(cur *wgtypes.Peer, want wireguard.Peer, ep netip.AddrPort) (wgtypes.PeerConfig, bool) {
	pc := wgtypes.PeerConfig{PublicKey: want.PublicKey, UpdateOnly: true}
	changed := false
	// Values whose address is taken are copied inside the branch: taking
	// the address of the compared value would allocate for every peer.
	if psk := presharedKey(want.PresharedKey); psk != cur.PresharedKey {
		v := psk
		pc.PresharedKey = &v
		changed = true
	}
	if ep.IsValid() && ep != currentEndpoint(cur.Endpoint) {
		pc.Endpoint = net.UDPAddrFromAddrPort(ep)
		changed = true
	}
	if ka := keepalive(want.PersistentKeepalive); ka != cur.PersistentKeepaliveInterval {
		v := ka
		pc.PersistentKeepaliveInterval = &v
		changed = true
	}
	wantIPs := s.desiredPrefixes(want.AllowedIPs)
	if !slices.Equal(wantIPs, s.currentPrefixes(cur.AllowedIPs)) {
		pc.ReplaceAllowedIPs = true
		pc.AllowedIPs = ipNets(wantIPs)
		changed = true
	}
	return pc, changed
}

// desiredPrefixes returns ps masked, sorted and without repeats, in s.want.
func (s *scratch) desiredPrefixes(ps []netip.Prefix) []netip.Prefix {
	s.want = s.want[:0]
	for _, p := range ps {
		if p.IsValid() {
			s.want = append(s.want, p.Masked())
		}
	}
	s.want = sortPrefixes(s.want)
	return s.want
}

// currentPrefixes returns a device's allowed IPs masked, sorted and without
// repeats, in s.have.
func (s *scratch) currentPrefixes(ns []net.IPNet) []netip.Prefix {
	s.have = s.have[:0]
	for _, n := range ns {
		if p, ok := prefixFromIPNet(n); ok {
			s.have = append(s.have, p)
		}
	}
	s.have = sortPrefixes(s.have)
	return s.have
}

func sortPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	})
	return slices.Compact(ps)
}

// prefixFromIPNet converts a net.IPNet as wgctrl reports it (4- or 16-byte
// address, 4- or 16-byte mask) to a masked netip.Prefix.
func prefixFromIPNet(n net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	switch {
	case bits == 32:
		addr = addr.Unmap()
		if !addr.Is4() {
			return netip.Prefix{}, false
		}
	case bits == 128 && addr.Is4():
		return netip.Prefix{}, false
	case bits != 128:
		return netip.Prefix{}, false // a non-canonical mask
	}
	return netip.PrefixFrom(addr, ones).Masked(), true
}

func ipNets(ps []netip.Prefix) []net.IPNet {
	if len(ps) == 0 {
		return nil
	}
	out := make([]net.IPNet, len(ps))
	for i, p := range ps {
		out[i] = net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	}
	return out
}

// desiredEndpoint is e as an address and port, or the zero AddrPort when it
// is empty or its host name was not resolved.
func desiredEndpoint(e wireguard.Endpoint, resolved map[string]netip.Addr) netip.AddrPort {
	addr := e.Addr
	if e.DNS != "" {
		addr = resolved[e.DNS]
	}
	if !addr.IsValid() || e.Port == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr.Unmap().WithZone(""), e.Port)
}

func currentEndpoint(u *net.UDPAddr) netip.AddrPort {
	if u == nil {
		return netip.AddrPort{}
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// presharedKey is k as a device stores it: all zeros for none.
func presharedKey(k *wgtypes.Key) wgtypes.Key {
	if k == nil {
		return wgtypes.Key{}
	}
	return *k
}

// keepalive is d as a device stores it: whole seconds, 0 for off.
func keepalive(d time.Duration) time.Duration {
	return min(max(d.Truncate(time.Second), 0), maxKeepalive)
}

// clampPrivateKey is k as a device stores it (RFC 7748 clamping), so that a
// key that was not clamped does not look changed on every resync. The zero
// key (no key) stays zero.
func clampPrivateKey(k wgtypes.Key) wgtypes.Key {
	if k == (wgtypes.Key{}) {
		return k
	}
	k[0] &= 248
	k[31] = k[31]&127 | 64
	return k
}
