// Package peer prepares a new VPN peer for the mesh (Add): an address
// nobody else routes, the Peer resource the cluster gets (public key
// only), and the wg-quick configuration the new client gets (private key
// included), and draws that configuration as a terminal QR code (NewQR).
// It reads no cluster, file or flag and generates no key: the command
// passes the engine's input and the key in, and decides where each part
// goes.
package peer

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Claim is a prefix the mesh already routes somewhere, and to whom.
type Claim struct {
	Prefix netip.Prefix
	// Owner names it for error messages: `location "aws"`, `Peer "laptop"`.
	Owner string
}

// Claims lists every prefix the mesh holds, from the engine's own
// ownership (topology.Mesh.Claims: the WireGuard subnet and service
// CIDRs, each node's pod CIDRs, routed internal IP and endpoint, each
// location's allowed location IPs, each peer's allowed IPs), sorted by
// prefix: a new peer overlapping any of them would be refused or trimmed
// by the engine.
func Claims(m *topology.Mesh) []Claim {
	cs := m.Claims()
	out := make([]Claim, len(cs))
	// A node holds several prefixes: name each owner once.
	names := make(map[[2]string]string)
	for i, c := range cs {
		k := [2]string{c.Owner.Kind, c.Owner.Name}
		n, ok := names[k]
		if !ok {
			n = ownerName(m, c.Owner)
			names[k] = n
		}
		out[i] = Claim{c.Prefix, n}
	}
	return out
}

// ownerName names an owner the way peer add's messages do: nodes by
// the segment that routes their prefixes.
func ownerName(m *topology.Mesh, o topology.Owner) string {
	switch o.Kind {
	case "Node":
		if s, _, ok := m.SegmentOf(o.Name); ok {
			return fmt.Sprintf("segment %q", s.Name)
		}
	case "Location":
		return fmt.Sprintf("segment %q", o.Name)
	case "Peer":
		return fmt.Sprintf("Peer %q", o.Name)
	}
	return o.String()
}

// Conflict returns the first claim overlapping p.
func Conflict(p netip.Prefix, claims []Claim) (Claim, bool) {
	for _, c := range claims {
		if c.Prefix.Overlaps(p) {
			return c, true
		}
	}
	return Claim{}, false
}

// ErrPoolExhausted means every address of the pool is taken.
var ErrPoolExhausted = errors.New("no free address left")

// FreeAddress returns the lowest host address of pool that no claim
// covers, as a single-address prefix (/32 or /128). The network address
// (and, for IPv4 pools larger than /31, the broadcast address) is never
// handed out. Costs O(n log n) in the number of claims, not the pool size.
func FreeAddress(pool netip.Prefix, claims []Claim) (netip.Prefix, error) {
	pool = pool.Masked()
	first, last := pool.Addr(), lastAddr(pool)
	if pool.Addr().Is4() && pool.Bits() < 31 || pool.Addr().Is6() && pool.Bits() < 127 {
		first = first.Next()
		if pool.Addr().Is4() {
			last = last.Prev()
		}
	}
	var in []netip.Prefix
	for _, c := range claims {
		if c.Prefix.Overlaps(pool) {
			in = append(in, c.Prefix.Masked())
		}
	}
	slices.SortFunc(in, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), a.Bits()-b.Bits())
	})
	cand := first
	for _, p := range in {
		if p.Addr().Compare(cand) > 0 {
			break // sorted by start: nothing later can cover cand
		}
		if p.Contains(cand) {
			cand = lastAddr(p).Next()
			if !cand.IsValid() || cand.Compare(last) > 0 {
				break
			}
		}
	}
	if !cand.IsValid() || cand.Compare(last) > 0 || !pool.Contains(cand) {
		return netip.Prefix{}, fmt.Errorf("%w in %s", ErrPoolExhausted, pool)
	}
	return netip.PrefixFrom(cand, cand.BitLen()), nil
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Request describes the peer to add.
type Request struct {
	Name string
	// AllowedIPs are what the mesh routes to the peer.
	AllowedIPs []netip.Prefix
	// Address is the client's interface address in the wg-quick file;
	// empty means the single-address prefixes of AllowedIPs.
	Address      []netip.Prefix
	PrivateKey   wireguard.Key
	PresharedKey *wireguard.Key
	// Keepalive is sent by the client to keep its NAT mapping open, and
	// published so the nodes keep it too.
	Keepalive time.Duration
	// Endpoint is where the nodes reach the peer, for peers that listen
	// (a site gateway); roaming clients have none.
	Endpoint wireguard.Endpoint
	DNS      []string
	MTU      int
	// ServiceCIDRs are routed to the first segment, so the client reaches
	// Services too (any node's kube-proxy serves them).
	ServiceCIDRs []netip.Prefix
}

// Peer is the request as the engine's peer.
func (r Request) Peer() wireguard.Peer {
	return wireguard.Peer{
		Name:                r.Name,
		PublicKey:           r.PrivateKey.PublicKey(),
		PresharedKey:        r.PresharedKey,
		Endpoint:            r.Endpoint,
		AllowedIPs:          r.AllowedIPs,
		PersistentKeepalive: r.Keepalive,
	}
}

// Resource is the Peer object for the cluster. It never holds the
// private key.
func (r Request) Resource() *v1alpha1.Peer {
	return translate.PeerResource(r.Name, r.Peer())
}

// InterfaceAddress is what the wg-quick file's Address line gets.
func (r Request) InterfaceAddress() []netip.Prefix {
	if len(r.Address) > 0 {
		return r.Address
	}
	var out []netip.Prefix
	for _, p := range r.AllowedIPs {
		if p.IsSingleIP() {
			out = append(out, p)
		}
	}
	return out
}

// ClientConfig is the wg-quick configuration of the new client, from a
// mesh that already includes the peer (built with Resource added). It
// fails when the mesh refused the peer.
func ClientConfig(m *topology.Mesh, r Request) (wireguard.Config, error) {
	c, ok := m.PeerConfig(r.Name)
	if !ok {
		for _, p := range m.Problems {
			if p.Kind == "Peer" && p.Name == r.Name && p.Severity == topology.Error {
				return c, fmt.Errorf("the mesh refuses Peer %q: %s", r.Name, p.Message)
			}
		}
		return c, fmt.Errorf("the mesh refuses Peer %q", r.Name)
	}
	k := r.PrivateKey
	c.Interface.PrivateKey = &k
	c.Interface.Address = r.InterfaceAddress()
	c.Interface.DNS = r.DNS
	c.Interface.MTU = r.MTU
	// A peer the nodes reach (a site gateway) must listen where its
	// Peer's endpoint says, not on a random port.
	if r.Endpoint.Port != 0 {
		c.Interface.ListenPort = int(r.Endpoint.Port)
	}
	if len(r.ServiceCIDRs) > 0 && len(m.Segments) > 0 {
		p := &c.Peers[0]
		p.AllowedIPs = append(append([]netip.Prefix(nil), p.AllowedIPs...), r.ServiceCIDRs...)
	}
	return c, nil
}
