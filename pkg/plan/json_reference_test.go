package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	linediff "github.com/kgctl/kgctl/internal/golden"

	"github.com/kgctl/kgctl/pkg/topology"
)

// The reference: node changes as jsonChange values, marshalled by
// encoding/json. WriteJSON renders node changes by hand and must write
// these bytes.

func nodeJSON(n *NodeChange) jsonChange {
	c := jsonChange{Kind: "node", Name: n.Name, Action: n.Action, Reason: n.Reason,
		Segment: n.Segment, Location: n.Location, IsLeader: n.Leader, ListenPort: n.ListenPort}
	if n.WireGuardIP != nil {
		c.WireGuardIP = &Change[string]{Before: prefixString(n.WireGuardIP.Before), After: prefixString(n.WireGuardIP.After)}
	}
	c.WireGuardPeers = wgPeersJSON(n.Peers)
	c.Routes = diffOf(routesJSON(n.Routes.Added), routesJSON(n.Routes.Removed))
	c.Rules = diffOf(rulesJSON(n.Rules.Added), rulesJSON(n.Rules.Removed))
	return c
}

func routesJSON(rs []topology.Route) []jsonRoute {
	var out []jsonRoute
	for _, r := range rs {
		out = append(out, jsonRoute{Dst: r.Dst, Gw: addrString(r.Gw), Device: r.Device, OnLink: r.OnLink, Table: r.Table})
	}
	return out
}

func rulesJSON(rs []topology.Rule) []jsonRule {
	var out []jsonRule
	for _, r := range rs {
		out = append(out, jsonRule{Src: prefixString(r.Src), Dst: prefixString(r.Dst), FromWireGuard: r.FromWireGuard, Table: r.Table})
	}
	return out
}

// referenceNodeJSON is a node change as WriteJSON writes it after the
// comma of the previous change: a newline, the array's indentation and
// the object.
func referenceNodeJSON(t testing.TB, n *NodeChange) string {
	t.Helper()
	b, err := json.MarshalIndent(nodeJSON(n), "    ", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return "\n    " + string(b)
}

// handNodeJSON is the same by the hand renderer.
func handNodeJSON(t testing.TB, n *NodeChange) string {
	t.Helper()
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	nw := nodeJSONWriter{w: bw}
	if err := nw.node(n, true); err != nil {
		t.Fatal(err)
	}
	if err := nw.flush(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// writeJSONReference is WriteJSON with every change marshalled by
// encoding/json.
func writeJSONReference(w io.Writer, p *Plan) error {
	var out bytes.Buffer
	first := true
	item := func(v any) error {
		b, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		if !first {
			out.WriteString(",")
		}
		first = false
		out.WriteString("\n    ")
		out.Write(b)
		return nil
	}
	end := func() {
		if !first {
			out.WriteString("\n  ")
		}
		out.WriteString("]")
	}
	version, _ := json.Marshal(FormatVersion)
	out.WriteString("{\n  \"format_version\": " + string(version) + ",\n  \"changes\": [")
	for _, s := range p.Settings {
		if err := item(jsonChange{
			Kind: "setting", Name: s.Field, Action: Update,
			Reason: "--" + s.Field + " changes", Value: &Change[string]{Before: s.Before, After: s.After},
		}); err != nil {
			return err
		}
	}
	if err := p.eachNode(func(_ int, n *NodeChange) error { return item(nodeJSON(n)) }); err != nil {
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
	out.WriteString(",\n  \"warnings\": [")
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
	out.WriteString(",\n  \"summary\": ")
	out.Write(summary)
	out.WriteString("\n}\n")
	_, err = w.Write(out.Bytes())
	return err
}

// oddMeshPairs are mesh pairs whose names, locations and Peers hold
// characters JSON escapes: quotes, backslashes, <, >, &, control
// characters, U+2028, non-ASCII and invalid UTF-8 (the reasons quote them
// again, Go-style).
func oddMeshPairs() map[string][2]topology.Cluster {
	out := map[string][2]topology.Cluster{}
	r := rand.New(rand.NewPCG(20, 26))
	for k := range 8 {
		before := benchCluster(6+r.IntN(10), 1+r.IntN(3))
		for i := range before.Nodes {
			n := &before.Nodes[i]
			if r.IntN(2) == 0 {
				n.Name = oddString(r) + n.Name
			}
			if r.IntN(2) == 0 {
				n.Location = oddString(r) + n.Location
			}
		}
		for i := range before.Peers {
			before.Peers[i].Name = oddString(r) + before.Peers[i].Name
		}
		after := before
		after.Nodes = slices.Clone(before.Nodes)
		after.Settings.Granularity = topology.Granularities[r.IntN(len(topology.Granularities))]
		for range 1 + r.IntN(3) {
			i := r.IntN(len(after.Nodes))
			switch r.IntN(3) {
			case 0:
				after.Nodes[i].Location = oddString(r)
			case 1:
				after.Nodes[i].Leader = true
			case 2:
				after.Nodes = slices.Delete(after.Nodes, i, i+1)
			}
		}
		after.Nodes = append(after.Nodes, benchNode(300+k, 2))
		after.Nodes[len(after.Nodes)-1].Name = oddString(r) + "joins"
		out[fmt.Sprintf("odd-%02d/%s", k, after.Settings.Granularity)] = [2]topology.Cluster{before, after}
	}
	return out
}

// oddPieces are what oddString strings together.
var oddPieces = []string{
	`"`, `\`, "<", ">", "&", "<script>", "\x00", "\x01", "\x1f", "\x7f", "\b", "\f", "\n", "\r", "\t",
	"\u2028", "\u2029", "é", "日本", "😀", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"a", "node-1", " ", "'", "/", "%", "{}", "[]", ":", ",",
}

func oddString(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(5) {
		b.WriteString(oddPieces[r.IntN(len(oddPieces))])
	}
	return b.String()
}

// WriteJSON writes what encoding/json writes, change for change, for
// every node of every test mesh pair, streamed (New, whose peer changes
// are rendered once and shared) and kept (Compare).
func TestWriteJSONMatchesReference(t *testing.T) {
	pairs := meshPairs()
	for name, pair := range oddMeshPairs() {
		pairs[name] = pair
	}
	// Several batches of workers, their shared peer changes rendered
	// once and reused.
	c := benchCluster(48, 5)
	flip := c
	flip.Settings.Granularity = topology.FullGranularity
	pairs["flip of 48 nodes"] = [2]topology.Cluster{c, flip}
	pairs["unflip of 48 nodes"] = [2]topology.Cluster{flip, c}
	for name, pair := range pairs {
		b, a := mustBuild(t, pair[0]), mustBuild(t, pair[1])
		for _, mode := range []string{"New", "Compare"} {
			plan := func() *Plan {
				if mode == "New" {
					return New(State{Mesh: b}, State{Mesh: a})
				}
				return Compare(State{Mesh: b}, State{Mesh: a})
			}
			var want, got bytes.Buffer
			if err := writeJSONReference(&want, plan()); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&got, plan()); err != nil {
				t.Fatal(err)
			}
			if d := linediff.Diff(want.String(), got.String()); d != "" {
				t.Fatalf("%s (%s): WriteJSON differs from encoding/json's (-reference +WriteJSON):\n%s", name, mode, d)
			}
			if !json.Valid(got.Bytes()) {
				t.Fatalf("%s (%s): WriteJSON writes invalid JSON", name, mode)
			}
		}
	}
}

// randomNodeChange is a node change with every field set or not, odd
// strings everywhere a string goes, and routes and rules of both
// families, with and without gateways (some with zones), sources and
// destinations.
func randomNodeChange(r *rand.Rand) NodeChange {
	str := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return oddString(r)
	}
	strChange := func() *Change[string] {
		if r.IntN(3) == 0 {
			return nil
		}
		return &Change[string]{Before: str(), After: str()}
	}
	intChange := func() *Change[int] {
		if r.IntN(3) == 0 {
			return nil
		}
		return &Change[int]{Before: r.IntN(70000) - 5, After: r.IntN(70000)}
	}
	prefix := func() netip.Prefix {
		switch r.IntN(6) {
		case 0:
			return netip.Prefix{}
		case 1:
			return netip.PrefixFrom(netip.MustParseAddr("fd00::1"), r.IntN(129))
		case 2:
			return netip.PrefixFrom(netip.MustParseAddr("::ffff:10.1.2.3"), 96+r.IntN(33))
		case 3:
			// Not a valid prefix: encoding/json writes its MarshalText.
			return netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 40)
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), 0}), r.IntN(33))
	}
	prefixes := func() []netip.Prefix {
		if r.IntN(3) == 0 {
			return nil
		}
		out := make([]netip.Prefix, r.IntN(4))
		for i := range out {
			out[i] = prefix()
		}
		return out
	}
	addr := func() netip.Addr {
		switch r.IntN(5) {
		case 0:
			return netip.Addr{}
		case 1:
			return netip.MustParseAddr("fe80::1").WithZone(oddString(r))
		case 2:
			return netip.MustParseAddr("fd00::2")
		}
		return netip.AddrFrom4([4]byte{10, 4, 0, byte(r.IntN(256))})
	}
	actions := []Action{Create, Update, Delete, NoOp, Action(oddString(r))}
	n := NodeChange{
		Name: str(), Action: actions[r.IntN(len(actions))], Reason: str(),
		Segment: strChange(), Location: strChange(), ListenPort: intChange(),
	}
	if r.IntN(2) == 0 {
		n.Leader = &Change[bool]{Before: r.IntN(2) == 0, After: r.IntN(2) == 0}
	}
	if r.IntN(2) == 0 {
		n.WireGuardIP = &Change[netip.Prefix]{Before: prefix(), After: prefix()}
	}
	for range r.IntN(4) {
		p := WireGuardPeerChange{
			Action: actions[r.IntN(len(actions))], Name: str(), PublicKey: str(),
			Endpoint: strChange(), PersistentKeepalive: intChange(), PresharedKey: str(),
			AllowedIPs: PrefixDiff{Added: prefixes(), Removed: prefixes()},
		}
		n.Peers = append(n.Peers, p)
	}
	devices := []topology.Device{topology.DeviceWireGuard, topology.DevicePrivate, topology.DeviceTunnel, topology.Device(oddString(r))}
	tables := []topology.Table{topology.TableMesh, topology.TableEncap, topology.Table(str())}
	routes := func() []topology.Route {
		var out []topology.Route
		for range r.IntN(4) {
			out = append(out, topology.Route{Dst: prefix(), Gw: addr(), Device: devices[r.IntN(len(devices))], OnLink: r.IntN(2) == 0, Table: tables[r.IntN(len(tables))]})
		}
		return out
	}
	rules := func() []topology.Rule {
		var out []topology.Rule
		for range r.IntN(3) {
			out = append(out, topology.Rule{Src: prefix(), Dst: prefix(), FromWireGuard: r.IntN(2) == 0, Table: tables[r.IntN(len(tables))]})
		}
		return out
	}
	n.Routes = RouteDiff{Added: routes(), Removed: routes()}
	n.Rules = RuleDiff{Added: rules(), Removed: rules()}
	return n
}

// Node changes of every shape, with odd strings, render as encoding/json
// renders them, with their peer changes rendered in place or shared
// (twice: rendered, then from the memo).
func TestNodeJSONFuzzed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	for k := range 3000 {
		n := randomNodeChange(r)
		want := referenceNodeJSON(t, &n)
		if got := handNodeJSON(t, &n); got != want {
			t.Fatalf("change %d: hand rendering differs (-encoding/json +hand):\n%s", k, linediff.Diff(want, got))
		}
		n.memos = make([]*peerMemo, len(n.Peers))
		for i := range n.Peers {
			n.memos[i] = &peerMemo{change: n.Peers[i]}
		}
		for range 2 {
			if got := handNodeJSON(t, &n); got != want {
				t.Fatalf("change %d with shared peer changes: hand rendering differs (-encoding/json +hand):\n%s", k, linediff.Diff(want, got))
			}
		}
	}
}

// The string escaper agrees with encoding/json on the pieces, on every
// single byte and on random strings of them.
func TestAppendJSONString(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
	for _, s := range oddPieces {
		check(s)
		check("x" + s + "y")
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
		check("ab" + string([]byte{byte(c)}) + "é")
	}
	for c := rune(0); c < 0x3000; c++ {
		check(string(c))
	}
	check(string(utf8.MaxRune))
	r := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		check(oddString(r))
	}
}

// Addresses and CIDRs are written as encoding/json writes a
// netip.Prefix and addrString's string: every octet, every length, both
// families, mapped addresses, zones, the zero and invalid values.
func TestAppendJSONAddresses(t *testing.T) {
	addrs := []netip.Addr{{}, netip.MustParseAddr("::"), netip.MustParseAddr("fd00::1"), netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%<\"&>"), netip.MustParseAddr("255.255.255.255")}
	for i := range 256 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(i), byte(255 - i), byte(i * 7), byte(i / 3)}))
	}
	for _, a := range addrs {
		want, err := json.Marshal(addrString(a))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONAddr(nil, a); string(got) != string(want) {
			t.Errorf("appendJSONAddr(%v) = %s, want %s", a, got, want)
		}
		for bits := -1; bits <= 129; bits++ {
			p := netip.PrefixFrom(a, bits)
			want, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONPrefix(nil, p); string(got) != string(want) {
				t.Errorf("appendJSONPrefix(%v) = %s, want %s", p, got, want)
			}
		}
	}
	if want, _ := json.Marshal(netip.Prefix{}); string(appendJSONPrefix(nil, netip.Prefix{})) != string(want) {
		t.Errorf("zero prefix: %s, want %s", appendJSONPrefix(nil, netip.Prefix{}), want)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range oddPieces {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
