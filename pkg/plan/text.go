package plan

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
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
	// scratch, bw and body render node bodies (nodeBody); lineBuf
	// formats route lines.
	scratch bytes.Buffer
	bw      *bufio.Writer
	body    *text
	lineBuf []byte
	// vias, viaList, unAdded and unRemoved pack and unpack recipes.
	vias               map[via]uint64
	viaList            []via
	unAdded, unRemoved []topology.Route
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

// nodeGroup is nodes whose blocks are the same: the followers of one
// leader, say. Only the first names are kept (the header elides the
// rest), and the body while the bodies kept stay under bodyBudget; the
// others are rendered again when written.
type nodeGroup struct {
	first  int // index of the first node
	action Action
	reason string
	names  []string
	count  int
	body   *string
	// recipe is the change in a compact form, kept when the body is not
	// (see recipeBudget): the second pass renders it without computing
	// the change again.
	recipe *recipe
}

// recipeBudget bounds the bytes of recipes kept between the passes. A
// flip to a full mesh of 2,000 nodes needs ~70 KB per node (a pointer
// per peer change, 8 bytes per route), where its bodies take ~900 KB.
var recipeBudget = 256 << 20

// recipe is a node change whose peer changes are the shared entries'
// and whose routes are packed: an IPv4 destination, its length and the
// index of the way out (gateway, device, table) in the writer's table.
type recipe struct {
	n              NodeChange
	added, removed []uint64
}

// pack makes a recipe of a streamed node change, if its routes pack.
func (t *text) pack(n *NodeChange) (*recipe, int, bool) {
	if n.memos == nil || len(n.memos) != len(n.Peers) {
		return nil, 0, false
	}
	if t.vias == nil {
		t.vias = make(map[via]uint64)
	}
	packAll := func(rs []topology.Route) ([]uint64, bool) {
		if len(rs) == 0 {
			return nil, true
		}
		out := make([]uint64, len(rs))
		for i, r := range rs {
			if !r.Dst.Addr().Is4() {
				return nil, false
			}
			v := via{gw: r.Gw, device: r.Device, onlink: r.OnLink, table: r.Table}
			vi, ok := t.vias[v]
			if !ok {
				if len(t.viaList) >= 1<<26 {
					return nil, false
				}
				vi = uint64(len(t.viaList))
				t.vias[v] = vi
				t.viaList = append(t.viaList, v)
			}
			a := r.Dst.Addr().As4()
			out[i] = (uint64(a[0])<<24|uint64(a[1])<<16|uint64(a[2])<<8|uint64(a[3]))<<32 | uint64(r.Dst.Bits())<<26 | vi
		}
		return out, true
	}
	r := &recipe{n: *n}
	var ok bool
	if r.added, ok = packAll(n.Routes.Added); !ok {
		return nil, 0, false
	}
	if r.removed, ok = packAll(n.Routes.Removed); !ok {
		return nil, 0, false
	}
	r.n.memos = slices.Clone(n.memos)
	r.n.Peers = nil
	r.n.Routes = RouteDiff{}
	return r, 8*(len(r.n.memos)+len(r.added)+len(r.removed)) + 256, true
}

// unpack renders a recipe's body.
func (t *text) unpack(r *recipe) []byte {
	unpackAll := func(buf []topology.Route, ps []uint64) []topology.Route {
		buf = buf[:0]
		for _, p := range ps {
			v := t.viaList[p&(1<<26-1)]
			a := uint32(p >> 32)
			dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(p>>26&63))
			buf = append(buf, topology.Route{Dst: dst, Gw: v.gw, Device: v.device, OnLink: v.onlink, Table: v.table})
		}
		return buf
	}
	n := r.n
	t.unAdded = unpackAll(t.unAdded, r.added)
	t.unRemoved = unpackAll(t.unRemoved, r.removed)
	if len(r.added) > 0 {
		n.Routes.Added = t.unAdded
	}
	if len(r.removed) > 0 {
		n.Routes.Removed = t.unRemoved
	}
	return t.nodeBody(&n)
}

// bodyBudget bounds the bytes of group bodies kept between the two
// passes: a one-node change in a large cluster has a few distinct bodies
// and is rendered once; a flip to a full mesh has one per node, each as
// long as the cluster, and those are rendered again rather than kept.
var bodyBudget = 32 << 20

// groupNodes renders every node change once, grouping updates by a hash
// of their reason and body, and keeps what the headers need.
func (t *text) groupNodes(p *Plan) ([]*nodeGroup, error) {
	var groups []*nodeGroup
	index := make(map[[2]uint64]*nodeGroup)
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	kept, recipes := 0, 0
	err := p.eachNode(func(i int, n *NodeChange) error {
		body := t.nodeBody(n)
		var key [2]uint64
		if n.Action == Update {
			for j, seed := range seeds {
				var h maphash.Hash
				h.SetSeed(seed)
				h.WriteString(n.Reason)
				h.WriteByte(0)
				h.Write(body)
				key[j] = h.Sum64()
			}
			if g, ok := index[key]; ok {
				if len(g.names) <= most {
					g.names = append(g.names, n.Name)
				}
				g.count++
				return nil
			}
		}
		g := &nodeGroup{first: i, action: n.Action, reason: n.Reason, names: []string{n.Name}, count: 1}
		if kept+len(body) <= bodyBudget {
			kept += len(body)
			b := string(body)
			g.body = &b
		} else if r, size, ok := t.pack(n); ok && recipes+size <= recipeBudget {
			recipes += size
			g.recipe = r
		}
		if n.Action == Update {
			index[key] = g
		}
		groups = append(groups, g)
		return nil
	})
	return groups, err
}

// nodes renders the node groups, rendering again the bodies not kept.
func (t *text) nodes(p *Plan, groups []*nodeGroup) error {
	if len(groups) == 0 {
		return nil
	}
	t.section("Nodes:")
	var again []int
	for _, g := range groups {
		if g.body == nil && g.recipe == nil {
			again = append(again, g.first)
		}
	}
	write := func(g *nodeGroup) {
		if g.body != nil {
			t.w.WriteString(*g.body)
		} else {
			t.w.Write(t.unpack(g.recipe))
		}
	}
	render := func(g *nodeGroup, i int) {
		if i > 0 {
			t.w.WriteString("\n")
		}
		what := "node " + g.names[0]
		if g.count > 1 {
			what = fmt.Sprintf("%d nodes %s", g.count, elideCount(g.names, g.count))
		}
		t.line(2, t.sym(g.action)+" "+t.paint(ansiBold, what)+": "+g.reason)
	}
	if len(again) == 0 || p.src == nil {
		for i, g := range groups {
			render(g, i)
			if g.body != nil || g.recipe != nil {
				write(g)
			} else {
				t.w.Write(t.nodeBody(&p.Nodes[g.first]))
			}
		}
		return nil
	}
	// Groups in order; those without a kept body are computed again, a
	// batch at a time, in the same order.
	gi := 0
	flush := func(upto int) {
		for ; gi < len(groups) && (upto < 0 || groups[gi].first <= upto); gi++ {
			g := groups[gi]
			if g.body == nil && g.recipe == nil {
				return
			}
			render(g, gi)
			write(g)
		}
	}
	err := p.src.each(again, func(i int, n *NodeChange) error {
		flush(i)
		g := groups[gi]
		render(g, gi)
		t.w.Write(t.nodeBody(n))
		gi++
		return nil
	})
	if err != nil {
		return err
	}
	flush(-1)
	return nil
}

// elideCount lists the first names of count, eliding past a screenful.
func elideCount(names []string, count int) string {
	if count <= most {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", count-most)
}

// nodeBody renders a node's changes, indented under its header, into
// the writer's scratch buffer: the bytes are valid until the next call.
// A peer change shared by many nodes (see entries) is rendered once.
func (t *text) nodeBody(n *NodeChange) []byte {
	t.scratch.Reset()
	if t.bw == nil {
		t.bw = bufio.NewWriterSize(&t.scratch, 64<<10)
		t.body = &text{w: t.bw, color: t.color}
	}
	u := t.body
	if n.Action == Update {
		// A node that joins or leaves has its segment in the reason.
		u.scalar(6, "segment", n.Segment)
		u.scalar(6, "location", n.Location)
		if n.Leader != nil {
			u.scalar(6, "leader", &Change[string]{Before: yesNo(n.Leader.Before), After: yesNo(n.Leader.After)})
		}
		if n.ListenPort != nil {
			u.scalar(6, "listen port", &Change[string]{Before: portString(n.ListenPort.Before), After: portString(n.ListenPort.After)})
		}
	}
	u.scalar(6, "wireguard IP", prefixChange(n.WireGuardIP))
	if n.memos != nil {
		for _, m := range n.memos {
			u.w.WriteString(t.peerText(m))
		}
	} else {
		for i := range n.Peers {
			u.wgPeer(6, &n.Peers[i])
		}
	}
	switch n.Action {
	case Update:
		u.routeLines(Delete, n.Routes.Removed)
		u.routeLines(Create, n.Routes.Added)
		for _, r := range n.Rules.Removed {
			u.line(6, u.sym(Delete)+" rule "+ruleString(r))
		}
		for _, r := range n.Rules.Added {
			u.line(6, u.sym(Create)+" rule "+ruleString(r))
		}
	case Create:
		u.count(6, Create, len(n.Routes.Added), "route", "routes")
		u.count(6, Create, len(n.Rules.Added), "rule", "rules")
	case Delete:
		u.count(6, Delete, len(n.Routes.Removed), "route", "routes")
		u.count(6, Delete, len(n.Rules.Removed), "rule", "rules")
	}
	u.w.Flush()
	return t.scratch.Bytes()
}

// peerText is a shared peer change's block, rendered once.
func (t *text) peerText(m *peerMemo) string {
	c := 0
	if t.color {
		c = 1
	}
	if m.text[c] == nil {
		var b strings.Builder
		u := &text{w: bufio.NewWriter(&b), color: t.color}
		u.wgPeer(6, &m.change)
		u.w.Flush()
		s := b.String()
		m.text[c] = &s
	}
	return *m.text[c]
}

// routeLines writes "      + route DST via GW dev DEV onlink" lines,
// formatted in place (a flip to a full mesh writes millions).
func (t *text) routeLines(a Action, rs []topology.Route) {
	if len(rs) == 0 {
		return
	}
	t.wrote = true
	head := "      " + t.sym(a) + " route "
	buf := t.lineBuf[:0]
	for _, r := range rs {
		buf = append(buf[:0], head...)
		buf = appendRoute(buf, r)
		buf = append(buf, '\n')
		t.w.Write(buf)
	}
	t.lineBuf = buf
}

// appendRoute appends routeString(r).
func appendRoute(b []byte, r topology.Route) []byte {
	b = r.Dst.AppendTo(b)
	if r.Gw.IsValid() {
		b = append(b, " via "...)
		b = r.Gw.AppendTo(b)
	}
	b = append(b, " dev "...)
	b = append(b, r.Device...)
	if r.OnLink {
		b = append(b, " onlink"...)
	}
	if r.Table != topology.TableMesh {
		b = append(b, " table "...)
		b = append(b, r.Table...)
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
