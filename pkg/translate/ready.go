package translate

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Ready reads a Node's Ready condition: its status and when it last
// changed (lastTransitionTime, on the node lifecycle controller's or the
// kubelet's clock). The zero value means the node has none.
func Ready(n *corev1.Node) topology.Readiness {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return topology.Readiness{Status: string(c.Status), Since: c.LastTransitionTime.Time}
		}
	}
	return topology.Readiness{}
}
