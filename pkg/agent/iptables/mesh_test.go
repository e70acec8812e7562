package iptables

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/kgctl/kgctl/internal/golden"
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

var meshInputs = map[string]MeshInput{
	"leader-cni-forward": {
		PodCIDRs:               prefixes("10.2.1.0/24", "fd00:2:1::/64"),
		LocalSegmentPodCIDRs:   prefixes("10.2.1.0/24", "10.2.2.0/24", "fd00:2:1::/64", "fd00:2:2::/64"),
		LocalSegmentPrivateIPs: prefixes("192.168.0.11/24", "192.168.0.12/24"),
		AllowedLocationIPs:     prefixes("192.168.50.0/24"),
		KnownCIDRs:             prefixes("10.4.0.1/32", "10.4.0.2/32", "10.2.1.0/24", "10.2.2.0/24", "10.2.3.0/24", "fd00:2:3::/64"),
		PeerAllowedIPs:         prefixes("10.5.0.1/32", "fd00:5::1/128"),
		ServiceCIDRs:           prefixes("10.96.0.0/12", "fd00:96::/108"),
		Leader:                 true,
		CNI:                    true,
		ForwardRules:           true,
	},
	"follower-cni-forward": {
		PodCIDRs:               prefixes("10.2.2.0/24"),
		LocalSegmentPodCIDRs:   prefixes("10.2.1.0/24", "10.2.2.0/24"),
		LocalSegmentPrivateIPs: prefixes("192.168.0.11/24", "192.168.0.12/24"),
		AllowedLocationIPs:     prefixes("192.168.50.0/24"),
		KnownCIDRs:             prefixes("10.4.0.1/32", "10.2.1.0/24", "10.2.2.0/24", "10.2.3.0/24"),
		ServiceCIDRs:           prefixes("10.96.0.0/12"),
		CNI:                    true,
		ForwardRules:           true,
	},
	"no-cni-peers": {
		PodCIDRs:       prefixes("10.2.1.0/24"),
		KnownCIDRs:     prefixes("10.4.0.1/32", "10.2.1.0/24"),
		PeerAllowedIPs: prefixes("10.5.0.1/32", "10.5.0.2/32"),
		Comment:        "custom",
	},
	"empty": {},
}

// TestMeshRules renders MeshRules' rule set as the restore input a fresh
// host gets, one golden file per input under testdata/mesh.
func TestMeshRules(t *testing.T) {
	for name, in := range meshInputs {
		t.Run(name, func(t *testing.T) {
			rs := MeshRules(in)
			var b strings.Builder
			for _, f := range []Family{IPv4, IPv6} {
				input, err := RestoreInput(rs, f, in.Comment)
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("# " + f.String() + "\n")
				b.Write(input)
			}
			golden(t, filepath.Join("testdata", "mesh", name+".golden"), b.String())
		})
	}
}

func TestMeshRulesFamilies(t *testing.T) {
	rs := MeshRules(meshInputs["leader-cni-forward"])
	for _, r := range rs.Rules {
		for i := 0; i+1 < len(r.Spec); i++ {
			if r.Spec[i] != "-s" && r.Spec[i] != "-d" {
				continue
			}
			if got := FamilyOf(netip.MustParsePrefix(r.Spec[i+1])); got != r.Family {
				t.Errorf("rule %q is in family %s, its address in %s", r.Spec, r.Family, got)
			}
		}
	}
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.File(t, path, got, *update)
}

// TestMeshRulesExact checks that every rule MeshRules makes is in the exact
// form iptables-save prints, so applying them needs no read-back.
func TestMeshRulesExact(t *testing.T) {
	for name, in := range meshInputs {
		for _, r := range MeshRules(in).Rules {
			if _, exact, err := canonicalExact(r.Spec, r.Family); err != nil || !exact {
				t.Errorf("%s: rule %q: exact %v, err %v", name, r.Spec, exact, err)
			}
		}
	}
}
