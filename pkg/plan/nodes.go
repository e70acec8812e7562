package plan

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// entries index the [Peer] entries of both meshes (topology.PeerEntries:
// every segment's leader and every Peer), once for every node: a node's
// WireGuard peers are entries of its mesh, matched across the meshes by
// public key, and a node's peer changes are changes between entries, the
// same for every node that sees both entries alike. In a flip to a full
// mesh each node's change is "every other segment's peer is added"; it is
// computed (and rendered) once per entry, not once per node and entry.
type entries struct {
	b, a *topology.Mesh
	// bRank and aRank order the entries of both meshes together as
	// node changes list their peers: by name, then public key.
	bRank, aRank []int32
	// bEndpoint and aEndpoint are each entry's endpoint as a viewer
	// without discovered endpoints sees it: a change between entries
	// seen so is shared by every viewer with the same keepalives.
	bEndpoint, aEndpoint []wireguard.Endpoint
	// aToB and bToA are, for each entry, the index of the entry with its
	// public key in the other mesh (-1: none), looked up once rather
	// than by every node.
	aToB, bToA []int32
}

func newEntries(b, a *topology.Mesh) *entries {
	e := &entries{b: b, a: a}
	type named struct {
		name, key string
		after     bool
		i         int32
	}
	var all []named
	index := func(m *topology.Mesh, after bool) (map[wireguard.Key]int32, []wireguard.Endpoint) {
		n := m.PeerEntries()
		byKey := make(map[wireguard.Key]int32, n)
		eps := make([]wireguard.Endpoint, n)
		for i := range n {
			p := m.PeerEntry(i)
			byKey[p.PublicKey] = int32(i)
			eps[i] = p.Endpoint
			all = append(all, named{p.Name, p.PublicKey.String(), after, int32(i)})
		}
		return byKey, eps
	}
	var bByKey, aByKey map[wireguard.Key]int32
	bByKey, e.bEndpoint = index(b, false)
	aByKey, e.aEndpoint = index(a, true)
	slices.SortFunc(all, func(x, y named) int { return cmp.Or(strings.Compare(x.name, y.name), strings.Compare(x.key, y.key)) })
	match := func(from *topology.Mesh, to map[wireguard.Key]int32) []int32 {
		out := make([]int32, from.PeerEntries())
		for i := range out {
			j, ok := to[from.PeerEntry(i).PublicKey]
			if !ok {
				j = -1
			}
			out[i] = j
		}
		return out
	}
	e.aToB, e.bToA = match(a, bByKey), match(b, aByKey)
	e.bRank = make([]int32, b.PeerEntries())
	e.aRank = make([]int32, a.PeerEntries())
	for r, n := range all {
		if n.after {
			e.aRank[n.i] = int32(r)
		} else {
			e.bRank[n.i] = int32(r)
		}
	}
	return e
}

// peerMemo is one change between two entries (or an entry added or
// removed), shared by the nodes that see it; text is its rendering, made
// once by the text writer (plain, colored), json the JSON writer's.
type peerMemo struct {
	change WireGuardPeerChange
	// none: the entries configure a device alike, no change.
	none bool
	text [2]*string
	// sum identifies text[0] for the text writer's grouping (see
	// summer), set once summed.
	sum    [2]uint64
	summed bool
	json   *string
}

type memoKey struct {
	b, a   int32
	bk, ak time.Duration
}

// packed is the key in one integer, when it fits (entries below 4
// million, keepalives of whole seconds below 1024: always, in practice),
// which a map looks up several times faster: every node looks up every
// entry.
func (k memoKey) packed() (uint64, bool) {
	const entry, secs = 1<<22 - 1, 1<<10 - 1
	bs, as := k.bk/time.Second, k.ak/time.Second
	if k.b+1 > entry || k.a+1 > entry || bs*time.Second != k.bk || as*time.Second != k.ak || bs > secs || as > secs || bs < 0 || as < 0 {
		return 0, false
	}
	return uint64(k.b+1)<<42 | uint64(k.a+1)<<20 | uint64(bs)<<10 | uint64(as), true
}

// differ computes node changes for one worker; not safe for concurrent
// use.
type differ struct {
	e      *entries
	c      *prefixCache
	memo   map[memoKey]*peerMemo
	memo64 map[uint64]*peerMemo
	ranked []rankedMemo
	bSets  []topology.RouteSet
	aSets  []topology.RouteSet
	// vias, when set, numbers the ways out of packed routes: the
	// changes are the text writer's (see packedRoutes).
	vias *viaTable
}

// nodeBuf holds the arrays of one node change's lists while the change
// is consumed, for the next node computed in the same slot: a streamed
// plan allocates them once per slot, not once per node.
type nodeBuf struct {
	peers          []WireGuardPeerChange
	memos          []*peerMemo
	added, removed []topology.Route
	packedAdded    []uint64
	packedRemoved  []uint64
}

type rankedMemo struct {
	rank int32
	m    *peerMemo
}

func newDiffer(e *entries) *differ {
	return &differ{e: e, c: newPrefixCache(), memo: make(map[memoKey]*peerMemo), memo64: make(map[uint64]*peerMemo)}
}

// memoLimit bounds a differ's memo: the entries of both meshes, a few
// keepalives each.
func (d *differ) memoLimit() int { return 4*(len(d.e.bRank)+len(d.e.aRank)) + 1024 }

// change returns the change between entry i of the before mesh as the
// node sees it (pb) and entry j of the after mesh (pa); i or j is -1 for
// an entry only one side lists.
func (d *differ) change(i, j int32, pb, pa *wireguard.Peer) *peerMemo {
	shared := (pb == nil || pb.Endpoint == d.e.bEndpoint[i]) && (pa == nil || pa.Endpoint == d.e.aEndpoint[j])
	var k memoKey
	if shared {
		k = memoKey{b: i, a: j}
		if pb != nil {
			k.bk = pb.PersistentKeepalive
		}
		if pa != nil {
			k.ak = pa.PersistentKeepalive
		}
		if p, ok := k.packed(); ok {
			if m, ok := d.memo64[p]; ok {
				return m
			}
		} else if m, ok := d.memo[k]; ok {
			return m
		}
	}
	m := &peerMemo{}
	switch {
	case pb == nil:
		m.change = peerChange(Create, nil, pa, d.c)
	case pa == nil:
		m.change = peerChange(Delete, pb, nil, d.c)
	case d.c.samePeer(pb, pa):
		m.none = true
	default:
		m.change = peerChange(Update, pb, pa, d.c)
		m.none = m.change.empty()
	}
	if shared {
		if len(d.memo)+len(d.memo64) >= d.memoLimit() {
			clear(d.memo)
			clear(d.memo64)
		}
		if p, ok := k.packed(); ok {
			d.memo64[p] = m
		} else {
			d.memo[k] = m
		}
	}
	return m
}

// peers compares a node's WireGuard peers, matched by public key, sorted
// by name and key; in or out says whether the node is in that mesh.
func (d *differ) peers(bv topology.View, inB bool, av topology.View, inA bool) ([]WireGuardPeerChange, []*peerMemo) {
	e := d.e
	r := d.ranked[:0]
	if inA {
		for j := range e.a.PeerEntries() {
			pa, ok := av.PeerAt(j)
			if !ok {
				continue
			}
			if i := e.aToB[j]; i >= 0 && inB {
				if pb, ok := bv.PeerAt(int(i)); ok {
					if m := d.change(i, int32(j), &pb, &pa); !m.none {
						r = append(r, rankedMemo{e.aRank[j], m})
					}
					continue
				}
			}
			r = append(r, rankedMemo{e.aRank[j], d.change(-1, int32(j), nil, &pa)})
		}
	}
	if inB {
		for i := range e.b.PeerEntries() {
			pb, ok := bv.PeerAt(i)
			if !ok {
				continue
			}
			if j := e.bToA[i]; j >= 0 && inA && av.Has(int(j)) {
				continue
			}
			r = append(r, rankedMemo{e.bRank[i], d.change(int32(i), -1, &pb, nil)})
		}
	}
	d.ranked = r
	if len(r) == 0 {
		return nil, nil
	}
	slices.SortFunc(r, func(x, y rankedMemo) int { return cmp.Compare(x.rank, y.rank) })
	var out []WireGuardPeerChange
	var memos []*peerMemo
	if b := d.c.into; b != nil {
		out, memos = b.peers[:0], b.memos[:0]
	}
	for _, x := range r {
		out, memos = append(out, x.m.change), append(memos, x.m)
	}
	if b := d.c.into; b != nil {
		b.peers, b.memos = out, memos
	}
	return out, memos
}

// routeSets collects a view's route sets into buf.
func routeSets(buf []topology.RouteSet, v topology.View, in bool) []topology.RouteSet {
	buf = buf[:0]
	if !in {
		return buf
	}
	for s := range v.RouteSets() {
		buf = append(buf, s)
	}
	return buf
}

// nodeChange compares one node's views; ok is false when nothing changes.
func (d *differ) nodeChange(name string, bp, ap topology.Problems) (NodeChange, bool) {
	b, a := d.e.b, d.e.a
	bv, inB := b.View(name)
	av, inA := a.View(name)
	ch := NodeChange{Name: name}
	var bseg, bloc, aseg, aloc string
	var bip, aip netip.Prefix
	var bport, aport int
	if inB {
		bseg, bloc = bv.Segment().Name, bv.Segment().Location
		bip, bport = bv.WireGuardIP(), b.Settings.Port
	}
	if inA {
		aseg, aloc = av.Segment().Name, av.Segment().Location
		aip, aport = av.WireGuardIP(), a.Settings.Port
	}
	ch.Segment = changed(bseg, aseg)
	ch.Location = changed(bloc, aloc)
	ch.Leader = changed(inB && bv.Leader(), inA && av.Leader())
	ch.WireGuardIP = changed(bip, aip)
	ch.ListenPort = changed(bport, aport)
	ch.Peers, ch.memos = d.peers(bv, inB, av, inA)
	d.bSets = routeSets(d.bSets, bv, inB)
	d.aSets = routeSets(d.aSets, av, inA)
	switch {
	case inA && !inB:
		ch.Action = Create
		ch.Routes.Added = allRoutes(d.aSets)
		ch.Rules.Added = sortRules(av.Rules())
		ch.Reason = joinReason(name, av.Segment(), av.Leader(), bp)
	case inB && !inA:
		ch.Action = Delete
		ch.Routes.Removed = allRoutes(d.bSets)
		ch.Rules.Removed = sortRules(bv.Rules())
		ch.Reason = "leaves the mesh: " + leftOut(ap, "Node", name, "no longer in the cluster")
	default:
		ch.Routes, ch.packed = d.c.routeChanges(d.bSets, d.aSets, d.vias)
		ch.Rules = rules(bv.Rules(), av.Rules())
		if ch.Segment == nil && ch.Location == nil && ch.Leader == nil && ch.WireGuardIP == nil &&
			ch.ListenPort == nil && len(ch.Peers) == 0 && ch.routeCount() == 0 && ch.Rules.Empty() {
			return ch, false
		}
		ch.Action = Update
		ch.Reason = updateReason(&ch, av.Segment())
	}
	return ch, true
}
