package translate

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/topology"
)

// tenMB is the size of the annotation that took 8.6 s and 378 MB to read
// before the limits.
const tenMB = 10 << 20

// discoveredJSON is a discovered-endpoints value of n distinct entries.
func discoveredJSON(n int) string {
	m := make(map[string]any, n)
	for i := range n {
		var raw [32]byte
		binary.BigEndian.PutUint32(raw[:], uint32(i))
		k := base64.StdEncoding.EncodeToString(raw[:])
		m[k] = map[string]any{"IP": "203.0.113.1", "Port": 1 + i%65535}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestNodeAnnotationLimits(t *testing.T) {
	cidrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "10.%d.%d.0/24,", i/256, i%256)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, key, value string
		want             topology.Problem
	}{
		{"huge endpoint", EndpointKey, strings.Repeat("a", tenMB),
			topology.Problem{Severity: topology.Error, Kind: "Node", Name: "n", Field: EndpointKey, Value: "10485760 bytes", Message: "longer than the 1024-byte limit; ignored"}},
		{"key one byte over", KeyKey, strings.Repeat("k", MaxAnnotationBytes+1),
			topology.Problem{Severity: topology.Error, Kind: "Node", Name: "n", Field: KeyKey, Value: "1025 bytes", Message: "longer than the 1024-byte limit; ignored"}},
		{"huge location", LocationKey, strings.Repeat("l", tenMB),
			topology.Problem{Severity: topology.Error, Kind: "Node", Name: "n", Field: LocationKey, Value: "10485760 bytes", Message: "longer than the 1024-byte limit; ignored"}},
		{"huge discovered-endpoints", DiscoveredEndpointsKey, discoveredJSON(1) + strings.Repeat(" ", tenMB),
			topology.Problem{Severity: topology.Error, Kind: "Node", Name: "n", Field: DiscoveredEndpointsKey, Value: fmt.Sprintf("%d bytes", len(discoveredJSON(1))+tenMB), Message: "longer than the 131072-byte limit; ignored"}},
		{"too many discovered endpoints", DiscoveredEndpointsKey, discoveredJSON(MaxDiscoveredEndpoints + 1),
			topology.Problem{Severity: topology.Warning, Kind: "Node", Name: "n", Field: DiscoveredEndpointsKey, Value: "1025 entries", Message: "more than 1024 entries; ignored"}},
		{"too many allowed-location-ips", AllowedLocationIPsKey, cidrs(MaxAllowedLocationIPs + 10),
			topology.Problem{Severity: topology.Error, Kind: "Node", Name: "n", Field: AllowedLocationIPsKey, Value: "266 CIDRs", Message: "more than 256 CIDRs; the rest ignored"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := kiloAnnotations()
			a[c.key] = c.value
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: a}}
			got, probs, _ := Node(n, NodeOptions{})
			if diff := cmp.Diff(topology.Problems{c.want}, probs); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if c.key == AllowedLocationIPsKey && len(got.AllowedLocationIPs) != MaxAllowedLocationIPs {
				t.Errorf("%d allowed location IPs kept, want the first %d", len(got.AllowedLocationIPs), MaxAllowedLocationIPs)
			}
			if len(n.Annotations[c.key]) != len(c.value) {
				t.Errorf("the Node's own annotations were changed")
			}
		})
	}
	// At the limits everything is still read.
	a := kiloAnnotations()
	a[DiscoveredEndpointsKey] = discoveredJSON(MaxDiscoveredEndpoints)
	a[AllowedLocationIPsKey] = cidrs(MaxAllowedLocationIPs)
	if len(a[DiscoveredEndpointsKey]) > maxBytes(DiscoveredEndpointsKey) {
		t.Fatalf("%d discovered endpoints take %d bytes, over the %d-byte limit", MaxDiscoveredEndpoints, len(a[DiscoveredEndpointsKey]), maxBytes(DiscoveredEndpointsKey))
	}
	got, probs, _ := Node(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: a}}, NodeOptions{})
	if len(probs) != 0 || len(got.DiscoveredEndpoints) != MaxDiscoveredEndpoints || len(got.AllowedLocationIPs) != MaxAllowedLocationIPs {
		t.Errorf("at the limits: %d discovered, %d allowed location IPs, problems %v", len(got.DiscoveredEndpoints), len(got.AllowedLocationIPs), probs)
	}
}

// TestNodeHugeAnnotationCost: a node with 10 MB in each Kilo annotation
// costs its readers a bounded, small amount of memory.
func TestNodeHugeAnnotationCost(t *testing.T) {
	n := hugeNode()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Node(n, NodeOptions{})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("reading a node with 10 MB annotations allocated %d bytes, want under 1 MiB", got)
	}
}

func hugeNode() *corev1.Node {
	a := kiloAnnotations()
	big := strings.Repeat("1", tenMB)
	for _, k := range []string{EndpointKey, KeyKey, DiscoveredEndpointsKey, AllowedLocationIPsKey, LocationKey, LastSeenKey} {
		a[k] = big
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "huge", Annotations: a}}
}

func BenchmarkNodeHugeAnnotations(b *testing.B) {
	n := hugeNode()
	b.ReportAllocs()
	for b.Loop() {
		Node(n, NodeOptions{})
	}
}

// A discovered endpoint with an IPv6 zone is refused, as a Node's and a
// Peer's endpoint are: a zone names an interface of the node that wrote it.
func TestDiscoveredEndpointZone(t *testing.T) {
	a := kiloAnnotations()
	a[DiscoveredEndpointsKey] = `{"` + otherKey + `":{"IP":"fe80::1%eth0","Port":51820}}`
	got, probs, _ := Node(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: a}}, NodeOptions{})
	want := topology.Problems{{Severity: topology.Warning, Kind: "Node", Name: "n", Field: DiscoveredEndpointsKey, Value: otherKey, Message: "entry is not a key with an IP and port; ignored"}}
	if diff := cmp.Diff(want, probs); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(got.DiscoveredEndpoints) != 0 {
		t.Errorf("discovered endpoints = %v, want none", got.DiscoveredEndpoints)
	}
}
