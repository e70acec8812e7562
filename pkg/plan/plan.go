package plan

import (
	"fmt"
	"net/netip"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Action says what happens to an object.
type Action string

const (
	// NoOp: nothing changes. Objects without changes are not listed; the
	// value exists so a consumer can name the absence of a change.
	NoOp Action = "no-op"
	// Create: the object appears (a node joins the mesh, a location or
	// Peer is created, a WireGuard peer or route is added).
	Create Action = "create"
	// Update: the object stays and some of its fields change.
	Update Action = "update"
	// Delete: the object disappears.
	Delete Action = "delete"
)

// Symbol is the one-character marker the text rendering uses.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Delete:
		return "-"
	case Update:
		return "~"
	}
	return " "
}

// Plan is every change between two meshes.
type Plan struct {
	// Settings are the mesh-wide settings that change (granularity,
	// subnet, port, …), sorted by field.
	Settings []SettingChange
	// Nodes, Locations and Peers hold only objects that change, sorted
	// by name.
	Nodes     []NodeChange
	Locations []LocationChange
	Peers     []PeerChange
	// Warnings are the after mesh's problems and the plan's own checks,
	// errors first.
	Warnings []Warning

	// src computes the node changes of a plan made by New, instead of
	// Nodes; nodeCounts tallies them once they have been.
	src        *nodeSource
	nodeCounts *Counts
}

// Empty reports whether nothing changes; warnings do not count.
func (p *Plan) Empty() bool {
	return len(p.Settings) == 0 && p.nodeSummary().Total() == 0 && len(p.Locations) == 0 && len(p.Peers) == 0
}

// Change is a field's value before and after.
type Change[T any] struct {
	Before T `json:"before"`
	After  T `json:"after"`
}

// changed returns a Change if before and after differ, else nil.
func changed[T comparable](before, after T) *Change[T] {
	if before == after {
		return nil
	}
	return &Change[T]{Before: before, After: after}
}

// PrefixDiff is a set difference of CIDRs, each list sorted.
type PrefixDiff struct {
	Added   []netip.Prefix `json:"added,omitempty"`
	Removed []netip.Prefix `json:"removed,omitempty"`
}

// Empty reports whether nothing was added or removed.
func (d PrefixDiff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// NameDiff is a set difference of names, each list sorted.
type NameDiff struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Empty reports whether nothing was added or removed.
func (d NameDiff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// SettingChange is one mesh-wide setting that changes.
type SettingChange struct {
	// Field is the agent flag without dashes: mesh-granularity, subnet,
	// port, service-cidr, encapsulate, local.
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// NodeChange is what one node's agent would change.
type NodeChange struct {
	Name   string
	Action Action
	// Reason says in a sentence why the node changes.
	Reason string
	// Segment is the segment the node belongs to ("" when out of the
	// mesh); Location is its logical location.
	Segment  *Change[string]
	Location *Change[string]
	Leader   *Change[bool]
	// WireGuardIP is the interface address, set on segment leaders only.
	WireGuardIP *Change[netip.Prefix]
	ListenPort  *Change[int]
	// Peers are the WireGuard peers that are added, removed or changed,
	// matched by public key.
	Peers  []WireGuardPeerChange
	Routes RouteDiff
	Rules  RuleDiff

	// memos are the shared changes Peers were copied from, whose
	// renderings the text writer keeps (nil: render each).
	memos []*peerMemo
	// packed, in the text writer's changes, holds the routes of an
	// update instead of Routes (see packedRoutes).
	packed *packedRoutes
	// sum identifies an update's rendering, for grouping: the text
	// writer's workers set it.
	sum [2]uint64
}

// routeCount is how many routes the change adds and removes.
func (ch *NodeChange) routeCount() int {
	if ch.packed != nil {
		return len(ch.packed.added) + len(ch.packed.removed)
	}
	return len(ch.Routes.Added) + len(ch.Routes.Removed)
}

// WireGuardPeerChange is one [Peer] section of a WireGuard configuration
// that is added, removed or changed. A preshared key is never shown, only
// whether one is added, removed or changed.
type WireGuardPeerChange struct {
	Action Action
	// Name labels the peer: `location "x" (leader n)`, `node n`, `peer p`.
	Name      string
	PublicKey string
	// Endpoint and PersistentKeepalive (seconds) are set when they
	// differ; for a created or deleted peer, relative to nothing.
	Endpoint            *Change[string]
	AllowedIPs          PrefixDiff
	PersistentKeepalive *Change[int]
	// PresharedKey is "added", "removed", "changed" or "".
	PresharedKey string
}

// RouteDiff is the set difference of a node's routes.
type RouteDiff struct {
	Added   []topology.Route `json:"added,omitempty"`
	Removed []topology.Route `json:"removed,omitempty"`
}

// Empty reports whether no route is added or removed.
func (d RouteDiff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// RuleDiff is the set difference of a node's policy routing rules.
type RuleDiff struct {
	Added   []topology.Rule `json:"added,omitempty"`
	Removed []topology.Rule `json:"removed,omitempty"`
}

// Empty reports whether no rule is added or removed.
func (d RuleDiff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// LocationChange is a segment that is created, removed or changed. A
// segment is a location, or a single node in full or cross granularity
// (named after the node); Location is the logical location either way.
type LocationChange struct {
	Name   string
	Action Action
	Reason string
	// Location is the logical location (after, or before for a deleted
	// segment); PreviousLocation is set when it changes.
	Location         string
	PreviousLocation string
	Leader           *Change[string]
	WireGuardIP      *Change[netip.Addr]
	// Endpoint is the leader's endpoint, where other segments send.
	Endpoint *Change[string]
	Nodes    NameDiff
	// AllowedIPs are what the other segments route to this one.
	AllowedIPs         PrefixDiff
	AllowedLocationIPs PrefixDiff
	// SplitInto names the other segments that take some of this
	// segment's nodes; MergedFrom names the other segments that give it
	// nodes. A location split in several, or several merged into one, is
	// told from a plain creation or removal this way.
	SplitInto  []string
	MergedFrom []string
}

// PeerChange is a Kilo Peer whose spec or configuration changes.
type PeerChange struct {
	Name   string
	Action Action
	Reason string
	// PublicKey, Endpoint, AllowedIPs, PersistentKeepalive (seconds)
	// and PresharedKey ("added", "removed", "changed" or "") describe
	// the accepted spec (after the engine drops conflicting allowed IPs).
	PublicKey           *Change[string]
	Endpoint            *Change[string]
	AllowedIPs          PrefixDiff
	PersistentKeepalive *Change[int]
	PresharedKey        string
	// ConfigChanged says whether the configuration its owner installs
	// (`showconf peer NAME`) changes; Config lists how, for a Peer that
	// stays.
	ConfigChanged bool
	Config        []WireGuardPeerChange
}

// Warning is a problem of the after mesh, or one the plan found.
type Warning struct {
	Severity topology.Severity
	// Kind is "Node", "Peer", "Location" or "Mesh".
	Kind    string
	Name    string
	Field   string
	Value   string
	Message string
	// New is true when the before mesh did not have this problem.
	New bool
}

// String renders the warning like topology.Problem does:
// `warning: Node "a": field "value": message`.
func (w Warning) String() string {
	name := ""
	if w.Name != "" {
		name = fmt.Sprintf("%q", w.Name)
	}
	return w.format(name)
}

// format renders the warning with the object's name already quoted.
func (w Warning) format(name string) string {
	s := string(w.Severity) + ": " + w.Kind
	if name != "" {
		s += " " + name
	}
	if w.Field != "" {
		s += ": " + w.Field
		if w.Value != "" {
			s += fmt.Sprintf(" %q", w.Value)
		}
	}
	return s + ": " + w.Message
}

// Counts tallies changes of one kind of object by action.
type Counts struct {
	Create int `json:"create"`
	Update int `json:"update"`
	Delete int `json:"delete"`
}

// Total is the number of objects that change.
func (c Counts) Total() int { return c.Create + c.Update + c.Delete }

func (c *Counts) add(a Action) {
	switch a {
	case Create:
		c.Create++
	case Update:
		c.Update++
	case Delete:
		c.Delete++
	}
}

// Summary counts the plan's changes and warnings.
type Summary struct {
	Settings  int    `json:"settings"`
	Nodes     Counts `json:"nodes"`
	Locations Counts `json:"locations"`
	Peers     Counts `json:"peers"`
	// PeerConfigs counts the Peers whose owners must install a new
	// configuration.
	PeerConfigs int `json:"peer_configs"`
	Errors      int `json:"errors"`
	Warnings    int `json:"warnings"`
}

// Summary counts the changes.
func (p *Plan) Summary() Summary {
	s := Summary{Settings: len(p.Settings), Nodes: p.nodeSummary()}
	for _, l := range p.Locations {
		s.Locations.add(l.Action)
	}
	for _, pc := range p.Peers {
		s.Peers.add(pc.Action)
		if pc.ConfigChanged {
			s.PeerConfigs++
		}
	}
	for _, w := range p.Warnings {
		if w.Severity == topology.Error {
			s.Errors++
		} else {
			s.Warnings++
		}
	}
	return s
}
