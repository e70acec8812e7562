package link

import (
	"fmt"
	"strings"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
)

// Check builds the target cluster's mesh with the link's Peers in place
// of the ones it has by those names, and returns an error naming each
// Peer the mesh would refuse (allowed IPs that take over the target's
// pod CIDRs or WireGuard subnet, say: two clusters need distinct
// --subnet and pod CIDRs).
func Check(target source.Objects, o source.Options, peers []*v1alpha1.Peer) error {
	names := map[string]bool{}
	for _, p := range peers {
		names[p.Name] = true
	}
	objs := source.Objects{Nodes: target.Nodes}
	for _, p := range target.Peers {
		if !names[p.Name] {
			objs.Peers = append(objs.Peers, p)
		}
	}
	objs.Peers = append(objs.Peers, peers...)
	_, problems, err := source.Build(objs, o)
	if err != nil {
		return err
	}
	var msgs []string
	for _, p := range problems {
		if p.Severity == topology.Error && p.Kind == "Peer" && names[p.Name] {
			msgs = append(msgs, p.String())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("the target cluster's mesh would not take the link's Peers: %s", strings.Join(msgs, "; "))
	}
	return nil
}
