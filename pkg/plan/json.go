package plan

import (
	"bufio"
	"encoding/json"
	"io"
	"net/netip"

	"github.com/kgctl/kgctl/pkg/topology"
)

// FormatVersion is the version of the JSON format. It changes in its
// major number when a field is removed or changes meaning; new fields may
// appear within a version. docs/plan-json.md documents it.
const FormatVersion = "1"

// The JSON shapes are declared here, apart from the Go types, so the
// format stays as documented when the Go types evolve.
// The document is {format_version, changes, warnings, summary}, written
// by WriteJSON field by field.
type jsonChange struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	Reason string `json:"reason"`

	// kind "setting"
	Value *Change[string] `json:"value,omitempty"`

	// kinds "node" and "location"
	Segment     *Change[string] `json:"segment,omitempty"`
	Location    *Change[string] `json:"location,omitempty"`
	IsLeader    *Change[bool]   `json:"is_leader,omitempty"`
	Leader      *Change[string] `json:"leader,omitempty"`
	WireGuardIP *Change[string] `json:"wireguard_ip,omitempty"`
	ListenPort  *Change[int]    `json:"listen_port,omitempty"`

	// kinds "location" and "peer"
	PublicKey     *Change[string]         `json:"public_key,omitempty"`
	Endpoint      *Change[string]         `json:"endpoint,omitempty"`
	AllowedIPs    *jsonDiff[netip.Prefix] `json:"allowed_ips,omitempty"`
	AllowedLocIPs *jsonDiff[netip.Prefix] `json:"allowed_location_ips,omitempty"`
	Keepalive     *Change[int]            `json:"persistent_keepalive,omitempty"`
	PresharedKey  string                  `json:"preshared_key,omitempty"`
	Nodes         *jsonDiff[string]       `json:"nodes,omitempty"`
	SplitInto     []string                `json:"split_into,omitempty"`
	MergedFrom    []string                `json:"merged_from,omitempty"`

	// kind "node"
	WireGuardPeers []jsonWireGuardPeer  `json:"wireguard_peers,omitempty"`
	Routes         *jsonDiff[jsonRoute] `json:"routes,omitempty"`
	Rules          *jsonDiff[jsonRule]  `json:"rules,omitempty"`

	// kind "peer"
	ConfigChanged *bool               `json:"config_changed,omitempty"`
	Config        []jsonWireGuardPeer `json:"config,omitempty"`
}

// jsonDiff is an added/removed pair in the JSON format.
type jsonDiff[T any] struct {
	Added   []T `json:"added"`
	Removed []T `json:"removed"`
}

func diffOf[T any](added, removed []T) *jsonDiff[T] {
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	d := &jsonDiff[T]{Added: added, Removed: removed}
	if d.Added == nil {
		d.Added = []T{}
	}
	if d.Removed == nil {
		d.Removed = []T{}
	}
	return d
}

type jsonWireGuardPeer struct {
	Action       Action                  `json:"action"`
	Name         string                  `json:"name"`
	PublicKey    string                  `json:"public_key"`
	Endpoint     *Change[string]         `json:"endpoint,omitempty"`
	AllowedIPs   *jsonDiff[netip.Prefix] `json:"allowed_ips,omitempty"`
	Keepalive    *Change[int]            `json:"persistent_keepalive,omitempty"`
	PresharedKey string                  `json:"preshared_key,omitempty"`
}

type jsonRoute struct {
	Dst    netip.Prefix    `json:"dst"`
	Gw     string          `json:"gw,omitempty"`
	Device topology.Device `json:"device"`
	OnLink bool            `json:"onlink,omitempty"`
	Table  topology.Table  `json:"table"`
}

type jsonRule struct {
	Src           string         `json:"src,omitempty"`
	Dst           string         `json:"dst,omitempty"`
	FromWireGuard bool           `json:"iif_wireguard,omitempty"`
	Table         topology.Table `json:"table"`
}

type jsonWarning struct {
	Severity topology.Severity `json:"severity"`
	Kind     string            `json:"kind"`
	Name     string            `json:"name"`
	Field    string            `json:"field,omitempty"`
	Value    string            `json:"value,omitempty"`
	Message  string            `json:"message"`
	New      bool              `json:"new"`
}

// WriteJSON renders the plan in the versioned JSON format: settings,
// nodes, locations and peers in that order, each sorted by name. It
// streams: each change is written as it is computed, and the bytes are
// those of the whole document indented at once.
func WriteJSON(w io.Writer, p *Plan) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	first := true
	// item writes one element of an array two levels deep.
	item := func(v any) error {
		b, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		bw.WriteString("\n    ")
		_, err = bw.Write(b)
		return err
	}
	end := func() {
		if !first {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
	}
	version, _ := json.Marshal(FormatVersion)
	bw.WriteString("{\n  \"format_version\": " + string(version) + ",\n  \"changes\": ")
	bw.WriteString("[")
	for _, s := range p.Settings {
		if err := item(jsonChange{
			Kind: "setting", Name: s.Field, Action: Update,
			Reason: "--" + s.Field + " changes", Value: &Change[string]{Before: s.Before, After: s.After},
		}); err != nil {
			return err
		}
	}
	nw := nodeJSONWriter{w: bw}
	// Updates' routes come packed: sorted as integers, each way out
	// rendered once.
	if err := p.eachNodeMode(eachMode{packed: true}, func(_ int, n *NodeChange) error {
		err := nw.node(n, first)
		first = false
		return err
	}); err != nil {
		return err
	}
	if err := nw.flush(); err != nil {
		return err
	}
	for i := range p.Locations {
		if err := item(locationJSON(&p.Locations[i])); err != nil {
			return err
		}
	}
	for i := range p.Peers {
		if err := item(peerJSON(&p.Peers[i])); err != nil {
			return err
		}
	}
	end()
	bw.WriteString(",\n  \"warnings\": [")
	first = true
	for _, wn := range p.Warnings {
		if err := item(jsonWarning(wn)); err != nil {
			return err
		}
	}
	end()
	summary, err := json.MarshalIndent(p.Summary(), "  ", "  ")
	if err != nil {
		return err
	}
	bw.WriteString(",\n  \"summary\": ")
	bw.Write(summary)
	bw.WriteString("\n}\n")
	return bw.Flush()
}

func locationJSON(l *LocationChange) jsonChange {
	c := jsonChange{Kind: "location", Name: l.Name, Action: l.Action, Reason: l.Reason,
		Endpoint: l.Endpoint, SplitInto: l.SplitInto, MergedFrom: l.MergedFrom}
	loc := &Change[string]{Before: l.Location, After: l.Location}
	switch {
	case l.Action == Create:
		loc.Before = ""
	case l.Action == Delete:
		loc.After = ""
	case l.PreviousLocation != "":
		loc.Before = l.PreviousLocation
	}
	c.Location = loc
	c.Leader = l.Leader
	if l.WireGuardIP != nil {
		c.WireGuardIP = &Change[string]{Before: addrString(l.WireGuardIP.Before), After: addrString(l.WireGuardIP.After)}
	}
	c.Nodes = diffOf(l.Nodes.Added, l.Nodes.Removed)
	c.AllowedIPs = diffOf(l.AllowedIPs.Added, l.AllowedIPs.Removed)
	c.AllowedLocIPs = diffOf(l.AllowedLocationIPs.Added, l.AllowedLocationIPs.Removed)
	return c
}

func peerJSON(p *PeerChange) jsonChange {
	cc := p.ConfigChanged
	return jsonChange{Kind: "peer", Name: p.Name, Action: p.Action, Reason: p.Reason,
		PublicKey: p.PublicKey, Endpoint: p.Endpoint,
		AllowedIPs:   diffOf(p.AllowedIPs.Added, p.AllowedIPs.Removed),
		Keepalive:    p.PersistentKeepalive,
		PresharedKey: p.PresharedKey, ConfigChanged: &cc,
		Config: wgPeersJSON(p.Config),
	}
}

func wgPeersJSON(ps []WireGuardPeerChange) []jsonWireGuardPeer {
	var out []jsonWireGuardPeer
	for _, p := range ps {
		out = append(out, jsonWireGuardPeer{
			Action: p.Action, Name: p.Name, PublicKey: p.PublicKey, Endpoint: p.Endpoint,
			AllowedIPs: diffOf(p.AllowedIPs.Added, p.AllowedIPs.Removed),
			Keepalive:  p.PersistentKeepalive, PresharedKey: p.PresharedKey,
		})
	}
	return out
}
