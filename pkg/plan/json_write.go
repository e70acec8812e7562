package plan

import (
	"bufio"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Node changes are rendered by hand: a flip to a full mesh writes every
// node's change of every other node, millions of routes, and marshalling
// each route by reflection cost five times the text plan (40 s of CPU for
// 2,000 nodes). The bytes are
// those encoding/json's MarshalIndent(jsonChange, "    ", "  ") writes
// (json_reference_test.go keeps that path and compares the two), field
// for field in jsonChange's order, with its omitempty rules and its
// escaping of strings (HTML characters and U+2028/U+2029 escaped,
// invalid UTF-8 replaced).

// jsonIndents holds a newline and the indentation of every level the
// node changes use: the array items' prefix (4 spaces), then 2 a level.
const jsonIndents = "\n    " + "                                "

// jsonIndent appends a newline and the indentation of level (0: a change
// in the changes array).
func jsonIndent(b []byte, level int) []byte {
	return append(b, jsonIndents[:5+2*level]...)
}

// jsonKey appends `,` (unless first), the indentation of level and `"name": `.
func jsonKey(b []byte, level int, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = jsonIndent(b, level)
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':', ' ')
}

// jsonSafe marks the ASCII bytes encoding/json writes as they are (with
// HTML escaping): printable, not a quote, backslash, <, > or &.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json writes a string:
// `"` and `\` backslashed, \b \f \n \r \t by name, other control bytes
// and <, >, & as \u00XX, U+2028 and U+2029 as \u2028 and \u2029, and each
// byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// appendIPv4 appends an IPv4 address as netip writes it (appendDecimal:
// see packed.go).
func appendIPv4(b []byte, a netip.Addr) []byte {
	x := a.As4()
	b = appendDecimal(b, uint32(x[0]))
	b = append(b, '.')
	b = appendDecimal(b, uint32(x[1]))
	b = append(b, '.')
	b = appendDecimal(b, uint32(x[2]))
	b = append(b, '.')
	return appendDecimal(b, uint32(x[3]))
}

// appendJSONPrefix appends a CIDR as encoding/json writes a netip.Prefix
// (its MarshalText, whose characters need no escaping).
func appendJSONPrefix(b []byte, p netip.Prefix) []byte {
	b = append(b, '"')
	if a := p.Addr(); a.Is4() && p.IsValid() {
		b = appendIPv4(b, a)
		b = append(b, '/')
		b = appendDecimal(b, uint32(p.Bits()))
	} else {
		b = p.AppendTo(b)
	}
	return append(b, '"')
}

// appendJSONAddr appends addrString(a) as a JSON string; only a zone can
// hold characters to escape.
func appendJSONAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	switch {
	case a.Is4():
		b = appendIPv4(b, a)
	case a.Zone() != "":
		return appendJSONString(b[:len(b)-1], a.String())
	default:
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

// appendDevice and appendTable append a route's device and table as
// JSON strings, the engine's without a look at their bytes.
func appendDevice(b []byte, d topology.Device) []byte {
	switch d {
	case topology.DeviceWireGuard:
		return append(b, `"wireguard"`...)
	case topology.DevicePrivate:
		return append(b, `"private"`...)
	case topology.DeviceTunnel:
		return append(b, `"tunnel"`...)
	}
	return appendJSONString(b, string(d))
}

func appendTable(b []byte, t topology.Table) []byte {
	switch t {
	case topology.TableMesh:
		return append(b, `"mesh"`...)
	case topology.TableEncap:
		return append(b, `"encap"`...)
	}
	return appendJSONString(b, string(t))
}

// appendChange appends a before/after object whose key is at level.
func appendChange[T any](b []byte, level int, c *Change[T], value func([]byte, T) []byte) []byte {
	b = append(b, '{')
	b = jsonKey(b, level+1, "before", true)
	b = value(b, c.Before)
	b = jsonKey(b, level+1, "after", false)
	b = value(b, c.After)
	b = jsonIndent(b, level)
	return append(b, '}')
}

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendPrefixString appends prefixString(p) as a JSON string.
func appendPrefixString(b []byte, p netip.Prefix) []byte {
	if !p.IsValid() {
		return append(b, '"', '"')
	}
	return appendJSONPrefix(b, p)
}

// appendList appends a JSON array whose key is at level, its items one
// level deeper; an empty list is [].
func appendList[T any](b []byte, level int, xs []T, item func([]byte, T) []byte) []byte {
	if len(xs) == 0 {
		return append(b, '[', ']')
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonIndent(b, level+1)
		b = item(b, x)
	}
	b = jsonIndent(b, level)
	return append(b, ']')
}

// appendPrefixDiff appends an added/removed pair of CIDRs whose key is at
// level (the caller leaves it out when both are empty).
func appendPrefixDiff(b []byte, level int, d PrefixDiff) []byte {
	b = append(b, '{')
	b = jsonKey(b, level+1, "added", true)
	b = appendList(b, level+1, d.Added, appendJSONPrefix)
	b = jsonKey(b, level+1, "removed", false)
	b = appendList(b, level+1, d.Removed, appendJSONPrefix)
	b = jsonIndent(b, level)
	return append(b, '}')
}

// appendWireGuardPeerJSON appends one WireGuard peer change as an item
// of a change's wireguard_peers (or config): the newline, its indentation
// (level 2) and the object.
func appendWireGuardPeerJSON(b []byte, p *WireGuardPeerChange) []byte {
	const l = 3 // the fields' level
	b = jsonIndent(b, l-1)
	b = append(b, '{')
	b = jsonKey(b, l, "action", true)
	b = appendJSONString(b, string(p.Action))
	b = jsonKey(b, l, "name", false)
	b = appendJSONString(b, p.Name)
	b = jsonKey(b, l, "public_key", false)
	b = appendJSONString(b, p.PublicKey)
	if p.Endpoint != nil {
		b = jsonKey(b, l, "endpoint", false)
		b = appendChange(b, l, p.Endpoint, appendJSONString)
	}
	if !p.AllowedIPs.Empty() {
		b = jsonKey(b, l, "allowed_ips", false)
		b = appendPrefixDiff(b, l, p.AllowedIPs)
	}
	if p.PersistentKeepalive != nil {
		b = jsonKey(b, l, "persistent_keepalive", false)
		b = appendChange(b, l, p.PersistentKeepalive, appendInt)
	}
	if p.PresharedKey != "" {
		b = jsonKey(b, l, "preshared_key", false)
		b = appendJSONString(b, p.PresharedKey)
	}
	b = jsonIndent(b, l-1)
	return append(b, '}')
}

// peerJSON is the shared peer change rendered as an item of
// wireguard_peers, once for every node that lists it.
func (m *peerMemo) peerJSON() string {
	if m.json == nil {
		s := string(appendWireGuardPeerJSON(nil, &m.change))
		m.json = &s
	}
	return *m.json
}

// jsonFlushAt is how many bytes a node writer collects before handing
// them to the buffered writer (which writes a full chunk through).
const jsonFlushAt = 64 << 10

// nodeJSONWriter renders node changes into a buffer it hands on to w in
// chunks; the buffer is kept from node to node.
type nodeJSONWriter struct {
	w   *bufio.Writer
	buf []byte
	// tails are the rendered ways out of the differs' tables.
	tails map[*viaEntry]*[]string
}

// spill hands the buffer on once it is full enough.
func (j *nodeJSONWriter) spill() error {
	if len(j.buf) < jsonFlushAt {
		return nil
	}
	return j.flush()
}

func (j *nodeJSONWriter) flush() error {
	_, err := j.w.Write(j.buf)
	j.buf = j.buf[:0]
	return err
}

// node writes one node change as an item of the changes array, preceded
// by a comma unless first; it writes what json.MarshalIndent(nodeJSON(n),
// "    ", "  ") writes after the newline and indentation.
func (j *nodeJSONWriter) node(n *NodeChange, first bool) error {
	const l = 1 // the fields' level
	b := j.buf
	if !first {
		b = append(b, ',')
	}
	b = jsonIndent(b, 0)
	b = append(b, '{')
	b = jsonKey(b, l, "kind", true)
	b = append(b, `"node"`...)
	b = jsonKey(b, l, "name", false)
	b = appendJSONString(b, n.Name)
	b = jsonKey(b, l, "action", false)
	b = appendJSONString(b, string(n.Action))
	b = jsonKey(b, l, "reason", false)
	b = appendJSONString(b, n.Reason)
	if n.Segment != nil {
		b = jsonKey(b, l, "segment", false)
		b = appendChange(b, l, n.Segment, appendJSONString)
	}
	if n.Location != nil {
		b = jsonKey(b, l, "location", false)
		b = appendChange(b, l, n.Location, appendJSONString)
	}
	if n.Leader != nil {
		b = jsonKey(b, l, "is_leader", false)
		b = appendChange(b, l, n.Leader, appendBool)
	}
	if n.WireGuardIP != nil {
		b = jsonKey(b, l, "wireguard_ip", false)
		b = appendChange(b, l, n.WireGuardIP, appendPrefixString)
	}
	if n.ListenPort != nil {
		b = jsonKey(b, l, "listen_port", false)
		b = appendChange(b, l, n.ListenPort, appendInt)
	}
	j.buf = b
	if len(n.Peers) > 0 {
		j.buf = jsonKey(j.buf, l, "wireguard_peers", false)
		j.buf = append(j.buf, '[')
		memos := n.memos
		if len(memos) != len(n.Peers) {
			memos = nil
		}
		for i := range n.Peers {
			if i > 0 {
				j.buf = append(j.buf, ',')
			}
			if memos != nil {
				j.buf = append(j.buf, memos[i].peerJSON()...)
			} else {
				j.buf = appendWireGuardPeerJSON(j.buf, &n.Peers[i])
			}
			if err := j.spill(); err != nil {
				return err
			}
		}
		j.buf = jsonIndent(j.buf, l)
		j.buf = append(j.buf, ']')
	}
	if p := n.packed; p != nil && (len(p.added) > 0 || len(p.removed) > 0) {
		tails := j.tailsOf(p.vias)
		j.buf = jsonKey(j.buf, l, "routes", false)
		j.buf = append(j.buf, '{')
		j.buf = jsonKey(j.buf, l+1, "added", true)
		if err := j.packedRoutes(p.added, p.vias, tails); err != nil {
			return err
		}
		j.buf = jsonKey(j.buf, l+1, "removed", false)
		if err := j.packedRoutes(p.removed, p.vias, tails); err != nil {
			return err
		}
		j.buf = jsonIndent(j.buf, l)
		j.buf = append(j.buf, '}')
	} else if !n.Routes.Empty() {
		j.buf = jsonKey(j.buf, l, "routes", false)
		j.buf = append(j.buf, '{')
		j.buf = jsonKey(j.buf, l+1, "added", true)
		if err := j.routes(n.Routes.Added); err != nil {
			return err
		}
		j.buf = jsonKey(j.buf, l+1, "removed", false)
		if err := j.routes(n.Routes.Removed); err != nil {
			return err
		}
		j.buf = jsonIndent(j.buf, l)
		j.buf = append(j.buf, '}')
	}
	if !n.Rules.Empty() {
		b := jsonKey(j.buf, l, "rules", false)
		b = append(b, '{')
		b = jsonKey(b, l+1, "added", true)
		b = appendList(b, l+1, n.Rules.Added, appendRuleJSON)
		b = jsonKey(b, l+1, "removed", false)
		b = appendList(b, l+1, n.Rules.Removed, appendRuleJSON)
		b = jsonIndent(b, l)
		j.buf = append(b, '}')
	}
	j.buf = jsonIndent(j.buf, 0)
	j.buf = append(j.buf, '}')
	return j.spill()
}

// appendRouteTail appends the rest of a route item after its
// destination: gateway, device, onlink, table and the closing brace.
func appendRouteTail(b []byte, r topology.Route) []byte {
	const l = 4 // a route's fields' level
	if r.Gw.IsValid() {
		b = jsonKey(b, l, "gw", false)
		b = appendJSONAddr(b, r.Gw)
	}
	b = jsonKey(b, l, "device", false)
	b = appendDevice(b, r.Device)
	if r.OnLink {
		b = jsonKey(b, l, "onlink", false)
		b = append(b, "true"...)
	}
	b = jsonKey(b, l, "table", false)
	b = appendTable(b, r.Table)
	b = jsonIndent(b, l-1)
	return append(b, '}')
}

// routeHead opens a route item of routes.added or .removed (level 3)
// up to its destination's value.
const routeHead = "\n          {\n            \"dst\": "

// routes appends a list of routes, the value of a key at level 2, each
// route formatted in place.
func (j *nodeJSONWriter) routes(rs []topology.Route) error {
	if len(rs) == 0 {
		j.buf = append(j.buf, '[', ']')
		return nil
	}
	j.buf = append(j.buf, '[')
	for i, r := range rs {
		b := j.buf
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, routeHead...)
		b = appendJSONPrefix(b, r.Dst)
		j.buf = appendRouteTail(b, r)
		if err := j.spill(); err != nil {
			return err
		}
	}
	j.buf = jsonIndent(j.buf, 2)
	j.buf = append(j.buf, ']')
	return nil
}

// tailsOf returns the rendered tails of the ways out of a differ's table
// (a view of it: entries below its length never change), rendered as
// routes need them: a table is known by its first entry, and a worker's
// table grown into a new array is a new one.
func (j *nodeJSONWriter) tailsOf(vias []viaEntry) *[]string {
	if len(vias) == 0 {
		return nil
	}
	t, ok := j.tails[&vias[0]]
	if !ok {
		if j.tails == nil || len(j.tails) >= 64 {
			j.tails = make(map[*viaEntry]*[]string)
		}
		t = new([]string)
		j.tails[&vias[0]] = t
	}
	return t
}

// packedRoutes appends a list of packed routes (see packedRoutes), the
// value of a key at level 2: the destination from the key, the rest
// of the item rendered once per way out.
func (j *nodeJSONWriter) packedRoutes(keys []uint64, vias []viaEntry, tails *[]string) error {
	if len(keys) == 0 {
		j.buf = append(j.buf, '[', ']')
		return nil
	}
	j.buf = append(j.buf, '[')
	for i, k := range keys {
		b := j.buf
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, routeHead...)
		b = append(b, '"')
		b = appendPackedDst(b, k)
		b = append(b, '"')
		vi := int(k & viaMask)
		if vi >= len(*tails) {
			*tails = append(*tails, make([]string, vi+1-len(*tails))...)
		}
		if (*tails)[vi] == "" {
			v := vias[vi].v
			(*tails)[vi] = string(appendRouteTail(nil, topology.Route{Gw: v.gw, Device: v.device, OnLink: v.onlink, Table: v.table}))
		}
		j.buf = append(b, (*tails)[vi]...)
		if err := j.spill(); err != nil {
			return err
		}
	}
	j.buf = jsonIndent(j.buf, 2)
	j.buf = append(j.buf, ']')
	return nil
}

// appendRuleJSON appends a rule as an item of rules.added or .removed.
func appendRuleJSON(b []byte, r topology.Rule) []byte {
	const l = 4 // the fields' level
	b = append(b, '{')
	first := true
	if r.Src.IsValid() {
		b = jsonKey(b, l, "src", first)
		b = appendJSONPrefix(b, r.Src)
		first = false
	}
	if r.Dst.IsValid() {
		b = jsonKey(b, l, "dst", first)
		b = appendJSONPrefix(b, r.Dst)
		first = false
	}
	if r.FromWireGuard {
		b = jsonKey(b, l, "iif_wireguard", first)
		b = append(b, "true"...)
		first = false
	}
	b = jsonKey(b, l, "table", first)
	b = appendTable(b, r.Table)
	b = jsonIndent(b, l-1)
	return append(b, '}')
}
