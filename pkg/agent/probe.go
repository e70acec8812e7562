package agent

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
)

// ProbePort is where probes are sent: the discard port. Nothing needs to
// listen there: the receiving WireGuard device counts the datagram's
// bytes when it decrypts it, which is all a probe is for (a closed port
// answers with an ICMP error through the same tunnel, which counts too).
const ProbePort = 9

// ProbeOptions drive the probes. Interval, when positive, makes a leader
// probe every other segment's leader and sample its device that often; a
// leader whose probes show a dead data path for Timeout (default five
// intervals) gives up leading (failover.go). Zero: the device is sampled
// once per reconcile, and there is no failover.
type ProbeOptions struct {
	Interval, Timeout time.Duration
	// Prober sends the probes; Run opens a UDPProber when it is nil.
	Prober Prober
}

// Prober sends one small datagram to each address, through the mesh's
// routes (so through WireGuard for another segment's WireGuard IP).
type Prober interface {
	Probe(targets []netip.Addr) error
}

// UDPProber probes from one unconnected UDP socket (which never hears
// the ICMP errors probes may cause).
type UDPProber struct{ conn *net.UDPConn }

// NewUDPProber opens the socket.
func NewUDPProber() (*UDPProber, error) {
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, err
	}
	return &UDPProber{conn: c}, nil
}

var probePayload = []byte("kgctl-probe")

// Probe sends one datagram to each target; it returns the errors (a
// route missing, say) joined, after trying every target.
func (p *UDPProber) Probe(targets []netip.Addr) error {
	var errs []error
	for _, t := range targets {
		if _, err := p.conn.WriteToUDPAddrPort(probePayload, netip.AddrPortFrom(t, ProbePort)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close closes the socket.
func (p *UDPProber) Close() error { return p.conn.Close() }

// probeTargets are the WireGuard IPs of every other segment's leader
// with their public keys, and the set of those keys (base64), when
// view's node leads its segment; nothing otherwise (a follower has no
// tunnel to probe).
func probeTargets(m *topology.Mesh, view topology.NodeView) ([]probeTarget, map[string]bool) {
	if m == nil || !view.Leader {
		return nil, nil
	}
	var targets []probeTarget
	keys := make(map[string]bool, len(m.Segments))
	for i := range m.Segments {
		seg := &m.Segments[i]
		if seg == view.Segment || !seg.WireGuardIP.IsValid() {
			continue
		}
		k := seg.LeaderNode().Key.String()
		targets = append(targets, probeTarget{Addr: seg.WireGuardIP, Key: k})
		keys[k] = true
	}
	return targets, keys
}
