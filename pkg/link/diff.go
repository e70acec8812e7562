package link

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// Action is what a link does to one Peer.
type Action string

const (
	Create    Action = "create"
	Update    Action = "update"
	Delete    Action = "delete"
	Unchanged Action = "unchanged"
)

// Change is one Peer and what to do with it. For Update it is the desired
// Peer carrying the existing one's resourceVersion; for Delete the
// existing Peer.
type Change struct {
	Action Action
	Peer   *v1alpha1.Peer
}

// Diff compares the Peers a link wants in a cluster with all the Peers
// the cluster has. Peers labelled with the link and no longer wanted are
// deleted; a wanted name held by a Peer the link did not create is an
// error (never overwritten). Pass want nil to remove the link.
func Diff(link string, want, have []*v1alpha1.Peer) ([]Change, error) {
	byName := make(map[string]*v1alpha1.Peer, len(have))
	for _, h := range have {
		byName[h.Name] = h
	}
	var out []Change
	var conflicts []string
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.Name] = true
		h, ok := byName[w.Name]
		switch {
		case !ok:
			out = append(out, Change{Action: Create, Peer: w})
		case h.Labels[LabelKey] != link:
			conflicts = append(conflicts, fmt.Sprintf("Peer %q exists and was not created by link %q (label %s=%q)", w.Name, link, LabelKey, h.Labels[LabelKey]))
		case reflect.DeepEqual(h.Spec, w.Spec) && reflect.DeepEqual(h.Labels, w.Labels):
			out = append(out, Change{Action: Unchanged, Peer: h})
		default:
			u := w.DeepCopy()
			u.ResourceVersion = h.ResourceVersion
			out = append(out, Change{Action: Update, Peer: u})
		}
	}
	for _, h := range have {
		if h.Labels[LabelKey] == link && !wanted[h.Name] {
			out = append(out, Change{Action: Delete, Peer: h})
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%s; refusing to overwrite (pick another --name, or remove it)", strings.Join(conflicts, "; "))
	}
	slices.SortStableFunc(out, func(a, b Change) int { return strings.Compare(a.Peer.Name, b.Peer.Name) })
	return out, nil
}

// Changed reports whether any change writes something.
func Changed(cs []Change) bool {
	return slices.ContainsFunc(cs, func(c Change) bool { return c.Action != Unchanged })
}
