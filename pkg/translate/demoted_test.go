package translate

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/topology"
)

// The status annotation's "demoted" field becomes Node.Demoted; a status
// naming the field that does not decode is a warning naming the node,
// the annotation and the value, and the node is read as not demoted.
func TestNodeDemoted(t *testing.T) {
	tests := map[string]struct {
		status  string // "" : no annotation
		want    time.Time
		problem string // in the single problem's message; "" none
	}{
		"no status":                  {"", time.Time{}, ""},
		"status without demoted":     {`{"v":1,"up":2}`, time.Time{}, ""},
		"undecodable, no demoted":    {`not json`, time.Time{}, ""}, // kgctl status reports it
		"demoted":                    {`{"v":1,"up":0,"down":["b1"],"demoted":1800000000}`, time.Unix(1_800_000_000, 0), ""},
		"demoted zero":               {`{"v":1,"up":1,"demoted":0}`, time.Time{}, ""},
		"demoted negative":           {`{"v":1,"up":1,"demoted":-1}`, time.Time{}, "demoted: status demoted -1: want a Unix time in seconds; the node is not taken as demoted"},
		"demoted not a number":       {`{"v":1,"up":1,"demoted":"yes"}`, time.Time{}, "cannot unmarshal string"},
		"demoted in another version": {`{"v":2,"demoted":1800000000}`, time.Time{}, "status version 2: want 1"},
		"demoted, broken json":       {`{"v":1,"demoted":18`, time.Time{}, "demoted: status"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a := kiloAnnotations()
			if tt.status != "" {
				a[StatusKey] = tt.status
			}
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a1", Annotations: a}, Spec: corev1.NodeSpec{PodCIDR: "10.2.1.0/24"}}
			got, ps, ok := Node(n, NodeOptions{})
			if !ok {
				t.Fatalf("node left out: %v", ps)
			}
			if !got.Demoted.Equal(tt.want) {
				t.Errorf("Demoted = %v, want %v", got.Demoted, tt.want)
			}
			switch {
			case tt.problem == "" && len(ps) != 0:
				t.Errorf("problems: %v", ps)
			case tt.problem != "":
				if len(ps) != 1 {
					t.Fatalf("want one problem, got %v", ps)
				}
				p := ps[0]
				if p.Severity != topology.Warning || p.Kind != "Node" || p.Name != "a1" || p.Field != StatusKey || p.Value != tt.status || !strings.Contains(p.Message, tt.problem) {
					t.Errorf("problem %+v, want a warning on Node a1 %s = %q containing %q", p, StatusKey, tt.status, tt.problem)
				}
			}
		})
	}
}
