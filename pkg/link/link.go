// Package link joins two clusters' meshes, Kilo's multi-cluster recipe in
// one step: every location of one cluster becomes a Peer of the other
// (its leader's key and endpoint, the location's pod CIDRs, internal and
// WireGuard IPs, plus the cluster's service CIDRs on one of them), in
// both directions.
//
// It computes the Peers from a mesh, diffs them with what an earlier link
// of the same name created (found by label), and applies only the
// difference; it never changes or deletes a Peer it did not create. It
// does not read clusters itself: callers pass meshes and a Peer client.
package link

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// LabelKey marks the Peers a link created; its value is the link's name.
const LabelKey = "kgctl.io/link"

// ValidateName checks a link name: it is a label value and a prefix of
// Peer names.
func ValidateName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("link name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

var unsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// PeerName is the Peer a location of the other cluster becomes:
// "<link>-<location>", lower-cased, with anything a DNS name cannot hold
// replaced by "-".
func PeerName(link, segment string) string {
	s := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(segment), "-"), "-")
	n := link + "-" + s
	if len(n) > validation.DNS1123SubdomainMaxLength {
		n = n[:validation.DNS1123SubdomainMaxLength]
	}
	return strings.TrimRight(n, "-")
}

// Peers are the Peers another cluster needs to reach every location of
// m, through each location's leader, as `showconf node LEADER --as-peer`
// prints them, sorted by name. The extra prefixes (the service CIDRs)
// go to the first location's Peer only: any node's kube-proxy serves
// them, and two Peers routing one prefix are refused by the other
// mesh. (A node without an endpoint is not in the mesh, so every leader
// has one.)
func Peers(link string, m *topology.Mesh, extra []netip.Prefix) []*v1alpha1.Peer {
	var out []*v1alpha1.Peer
	for i := range m.Segments {
		s := &m.Segments[i]
		wp, ok := m.AsPeer(s.LeaderNode().Name)
		if !ok {
			continue
		}
		wp.AllowedIPs = append(slices.Clone(wp.AllowedIPs), extra...)
		extra = nil
		p := translate.PeerResource(PeerName(link, s.Name), wp)
		p.Labels = map[string]string{LabelKey: link}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *v1alpha1.Peer) int { return strings.Compare(a.Name, b.Name) })
	return out
}
