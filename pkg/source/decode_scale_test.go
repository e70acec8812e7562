package source

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// nestedList wraps one Node in depth Lists, as JSON or as flow YAML.
func nestedList(depth int, yamlFlow bool) string {
	open, node := `{"apiVersion":"v1","kind":"List","items":[`, named(nodeJSON, "deep")
	if yamlFlow {
		open, node = "{apiVersion: v1, kind: List, items: [", "{apiVersion: v1, kind: Node, metadata: {name: deep}}"
	}
	return strings.Repeat(open, depth) + node + strings.Repeat("]}", depth)
}

// Nested Lists used to be re-parsed at every level: 88 KB of them took
// 19 s. Each level now costs its own bytes once.
func TestDecodeNestedListsLinear(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
		flow  bool
	}{
		{"JSON", 2000, false},
		{"YAML flow", 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := nestedList(tc.depth, tc.flow)
			start := time.Now()
			var objs Objects
			if err := Decode(&objs, "f", strings.NewReader(in)); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if len(objs.Nodes) != 1 || objs.Nodes[0].Name != "deep" {
				t.Fatalf("read %v, want node/deep", names(objs))
			}
			// Linear: well under a second even on a loaded machine (the
			// quadratic decoder took over ten).
			if took > 2*time.Second {
				t.Errorf("%d nested Lists (%d bytes) took %v", tc.depth, len(in), took)
			}
		})
	}
}

// A Node or Peer with items is refused without decoding it again.
func TestDecodeObjectWithItems(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"},"items":[` + named(nodeJSON, "b") + `]}`
	var objs Objects
	err := Decode(&objs, "f", strings.NewReader(in))
	if want := `f: document 1: Node: unknown field "items"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if len(objs.Nodes) != 0 {
		t.Errorf("read %v, want nothing", names(objs))
	}
}

// benchNodes is n Nodes much like a kubelet's, as YAML documents or as
// one JSON List.
func benchNodes(n int, asJSON bool) string {
	var b strings.Builder
	if asJSON {
		b.WriteString(`{"apiVersion":"v1","kind":"List","items":[`)
	}
	for i := range n {
		name := fmt.Sprintf("node-%05d", i)
		if asJSON {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,"labels":{"kubernetes.io/hostname":%q,"topology.kubernetes.io/region":"region-%03d"},`+
				`"annotations":{"kilo.squat.ai/key":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=","kilo.squat.ai/internal-ip":"172.16.%d.%d/16","kilo.squat.ai/last-seen":"1795000000"}},`+
				`"spec":{"podCIDR":"10.%d.%d.0/24","podCIDRs":["10.%d.%d.0/24"]},"status":{"addresses":[{"type":"InternalIP","address":"172.16.%d.%d"}],`+
				`"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2026-01-01T00:00:00Z","reason":"KubeletReady","message":"kubelet is posting ready status"}],`+
				`"nodeInfo":{"kernelVersion":"6.12.0","kubeletVersion":"v1.34.4","operatingSystem":"linux","architecture":"amd64"}}}`,
				name, name, i%50, i>>8, i&255, 64+i>>8, i&255, 64+i>>8, i&255, i>>8, i&255)
			continue
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  labels:\n    kubernetes.io/hostname: %s\n    topology.kubernetes.io/region: region-%03d\n"+
			"  annotations:\n    kilo.squat.ai/key: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n    kilo.squat.ai/internal-ip: 172.16.%d.%d/16\n    kilo.squat.ai/last-seen: \"1795000000\"\n"+
			"spec:\n  podCIDR: 10.%d.%d.0/24\n  podCIDRs: [10.%d.%d.0/24]\nstatus:\n  addresses:\n  - {type: InternalIP, address: 172.16.%d.%d}\n"+
			"  conditions:\n  - {type: Ready, status: \"True\", lastHeartbeatTime: \"2026-01-01T00:00:00Z\", reason: KubeletReady, message: kubelet is posting ready status}\n"+
			"  nodeInfo: {kernelVersion: 6.12.0, kubeletVersion: v1.34.4, operatingSystem: linux, architecture: amd64}\n",
			name, name, i%50, i>>8, i&255, 64+i>>8, i&255, 64+i>>8, i&255, i>>8, i&255)
	}
	if asJSON {
		b.WriteString("]}\n")
	}
	return b.String()
}

// BenchmarkDecode is `-f` reading 10,000 Nodes (hack/bench/gen makes
// larger, kubelet-like ones for the command's figures).
func BenchmarkDecode(b *testing.B) {
	for _, format := range []string{"yaml", "json"} {
		in := benchNodes(10_000, format == "json")
		b.Run(fmt.Sprintf("nodes=10000/%s", format), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var objs Objects
				if err := Decode(&objs, "f", strings.NewReader(in)); err != nil {
					b.Fatal(err)
				}
				if len(objs.Nodes) != 10_000 {
					b.Fatalf("%d nodes", len(objs.Nodes))
				}
			}
		})
	}
}
