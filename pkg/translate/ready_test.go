package translate

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/topology"
)

// TestHeartbeatInterval: the kgctl marker becomes the node's published
// heartbeat interval (which bounds a Ready node's last-seen); a value
// that is not whole seconds in range is a warning naming the field and
// the value, and the node is read as a Kilo node's (no bound), the rest
// of it as usual.
func TestHeartbeatInterval(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		set         bool
		want        time.Duration
		problem     bool
	}{
		{name: "no marker (Kilo)", want: 0},
		{name: "ten minutes", value: "600", set: true, want: 10 * time.Minute},
		{name: "one second", value: "1", set: true, want: time.Second},
		{name: "a week", value: "604800", set: true, want: 7 * 24 * time.Hour},
		{name: "more than a week", value: "604801", set: true, problem: true},
		{name: "zero", value: "0", set: true, problem: true},
		{name: "negative", value: "-30", set: true, problem: true},
		{name: "a duration, not seconds", value: "10m", set: true, problem: true},
		{name: "empty", value: "", set: true, problem: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := kiloAnnotations()
			if tc.set {
				a[HeartbeatIntervalKey] = tc.value
			}
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: a}}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
			got, ps, ok := Node(n, NodeOptions{})
			if !ok {
				t.Fatalf("node left out: %v", ps)
			}
			if got.HeartbeatInterval != tc.want {
				t.Errorf("HeartbeatInterval = %s, want %s", got.HeartbeatInterval, tc.want)
			}
			if got.Ready.Status != topology.ReadyTrue {
				t.Errorf("Ready = %+v", got.Ready)
			}
			var mine topology.Problems
			for _, p := range ps {
				if p.Field == HeartbeatIntervalKey {
					mine = append(mine, p)
				}
			}
			if !tc.problem {
				if len(mine) != 0 {
					t.Fatalf("problems %v, want none", mine)
				}
				return
			}
			if len(mine) != 1 || mine[0].Severity != topology.Warning || mine[0].Name != "n1" || mine[0].Kind != "Node" || mine[0].Value != tc.value {
				t.Fatalf("problems %v, want one warning on Node n1 field %s value %q", mine, HeartbeatIntervalKey, tc.value)
			}
			if !strings.Contains(mine[0].Message, "whole seconds") {
				t.Errorf("message %q does not say what is wanted", mine[0].Message)
			}
			if d, err := HeartbeatInterval(n); err == nil || d != 0 {
				t.Errorf("HeartbeatInterval(n) = %s, %v; want 0 and an error", d, err)
			}
		})
	}
}
