package plan

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Options shape the text rendering.
type Options struct {
	// Color marks changes with ANSI colors.
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// most is how many names a group header lists before eliding.
const most = topology.MostNames

// WriteText renders the plan for people: one block per changed node,
// location and Peer, marked + (create), - (delete) or ~ (update), then
// the warnings and a summary line. Nodes whose changes are identical
// (the followers of one leader, say) share one block, so a one-node
// change in a large cluster reads in a screen or two; WriteJSON lists
// every node.
func WriteText(w io.Writer, p *Plan, opts Options) error {
	// A large buffer: a flip to a full mesh writes gigabytes, and a
	// write per 4 KiB is a system call per 4 KiB.
	t := &text{w: bufio.NewWriterSize(w, 1<<20), color: opts.Color}
	// The node groups first: whether anything changes depends on them.
	groups, err := t.groupNodes(p)
	if err != nil {
		return err
	}
	if !p.Empty() {
		t.line(0, "Changes the agents would apply ("+t.sym(Create)+" create, "+t.sym(Update)+" update, "+t.sym(Delete)+" delete):")
		t.settings(p.Settings)
		if err := t.nodes(p, groups); err != nil {
			return err
		}
		t.locations(p.Locations)
		t.peers(p.Peers)
	}
	t.warnings(p.Warnings)
	if t.wrote {
		t.w.WriteString("\n")
	}
	if p.Empty() {
		t.line(0, t.paint(ansiBold, "No changes.")+" The mesh matches the manifests.")
	} else {
		t.line(0, t.paint(ansiBold, "Plan:")+" "+summaryLine(p.Summary()))
	}
	return t.w.Flush()
}

// summaryLine is "7 nodes to change (1 joins), 1 location to change, …".
func summaryLine(s Summary) string {
	var parts []string
	if s.Settings > 0 {
		parts = append(parts, plural(s.Settings, "setting", "settings")+" to change")
	}
	extra := func(c Counts, create, delete string) string {
		var x []string
		if c.Create > 0 {
			x = append(x, fmt.Sprintf("%d %s", c.Create, create))
		}
		if c.Delete > 0 {
			x = append(x, fmt.Sprintf("%d %s", c.Delete, delete))
		}
		if len(x) == 0 {
			return ""
		}
		return " (" + strings.Join(x, ", ") + ")"
	}
	joins, leave := "join", "leave"
	if s.Nodes.Create == 1 {
		joins = "joins"
	}
	if s.Nodes.Delete == 1 {
		leave = "leaves"
	}
	parts = append(parts, plural(s.Nodes.Total(), "node", "nodes")+" to change"+extra(s.Nodes, joins, leave))
	parts = append(parts, plural(s.Locations.Total(), "location", "locations")+" to change"+extra(s.Locations, "created", "removed"))
	peers := plural(s.Peers.Total(), "peer", "peers") + " to change" + extra(s.Peers, "added", "removed")
	if s.PeerConfigs > 0 {
		peers += ", " + plural(s.PeerConfigs, "peer configuration", "peer configurations") + " to install"
	}
	parts = append(parts, peers)
	return strings.Join(parts, ", ") + "."
}

type text struct {
	w     *bufio.Writer
	color bool
	wrote bool
	// hashing writes what identifies a node body instead of the body
	// (see summer).
	hashing bool
	// lineBuf formats route lines.
	lineBuf []byte
}

func (t *text) paint(code, s string) string {
	if !t.color {
		return s
	}
	return code + s + ansiReset
}

func (t *text) sym(a Action) string {
	switch a {
	case Create:
		return t.paint(ansiGreen, a.Symbol())
	case Delete:
		return t.paint(ansiRed, a.Symbol())
	case Update:
		return t.paint(ansiYellow, a.Symbol())
	}
	return a.Symbol()
}

func (t *text) line(indent int, s string) {
	t.wrote = true
	t.w.WriteString(strings.Repeat(" ", indent))
	t.w.WriteString(s)
	t.w.WriteByte('\n')
}

func (t *text) section(title string) {
	if t.wrote {
		t.w.WriteString("\n")
	}
	t.line(0, t.paint(ansiBold, title))
}

func (t *text) settings(cs []SettingChange) {
	if len(cs) == 0 {
		return
	}
	t.section("Mesh settings:")
	for _, c := range cs {
		t.line(2, t.sym(Update)+" "+c.Field+": "+orNone(c.Before)+" → "+orNone(c.After))
	}
}

// appendRoute appends routeString(r).
func appendRoute(b []byte, r topology.Route) []byte {
	b = r.Dst.AppendTo(b)
	return appendVia(b, via{gw: r.Gw, device: r.Device, onlink: r.OnLink, table: r.Table})
}

// appendVia appends what routeString writes after the destination.
func appendVia(b []byte, v via) []byte {
	if v.gw.IsValid() {
		b = append(b, " via "...)
		b = v.gw.AppendTo(b)
	}
	b = append(b, " dev "...)
	b = append(b, v.device...)
	if v.onlink {
		b = append(b, " onlink"...)
	}
	if v.table != topology.TableMesh {
		b = append(b, " table "...)
		b = append(b, v.table...)
	}
	return b
}

func (t *text) count(indent int, a Action, n int, one, many string) {
	if n > 0 {
		t.line(indent, t.sym(a)+" "+plural(n, one, many))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func portString(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

func prefixChange(c *Change[netip.Prefix]) *Change[string] {
	if c == nil {
		return nil
	}
	return &Change[string]{Before: prefixString(c.Before), After: prefixString(c.After)}
}

func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// scalar renders a field that is set (+), unset (-) or changed (~).
func (t *text) scalar(indent int, name string, c *Change[string]) {
	switch {
	case c == nil:
	case c.Before == "":
		t.line(indent, t.sym(Create)+" "+name+": "+c.After)
	case c.After == "":
		t.line(indent, t.sym(Delete)+" "+name+": "+c.Before)
	default:
		t.line(indent, t.sym(Update)+" "+name+": "+c.Before+" → "+c.After)
	}
}

// secondsChange renders a change of a keepalive in seconds, with its unit
// (a bare "25 → 15" reads as a count).
func secondsChange(c *Change[int]) *Change[string] {
	if c == nil {
		return nil
	}
	s := func(v int) string {
		if v == 0 {
			return ""
		}
		return strconv.Itoa(v) + "s"
	}
	return &Change[string]{Before: s(c.Before), After: s(c.After)}
}

// wgPeer renders one [Peer] section that changes.
func (t *text) wgPeer(indent int, p *WireGuardPeerChange) {
	t.line(indent, t.sym(p.Action)+" [Peer] "+p.Name+", key "+shortKey(p.PublicKey))
	if p.Action == Delete {
		return
	}
	in := indent + 4
	t.scalar(in, "endpoint", p.Endpoint)
	t.prefixes(in, "allowed IP", p.AllowedIPs, p.Action == Create)
	t.scalar(in, "persistent keepalive", secondsChange(p.PersistentKeepalive))
	t.psk(in, p.PresharedKey)
}

func (t *text) psk(indent int, s string) {
	switch s {
	case "added":
		t.line(indent, t.sym(Create)+" preshared key")
	case "removed":
		t.line(indent, t.sym(Delete)+" preshared key")
	case "changed":
		t.line(indent, t.sym(Update)+" preshared key (changed; not shown)")
	}
}

// prefixes renders a set difference, one line per CIDR; for something
// created, one line for all.
func (t *text) prefixes(indent int, name string, d PrefixDiff, inline bool) {
	if inline && len(d.Removed) == 0 && len(d.Added) > 1 {
		s := make([]string, len(d.Added))
		for i, p := range d.Added {
			s[i] = p.String()
		}
		t.line(indent, t.sym(Create)+" "+name+"s: "+strings.Join(s, ", "))
		return
	}
	for _, p := range d.Removed {
		t.line(indent, t.sym(Delete)+" "+name+" "+p.String())
	}
	for _, p := range d.Added {
		t.line(indent, t.sym(Create)+" "+name+" "+p.String())
	}
}

// shortKey abbreviates a public key for reading; JSON has it whole.
func shortKey(k string) string {
	if len(k) <= 10 {
		return k
	}
	return k[:10] + "…"
}

func routeString(r topology.Route) string {
	s := r.Dst.String()
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	s += " dev " + string(r.Device)
	if r.OnLink {
		s += " onlink"
	}
	if r.Table != topology.TableMesh {
		s += " table " + string(r.Table)
	}
	return s
}

func ruleString(r topology.Rule) string {
	var s []string
	if r.FromWireGuard {
		s = append(s, "iif wireguard")
	}
	if r.Src.IsValid() {
		s = append(s, "from "+r.Src.String())
	}
	if r.Dst.IsValid() {
		s = append(s, "to "+r.Dst.String())
	}
	s = append(s, "lookup "+string(r.Table))
	return strings.Join(s, " ")
}

func (t *text) locations(ls []LocationChange) {
	if len(ls) == 0 {
		return
	}
	t.section("Locations:")
	for i := range ls {
		l := &ls[i]
		if i > 0 {
			t.w.WriteString("\n")
		}
		t.line(2, t.sym(l.Action)+" "+t.paint(ansiBold, segmentName(l.Name, l.Location))+": "+l.Reason)
		if l.PreviousLocation != "" {
			t.scalar(6, "location", &Change[string]{Before: l.PreviousLocation, After: l.Location})
		}
		t.scalar(6, "leader", l.Leader)
		if l.WireGuardIP != nil {
			t.scalar(6, "wireguard IP", &Change[string]{Before: addrString(l.WireGuardIP.Before), After: addrString(l.WireGuardIP.After)})
		}
		t.scalar(6, "endpoint", l.Endpoint)
		for _, n := range l.Nodes.Removed {
			t.line(6, t.sym(Delete)+" node "+n)
		}
		for _, n := range l.Nodes.Added {
			t.line(6, t.sym(Create)+" node "+n)
		}
		if l.Action == Update {
			t.prefixes(6, "allowed IP", l.AllowedIPs, false)
		}
		t.prefixes(6, "allowed location IP", l.AllowedLocationIPs, false)
	}
}

func (t *text) peers(ps []PeerChange) {
	if len(ps) == 0 {
		return
	}
	t.section("Peers:")
	for i := range ps {
		p := &ps[i]
		if i > 0 {
			t.w.WriteString("\n")
		}
		t.line(2, t.sym(p.Action)+" "+t.paint(ansiBold, "peer "+p.Name)+": "+p.Reason)
		if p.Action == Delete {
			continue
		}
		t.scalar(6, "public key", p.PublicKey)
		t.scalar(6, "endpoint", p.Endpoint)
		t.prefixes(6, "allowed IP", p.AllowedIPs, p.Action == Create)
		t.scalar(6, "persistent keepalive", secondsChange(p.PersistentKeepalive))
		t.psk(6, p.PresharedKey)
		if len(p.Config) > 0 {
			t.line(6, t.sym(Update)+" configuration:")
			for j := range p.Config {
				t.wgPeer(10, &p.Config[j])
			}
		}
	}
}

// warnings renders the warnings; the same problem on many objects of a
// kind (every node's agent running another granularity, say) is one line
// naming them.
func (t *text) warnings(ws []Warning) {
	if len(ws) == 0 {
		return
	}
	t.section("Warnings:")
	type group struct {
		w     Warning
		names []string
	}
	var groups []*group
	index := make(map[Warning]*group)
	for _, w := range ws {
		k := w
		k.Name = ""
		if g, ok := index[k]; ok {
			g.names = append(g.names, w.Name)
			continue
		}
		g := &group{w: w, names: []string{w.Name}}
		index[k] = g
		groups = append(groups, g)
	}
	for _, g := range groups {
		w := g.w
		s := w.String()
		if len(g.names) > 1 {
			s = w.format(fmt.Sprintf("%s (%d)", topology.ElideNames(g.names), len(g.names)))
		}
		if w.Severity == topology.Error {
			s = t.paint(ansiRed, s)
		} else {
			s = t.paint(ansiYellow, s)
		}
		if w.New {
			s += " (new)"
		}
		t.line(2, s)
	}
}
