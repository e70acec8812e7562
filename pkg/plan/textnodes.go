package plan

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// The node section of the text plan is written in two passes over the
// node changes: the first groups the nodes whose blocks would be the
// same (by a hash of the block, computed in the workers that compute the
// changes), the second writes each group's header, which names its
// nodes, then its block. A group's change is kept between the passes
// while the changes kept fit recipeBudget; the others are computed
// again. Each block is rendered once.

// nodeGroup is nodes whose blocks are the same: the followers of one
// leader, say. Only the first names are kept (the header elides the
// rest).
type nodeGroup struct {
	first  int // index of the first node
	action Action
	reason string
	names  []string
	count  int
	// recipe is the first node's change, kept for the second pass
	// (nil: computed again).
	recipe *NodeChange
}

// recipeBudget bounds the bytes of changes kept between the passes. A
// flip to a full mesh of 2,000 nodes keeps ~60 KB per node (a pointer
// per peer change, 8 bytes per route) where its blocks take ~900 KB; at
// 10,000 nodes the budget holds a seventh of them.
var recipeBudget = 256 << 20

// keepChange copies a streamed change for the second pass (its lists
// live in a slot the next batch reuses), with the bytes it holds; false
// when its peers have no shared changes to point at.
func keepChange(n *NodeChange) (*NodeChange, int, bool) {
	if len(n.memos) != len(n.Peers) {
		return nil, 0, false
	}
	r := *n
	r.Peers = nil
	r.memos = slices.Clone(n.memos)
	size := 512 + 8*len(r.memos)
	if n.packed != nil {
		pr := *n.packed
		pr.added, pr.removed = slices.Clone(pr.added), slices.Clone(pr.removed)
		r.packed = &pr
		size += 8 * (len(pr.added) + len(pr.removed))
	}
	r.Routes = RouteDiff{Added: slices.Clone(n.Routes.Added), Removed: slices.Clone(n.Routes.Removed)}
	r.Rules = RuleDiff{Added: slices.Clone(n.Rules.Added), Removed: slices.Clone(n.Rules.Removed)}
	size += 96*(len(r.Routes.Added)+len(r.Routes.Removed)) + 64*(len(r.Rules.Added)+len(r.Rules.Removed))
	return &r, size, true
}

// groupNodes goes over every node change once, grouping updates by
// their sums, and keeps what the headers need.
func (t *text) groupNodes(p *Plan) ([]*nodeGroup, error) {
	var groups []*nodeGroup
	index := make(map[[2]uint64]*nodeGroup)
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	recipes := 0
	add := func(i int, n *NodeChange) error {
		if n.Action == Update {
			if g, ok := index[n.sum]; ok {
				if len(g.names) <= most {
					g.names = append(g.names, n.Name)
				}
				g.count++
				return nil
			}
		}
		g := &nodeGroup{first: i, action: n.Action, reason: n.Reason, names: []string{n.Name}, count: 1}
		if p.src != nil {
			if r, size, ok := keepChange(n); ok && recipes+size <= recipeBudget {
				recipes += size
				g.recipe = r
			}
		}
		if n.Action == Update {
			index[n.sum] = g
		}
		groups = append(groups, g)
		return nil
	}
	if p.src == nil {
		s := newSummer(seeds)
		for i := range p.Nodes {
			s.sum(&p.Nodes[i])
			if err := add(i, &p.Nodes[i]); err != nil {
				return nil, err
			}
		}
		return groups, nil
	}
	mode := eachMode{packed: true, worker: func() func(*NodeChange) { return newSummer(seeds).sum }}
	return groups, p.eachNodeMode(mode, add)
}

// nodes writes the node groups, computing again the changes not kept.
func (t *text) nodes(p *Plan, groups []*nodeGroup) error {
	if len(groups) == 0 {
		return nil
	}
	t.section("Nodes:")
	header := func(g *nodeGroup, i int) {
		if i > 0 {
			t.w.WriteString("\n")
		}
		what := "node " + g.names[0]
		if g.count > 1 {
			what = fmt.Sprintf("%d nodes %s", g.count, elideCount(g.names, g.count))
		}
		t.line(2, t.sym(g.action)+" "+t.paint(ansiBold, what)+": "+g.reason)
	}
	if p.src == nil {
		for i, g := range groups {
			header(g, i)
			t.body(&p.Nodes[g.first])
		}
		return nil
	}
	var again []int
	for _, g := range groups {
		if g.recipe == nil {
			again = append(again, g.first)
		}
	}
	// Groups in order; those without a kept change are computed again, a
	// batch at a time, in the same order.
	gi := 0
	flush := func(upto int) {
		for ; gi < len(groups) && (upto < 0 || groups[gi].first <= upto); gi++ {
			g := groups[gi]
			if g.recipe == nil {
				return
			}
			header(g, gi)
			t.body(g.recipe)
			g.recipe = nil
		}
	}
	if len(again) > 0 {
		err := p.src.each(again, eachMode{packed: true}, func(i int, n *NodeChange) error {
			flush(i)
			header(groups[gi], gi)
			t.body(n)
			gi++
			return nil
		})
		if err != nil {
			return err
		}
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

// body writes a node's changes, indented under its header. A peer
// change shared by many nodes (see entries) is rendered once.
func (t *text) body(n *NodeChange) {
	if n.Action == Update {
		// A node that joins or leaves has its segment in the reason.
		t.scalar(6, "segment", n.Segment)
		t.scalar(6, "location", n.Location)
		if n.Leader != nil {
			t.scalar(6, "leader", &Change[string]{Before: yesNo(n.Leader.Before), After: yesNo(n.Leader.After)})
		}
		if n.ListenPort != nil {
			t.scalar(6, "listen port", &Change[string]{Before: portString(n.ListenPort.Before), After: portString(n.ListenPort.After)})
		}
	}
	t.scalar(6, "wireguard IP", prefixChange(n.WireGuardIP))
	if n.memos != nil {
		for _, m := range n.memos {
			if t.hashing {
				t.lineBuf = binary.LittleEndian.AppendUint64(t.lineBuf[:0], m.sum[0])
				t.lineBuf = binary.LittleEndian.AppendUint64(t.lineBuf, m.sum[1])
				t.w.Write(t.lineBuf)
			} else {
				t.w.WriteString(t.peerText(m))
			}
		}
	} else {
		for i := range n.Peers {
			t.wgPeer(6, &n.Peers[i])
		}
	}
	switch n.Action {
	case Update:
		if p := n.packed; p != nil {
			t.packedLines(Delete, p.removed, p.vias)
			t.packedLines(Create, p.added, p.vias)
		} else {
			t.routeLines(Delete, n.Routes.Removed)
			t.routeLines(Create, n.Routes.Added)
		}
		for _, r := range n.Rules.Removed {
			t.line(6, t.sym(Delete)+" rule "+ruleString(r))
		}
		for _, r := range n.Rules.Added {
			t.line(6, t.sym(Create)+" rule "+ruleString(r))
		}
	case Create:
		t.count(6, Create, len(n.Routes.Added), "route", "routes")
		t.count(6, Create, len(n.Rules.Added), "rule", "rules")
	case Delete:
		t.count(6, Delete, len(n.Routes.Removed), "route", "routes")
		t.count(6, Delete, len(n.Rules.Removed), "rule", "rules")
	}
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
// formatted in place.
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

// packedLines writes routeLines' lines of packed routes (a flip to a full
// mesh writes millions), or, hashing, what identifies them.
func (t *text) packedLines(a Action, keys []uint64, vias []viaEntry) {
	if len(keys) == 0 {
		return
	}
	t.wrote = true
	head := "      " + t.sym(a) + " route "
	buf := t.lineBuf[:0]
	if t.hashing {
		buf = append(buf, head...)
	}
	for _, k := range keys {
		if t.hashing {
			buf = appendPackedSum(buf, k, vias)
		} else {
			buf = append(buf, head...)
			buf = appendPacked(buf, k, vias)
		}
		if len(buf) >= 32<<10 {
			t.w.Write(buf)
			buf = buf[:0]
		}
	}
	t.w.Write(buf)
	t.lineBuf = buf
}

// summer identifies node bodies for grouping: it writes a body as text
// but for its shared peer changes (their sums, see peerMemo) and its
// packed routes (their keys), into two hashes of different seeds. Two
// bodies have the same sums when their text is the same. Not safe for
// concurrent use: each worker has its own.
type summer struct {
	h [2]maphash.Hash
	u *text
}

func newSummer(seeds [2]maphash.Seed) *summer {
	s := &summer{}
	for j := range s.h {
		s.h[j].SetSeed(seeds[j])
	}
	s.u = &text{w: bufio.NewWriterSize(s, 64<<10), hashing: true}
	return s
}

func (s *summer) Write(b []byte) (int, error) {
	s.h[0].Write(b)
	s.h[1].Write(b)
	return len(b), nil
}

// sum sets an update's sum, and the sums of its shared peer changes not
// summed yet (the worker's own: a differ belongs to one worker).
func (s *summer) sum(n *NodeChange) {
	if n.Action != Update {
		return
	}
	for _, m := range n.memos {
		if !m.summed {
			text := s.u.peerText(m)
			m.sum = [2]uint64{maphash.String(s.h[0].Seed(), text), maphash.String(s.h[1].Seed(), text)}
			m.summed = true
		}
	}
	s.h[0].Reset()
	s.h[1].Reset()
	s.u.w.WriteString(n.Reason)
	s.u.w.WriteByte(0)
	s.u.body(n)
	s.u.w.Flush()
	n.sum = [2]uint64{s.h[0].Sum64(), s.h[1].Sum64()}
}
