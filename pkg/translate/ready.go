package translate

import (
	"fmt"
	"strconv"
	"time"

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

// MaxHeartbeatInterval bounds the published interval a reader believes
// (a week): past that, a Ready node's last-seen bounds nothing useful.
const MaxHeartbeatInterval = 7 * 24 * time.Hour

// HeartbeatInterval reads the kgctl marker, kilo.squat.ai/heartbeat-interval:
// the longest the node's agent says it leaves last-seen unrefreshed.
// Zero without the marker (Kilo's agents), and zero with an error for a
// value that is not whole seconds in 1s-MaxHeartbeatInterval: the node is
// then judged as a Kilo node's, Ready alive whatever its last-seen.
func HeartbeatInterval(n *corev1.Node) (time.Duration, error) {
	return heartbeatInterval(n.Annotations)
}

func heartbeatInterval(a map[string]string) (time.Duration, error) {
	v, ok := a[HeartbeatIntervalKey]
	if !ok {
		return 0, nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s < 1 || s > int64(MaxHeartbeatInterval/time.Second) {
		return 0, fmt.Errorf("want whole seconds in 1-%d", int64(MaxHeartbeatInterval/time.Second))
	}
	return time.Duration(s) * time.Second, nil
}
