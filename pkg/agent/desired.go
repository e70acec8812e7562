package agent

import (
	"net/netip"
	"slices"

	"github.com/kgctl/kgctl/pkg/agent/iptables"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// HostConfig names the host's parts the mesh's symbolic routes map to.
type HostConfig struct {
	// Interface is the WireGuard interface (kilo0).
	Interface string
	// PrivateInterface carries the node's internal IP.
	PrivateInterface string
	// Tunnel is the IPIP interface used when encapsulating.
	Tunnel string
	// MeshTable and EncapTable are the routing tables for the mesh's
	// routes and for encapsulation; EncapPriority orders the
	// encapsulation rules before the mesh table's own rule.
	MeshTable, EncapTable int
	EncapPriority         int
	// FirewallMark is set on WireGuard's own packets; a rule at
	// MarkPriority (0: just ahead of the encapsulation and mesh rules)
	// sends packets carrying it to the main table, so the device's
	// transport never takes the mesh's routes, whatever its peers'
	// endpoints. 0 sets no mark and no rule.
	FirewallMark      uint32
	MarkPriority      int
	CNI, ForwardRules bool
	// Compatibility is the cluster network the mesh runs on (add-on mode,
	// see addon.go).
	Compatibility Compatibility
}

// Capabilities are what the host reports it can do now.
type Capabilities struct {
	// Encapsulation: the IPIP tunnel is ready. Without it, routes that
	// would be encapsulated go over the private network as they are.
	Encapsulation bool
}

// State is everything the host must hold for one node.
type State struct {
	WireGuard wireguard.Config
	Routes    route.State
	IPTables  iptables.RuleSet
	// Tunnel is the IPIP interface the routes use, "" when none.
	Tunnel string
	// FirewallMark is the WireGuard device's mark (0 for none).
	FirewallMark uint32
}

// Desired computes the host state for a node's view. It is pure: the same
// view gives the same state, so a resync with nothing changed applies
// nothing.
func Desired(m *topology.Mesh, v topology.NodeView, key wireguard.Key, hc HostConfig) State {
	s := State{WireGuard: v.WireGuard, FirewallMark: hc.FirewallMark}
	s.WireGuard.Interface.PrivateKey = &key
	s.WireGuard.Interface.Address = nil

	devices := map[topology.Device]string{
		topology.DeviceWireGuard: hc.Interface,
		topology.DevicePrivate:   hc.PrivateInterface,
		topology.DeviceTunnel:    hc.Tunnel,
	}
	tables := map[topology.Table]int{topology.TableMesh: hc.MeshTable, topology.TableEncap: hc.EncapTable}
	for _, r := range topology.FlatRoutes(v.Routes) {
		if r.Device == topology.DeviceTunnel {
			s.Tunnel = hc.Tunnel
		}
		s.Routes.Routes = append(s.Routes.Routes, route.Route{
			Dst: r.Dst, Gw: r.Gw, Dev: devices[r.Device], OnLink: r.OnLink, Table: tables[r.Table],
		})
	}
	if hc.FirewallMark != 0 {
		prio := hc.MarkPriority
		if prio == 0 {
			prio = route.DefaultRulePriority - 2 // ahead of encapsulation's and the mesh's
		}
		s.Routes.Rules = append(s.Routes.Rules, route.Rule{Mark: hc.FirewallMark, Table: route.MainTable, Priority: prio})
	}
	for _, r := range v.Rules {
		rr := route.Rule{Src: r.Src, Dst: r.Dst, Table: tables[r.Table], Priority: hc.EncapPriority}
		if r.FromWireGuard {
			rr.IifName = hc.Interface
		}
		s.Routes.Rules = append(s.Routes.Rules, rr)
	}
	var addrs []netip.Prefix
	if v.WireGuardIP.IsValid() {
		addrs = []netip.Prefix{v.WireGuardIP}
	}
	s.Routes.Addresses = map[string][]netip.Prefix{hc.Interface: addrs}
	s.Routes.Up = []string{hc.Interface}
	if s.Tunnel != "" {
		s.Routes.Up = append(s.Routes.Up, s.Tunnel)
	}
	s.IPTables = iptables.MeshRules(natInput(m, v, hc))
	return s
}

// On returns s as a host with caps can hold it. Without encapsulation it
// is the state --encapsulate=never gives: what would go through the
// tunnel goes over the private network as it is, and the tunnel's own
// routes and rules are left out.
func (s State) On(hc HostConfig, caps Capabilities) State {
	if caps.Encapsulation || s.Tunnel == "" {
		return s
	}
	out := s
	out.Tunnel = ""
	out.Routes.Routes = make([]route.Route, 0, len(s.Routes.Routes))
	for _, r := range s.Routes.Routes {
		if r.Dev == s.Tunnel {
			if r.Table == hc.EncapTable {
				continue
			}
			r.Dev = hc.PrivateInterface
		}
		out.Routes.Routes = append(out.Routes.Routes, r)
	}
	out.Routes.Rules = make([]route.Rule, 0, len(s.Routes.Rules))
	for _, r := range s.Routes.Rules {
		if r.Table != hc.EncapTable {
			out.Routes.Rules = append(out.Routes.Rules, r)
		}
	}
	out.Routes.Up = slices.DeleteFunc(slices.Clone(s.Routes.Up), func(l string) bool { return l == s.Tunnel })
	return out
}

func natInput(m *topology.Mesh, v topology.NodeView, hc HostConfig) iptables.MeshInput {
	self, _ := m.Node(v.Name)
	in := iptables.MeshInput{
		PodCIDRs:           self.PodCIDRs,
		AllowedLocationIPs: v.Segment.AllowedLocationIPs,
		ServiceCIDRs:       m.Settings.ServiceCIDRs,
		Leader:             v.Leader,
		CNI:                hc.CNI,
		ForwardRules:       hc.ForwardRules,
	}
	for _, n := range v.Segment.Nodes {
		in.LocalSegmentPodCIDRs = append(in.LocalSegmentPodCIDRs, n.PodCIDRs...)
		if n.InternalIP.IsValid() {
			in.LocalSegmentPrivateIPs = append(in.LocalSegmentPrivateIPs, n.InternalIP)
		}
	}
	for i := range m.Segments {
		in.KnownCIDRs = append(in.KnownCIDRs, m.Segments[i].AllowedIPs...)
	}
	for _, p := range m.Peers {
		in.PeerAllowedIPs = append(in.PeerAllowedIPs, p.AllowedIPs...)
	}
	return in
}
