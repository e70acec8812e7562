package iptables

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

// bigMesh is a MeshInput with 1,000 peers and 1,000 other known CIDRs:
// 1,000 jumps in POSTROUTING and 2,000 rules in KILO-NAT, plus a few more.
func bigMesh(extraPeer bool) MeshInput {
	in := MeshInput{
		PodCIDRs:     prefixes("10.2.1.0/24"),
		ServiceCIDRs: prefixes("10.96.0.0/12"),
		CNI:          true,
	}
	for i := range 1000 {
		in.PeerAllowedIPs = append(in.PeerAllowedIPs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)}), 32))
		in.KnownCIDRs = append(in.KnownCIDRs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 6, byte(i >> 8), byte(i)}), 32))
	}
	if extraPeer {
		in.PeerAllowedIPs = append(in.PeerAllowedIPs, netip.MustParsePrefix("10.7.0.1/32"))
	}
	return in
}

func benchController(b *testing.B) *Controller {
	ns := newNetns(b)
	return New(Options{Exec: (&recorder{netns: ns}).exec})
}

// BenchmarkApplyFresh3000 installs ~3,000 rules on a host without them.
func BenchmarkApplyFresh3000(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	rs := MeshRules(bigMesh(false))
	for b.Loop() {
		b.StopTimer()
		if err := c.CleanUp(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := c.Apply(ctx, rs)
		if err != nil {
			b.Fatal(err)
		}
		if res.Writes != 1 {
			b.Fatalf("wrote %d times, want 1", res.Writes)
		}
	}
	b.ReportMetric(float64(len(rs.Rules)), "rules")
}

// BenchmarkApplyNoop3000 is the resync cost when nothing changed: one
// iptables-save per family, no restore.
func BenchmarkApplyNoop3000(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	rs := MeshRules(bigMesh(false))
	if _, err := c.Apply(ctx, rs); err != nil {
		b.Fatal(err)
	}
	applyNoops(b, c, rs)
}

// BenchmarkApplyOnePeer3000 adds or removes one peer among ~3,000 rules:
// KILO-NAT is rewritten, one jump inserted or deleted.
func BenchmarkApplyOnePeer3000(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	sets := [2]RuleSet{MeshRules(bigMesh(false)), MeshRules(bigMesh(true))}
	if _, err := c.Apply(ctx, sets[0]); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		res, err := c.Apply(ctx, sets[i%2])
		if err != nil {
			b.Fatal(err)
		}
		if res.Writes != 1 {
			b.Fatalf("wrote %d times, want 1", res.Writes)
		}
	}
}

// BenchmarkPlan3000 is the pure part of a no-op Apply: validation,
// canonical specs and the diff against parsed iptables-save output.
func BenchmarkPlan3000(b *testing.B) {
	rs := MeshRules(bigMesh(false))
	input, err := RestoreInput(rs, IPv4, "")
	if err != nil {
		b.Fatal(err)
	}
	empty, err := parseSave([]byte("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"))
	if err != nil {
		b.Fatal(err)
	}
	current := replay(b, empty, input)
	for b.Loop() {
		d, err := prepare(rs, DefaultComment, []Family{IPv4, IPv6}, nil)
		if err != nil {
			b.Fatal(err)
		}
		plans, _, err := planFamily(d[IPv4], current, DefaultComment)
		if err != nil || len(plans) != 0 {
			b.Fatalf("plans %v, err %v", plans, err)
		}
	}
}

// meshOf10000 is the local node's MeshInput in a mesh of 10,000 nodes, each
// its own segment (a pod CIDR and a WireGuard IP as allowed IPs): 20,000
// RETURN rules in KILO-NAT, as the agent holds at 10,000 Nodes.
func meshOf10000() MeshInput {
	in := MeshInput{
		PodCIDRs:     prefixes("10.2.1.0/24"),
		ServiceCIDRs: prefixes("10.96.0.0/12"),
		CNI:          true,
	}
	for i := range 10000 {
		in.KnownCIDRs = append(in.KnownCIDRs,
			netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i), 0}), 24),
			netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)}), 32))
	}
	return in
}

// staticSave is an ExecFunc whose iptables-save prints out (both families)
// and whose iptables-restore fails: the host never changes.
func staticSave(out map[Family][]byte) ExecFunc {
	return func(_ context.Context, name string, _ []string, _ []byte) ([]byte, error) {
		switch name {
		case "iptables-save":
			return out[IPv4], nil
		case "ip6tables-save":
			return out[IPv6], nil
		}
		return nil, fmt.Errorf("%s: unexpected", name)
	}
}

// BenchmarkApplyNoop20000 is the controller's own cost of a resync with
// nothing changed at 10,000 nodes (20,000 rules): the iptables-save output
// is handed over as bytes, so what is measured is parsing, checking the
// rule set and planning (or what skips them).
func BenchmarkApplyNoop20000(b *testing.B) {
	rs := MeshRules(meshOf10000())
	h := newFakeHost(b)
	c := New(Options{Exec: h.exec})
	ctx := context.Background()
	if _, err := c.Apply(ctx, rs); err != nil {
		b.Fatal(err)
	}
	out := map[Family][]byte{IPv4: []byte(formatSave(h.tables[IPv4])), IPv6: []byte(formatSave(h.tables[IPv6]))}
	c.exec = staticSave(out)
	applyNoops(b, c, rs)
	b.ReportMetric(float64(len(rs.Rules)), "rules")
}

// BenchmarkApplyNoop20000Netns is BenchmarkApplyNoop20000 with the real
// binaries: iptables-save of 20,000 rules (in a child process, so its CPU
// time is in the wall time only) and the controller's own work.
func BenchmarkApplyNoop20000Netns(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	rs := MeshRules(meshOf10000())
	if _, err := c.Apply(ctx, rs); err != nil {
		b.Fatal(err)
	}
	applyNoops(b, c, rs)
}

// applyNoops times Apply of rules already in place: it must write nothing.
func applyNoops(b *testing.B, c *Controller, rs RuleSet) {
	ctx := context.Background()
	for b.Loop() {
		res, err := c.Apply(ctx, rs)
		if err != nil {
			b.Fatal(err)
		}
		if res.Writes != 0 {
			b.Fatalf("wrote %d times, want 0", res.Writes)
		}
	}
}
