package agent

import (
	"hash/maphash"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// buildCache keeps the last mesh built and the key of its inputs, so a
// reconcile whose inputs did not change (a resync, a heartbeat, a change
// of something the mesh does not read) builds nothing.
//
// The key is a 128-bit hash of everything the engine reads, after
// translation and the agent's liveness adjustment: every translated Node
// and Peer (whatever fields they gain: they are hashed by reflection),
// the settings, and for each node the liveness verdict in place of the
// times that decide it (its last-seen and when its Ready condition
// changed move on every reconcile; the verdict rarely). Settings.Now is
// left out for the same reason. So the one thing a cached mesh holds
// that is older than a fresh one is the wording of a stale node's
// problem ("last seen 2m0s before now"), from the build that first left
// it out.
//
// Translation is memoized per Node object: the informer's objects are
// shared and read only, so an object with the same address and resource
// version is the one translated before (objects without a resource
// version, made by hand, are translated every time).
type buildCache struct {
	seeds [2]maphash.Seed
	key   [2]uint64
	mesh  *topology.Mesh
	// Builds counts topology.Build calls (tests).
	Builds int

	nodes map[string]*translated
	gen   uint64
	order []*translated // the last reconcile's nodes, reused
	// nodeOpts are the options the memo was translated with.
	nodeOpts translate.NodeOptions
	scratch  topology.Node

	// The last desired state, for the mesh it was computed for.
	desiredMesh *topology.Mesh
	desired     State
}

// translated is one Node's translation and the hash of it without the
// times liveness reads.
type translated struct {
	obj      *corev1.Node
	version  string
	node     topology.Node
	problems topology.Problems
	ok       bool
	hash     [2]uint64
	hashOK   bool
	gen      uint64
}

// build is source.Build through the cache.
func (c *buildCache) build(objs source.Objects, opts source.Options) (*topology.Mesh, topology.Problems, error) {
	if c.seeds[0] == (maphash.Seed{}) {
		c.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
		c.nodes = map[string]*translated{}
	}
	if opts.Node != c.nodeOpts {
		c.nodes, c.nodeOpts = map[string]*translated{}, opts.Node
	}
	c.gen++
	// What source.Translate does, from the memo (TestBuildCacheTranslatesAlike).
	problems := slices.Clone(objs.Problems)
	nodes := c.order[:0]
	for _, n := range objs.Nodes {
		t := c.translate(n, opts)
		problems = append(problems, t.problems...)
		if t.ok {
			nodes = append(nodes, t)
		}
	}
	var peers []topology.Peer
	for _, p := range objs.Peers {
		tp, ps, ok := translate.Peer(p)
		problems = append(problems, ps...)
		if ok {
			peers = append(peers, tp)
		}
	}
	c.order = nodes
	for name, t := range c.nodes {
		if t.gen != c.gen {
			delete(c.nodes, name)
		}
	}

	cl := topology.Cluster{Settings: opts.Settings, Peers: peers}
	key, ok := c.keyOf(cl, nodes, opts, nil)
	if ok && c.mesh != nil && key == c.key {
		if len(problems) == 0 {
			// Clipped: an append by the caller cannot write into the mesh's.
			return c.mesh, slices.Clip(c.mesh.Problems), nil
		}
		return c.mesh, append(problems, c.mesh.Problems...), nil
	}
	// Build from the same adjusted nodes the stored key is made of.
	cl.Nodes = make([]topology.Node, 0, len(nodes))
	key, ok = c.keyOf(cl, nodes, opts, &cl.Nodes)
	c.Builds++
	c.mesh = nil
	m, err := topology.Build(cl)
	if err != nil {
		return nil, problems, err
	}
	if ok {
		c.key, c.mesh = key, m
	}
	return m, append(problems, m.Problems...), nil
}

func (c *buildCache) translate(n *corev1.Node, opts source.Options) *translated {
	t := c.nodes[n.Name]
	if t == nil || t.obj != n || t.version != n.ResourceVersion || n.ResourceVersion == "" {
		if t == nil || t.obj == n || n.ResourceVersion == "" {
			// A new name, or an object changed in place: fresh memory,
			// the old translation may be in use by the last mesh.
			t = &translated{}
			c.nodes[n.Name] = t
		}
		t.obj, t.version = n, n.ResourceVersion
		t.node, t.problems, t.ok = translate.Node(n, opts.Node)
		t.hash, t.hashOK = c.hashNode(&t.node)
	}
	t.gen = c.gen
	return t
}

// hashNode hashes a translated node without its liveness times.
func (c *buildCache) hashNode(n *topology.Node) (sum [2]uint64, ok bool) {
	ok = true
	for i, seed := range c.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		hs := hasher{h: &h, ok: true}
		hs.value(reflect.ValueOf(n).Elem())
		sum[i], ok = h.Sum64(), ok && hs.ok
	}
	return sum, ok
}

// keyOf hashes the engine's input: each node's memoized hash and its
// liveness verdict after the agent's adjustment (appended to out when
// out is not nil), the peers and the settings. ok is false when some
// value cannot be hashed (a kind of field the hasher does not know):
// then nothing is cached.
func (c *buildCache) keyOf(cl topology.Cluster, nodes []*translated, opts source.Options, out *[]topology.Node) (key [2]uint64, ok bool) {
	ok = true
	var hs [2]hasher
	var hh [2]maphash.Hash
	for i := range hs {
		hh[i].SetSeed(c.seeds[i])
		hs[i] = hasher{h: &hh[i], ok: true}
		hs[i].value(reflect.ValueOf(&cl.Settings).Elem())
		hs[i].uint(uint64(len(nodes)))
	}
	n := &c.scratch // not a local: it would escape, once per node
	for _, t := range nodes {
		*n = t.node
		if opts.Liveness != nil {
			opts.Liveness(n)
		}
		alive := cl.Settings.Alive(n)
		ok = ok && t.hashOK
		for i := range hs {
			hs[i].bool(alive)
			hs[i].uint(t.hash[i])
		}
		if out != nil {
			*out = append(*out, *n)
		}
	}
	for i := range hs {
		hs[i].uint(uint64(len(cl.Peers)))
		for j := range cl.Peers {
			hs[i].value(reflect.ValueOf(&cl.Peers[j]).Elem())
		}
		ok = ok && hs[i].ok
		key[i] = hh[i].Sum64()
	}
	return key, ok
}

// desiredState is desiredFor, computed once per mesh: the view, the
// private key and the host configuration do not change between two
// reconciles of one agent.
func (c *buildCache) desiredState(m *topology.Mesh, view topology.NodeView, key wireguard.Key, hc HostConfig) State {
	if m != c.desiredMesh || m == nil {
		c.desired, c.desiredMesh = desiredFor(m, view, key, hc), m
	}
	return c.desired
}

// Fields the key leaves out: the clock and the times liveness reads
// (their verdict is hashed instead).
var (
	timeType     = reflect.TypeFor[time.Time]()
	addrType     = reflect.TypeFor[netip.Addr]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
	skipFields   = map[reflect.Type]map[string]bool{
		reflect.TypeFor[topology.Settings](): {"Now": true},
		reflect.TypeFor[topology.Node]():     {"LastSeen": true},
	}
	readyType = func() reflect.Type {
		if f, ok := reflect.TypeFor[topology.Node]().FieldByName("Ready"); ok {
			return f.Type
		}
		return nil
	}()
)

func init() {
	if readyType != nil && readyType.Kind() == reflect.Struct {
		skipFields[readyType] = map[string]bool{"Since": true}
	}
}

// hasher feeds values to a maphash, unambiguously (lengths before
// contents), without allocating for the types the engine's input uses.
type hasher struct {
	h  *maphash.Hash
	ok bool
}

func (hs *hasher) uint(u uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	_, _ = hs.h.Write(b[:])
}

func (hs *hasher) bool(b bool) {
	if b {
		_ = hs.h.WriteByte(1)
	} else {
		_ = hs.h.WriteByte(0)
	}
}

func (hs *hasher) string(s string) {
	hs.uint(uint64(len(s)))
	_, _ = hs.h.WriteString(s)
}

func (hs *hasher) addr(a netip.Addr) {
	b := a.As16()
	if !a.IsValid() {
		_ = hs.h.WriteByte(0)
		return
	}
	_ = hs.h.WriteByte(byte(a.BitLen()))
	_, _ = hs.h.Write(b[:])
	hs.string(a.Zone())
}

func (hs *hasher) value(v reflect.Value) {
	t := v.Type()
	if v.CanAddr() && v.CanInterface() {
		switch t {
		case timeType:
			tt := (*time.Time)(v.Addr().UnsafePointer())
			hs.bool(tt.IsZero())
			hs.uint(uint64(tt.UnixNano()))
			return
		case addrType:
			hs.addr(*(*netip.Addr)(v.Addr().UnsafePointer()))
			return
		case prefixType:
			p := (*netip.Prefix)(v.Addr().UnsafePointer())
			hs.addr(p.Addr())
			hs.uint(uint64(p.Bits() + 1))
			return
		case addrPortType:
			ap := (*netip.AddrPort)(v.Addr().UnsafePointer())
			hs.addr(ap.Addr())
			hs.uint(uint64(ap.Port()))
			return
		}
	}
	switch v.Kind() {
	case reflect.Bool:
		hs.bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		hs.uint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		hs.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		hs.uint(math.Float64bits(v.Float()))
	case reflect.String:
		hs.string(v.String())
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && v.CanAddr() {
			_, _ = hs.h.Write(unsafeBytes(v))
			return
		}
		for i := range v.Len() {
			hs.value(v.Index(i))
		}
	case reflect.Slice:
		hs.bool(v.IsNil())
		hs.uint(uint64(v.Len()))
		for i := range v.Len() {
			hs.value(v.Index(i))
		}
	case reflect.Pointer:
		hs.bool(v.IsNil())
		if !v.IsNil() {
			hs.value(v.Elem())
		}
	case reflect.Struct:
		skip := skipFields[t]
		for i := range v.NumField() {
			if skip[t.Field(i).Name] {
				continue
			}
			hs.value(v.Field(i))
		}
	case reflect.Map:
		// Order-independent: the sum of each entry's own hash.
		hs.bool(v.IsNil())
		hs.uint(uint64(v.Len()))
		var sum uint64
		it := v.MapRange()
		for it.Next() {
			var eh maphash.Hash
			eh.SetSeed(hs.h.Seed())
			e := hasher{h: &eh, ok: true}
			k, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			k.SetIterKey(it)
			val.SetIterValue(it)
			e.value(k)
			e.value(val)
			hs.ok = hs.ok && e.ok
			sum += eh.Sum64()
		}
		hs.uint(sum)
	default:
		hs.ok = false // interfaces, funcs, channels: not an input we know
	}
}

// unsafeBytes is an addressable byte array's bytes.
func unsafeBytes(v reflect.Value) []byte {
	return unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Len())
}
