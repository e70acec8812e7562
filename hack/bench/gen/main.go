// Command gen writes a deterministic cluster of Nodes (and a few Peers)
// annotated for Kilo, the input of kgctl's scale benchmarks: the same
// flags always give the same bytes, so figures from different runs and
// versions compare.
//
//	go run ./hack/bench/gen -nodes 2000 -locations 50 > cluster.yaml
//	go run ./hack/bench/gen -nodes 10000 -format list > cluster.yaml
//
// Each Node has a key, an internal IP, an endpoint (every third a forced
// public one), a pod CIDR, a location label and a status much like a
// kubelet's (addresses, capacity, conditions, node info), so decoding
// costs what a real dump costs.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	nodes := flag.Int("nodes", 2000, "number of Nodes")
	locations := flag.Int("locations", 50, "number of locations (topology.kubernetes.io/region)")
	peers := flag.Int("peers", 10, "number of Peers")
	format := flag.String("format", "docs", "docs (one YAML document per object, as -f reads a directory of manifests), list (one kind: List, as kubectl get -o yaml prints) or json (a List in JSON)")
	lastSeen := flag.Int64("last-seen", 1795000000, "kilo.squat.ai/last-seen of every Node (unix seconds)")
	flag.Parse()
	if *nodes < 1 || *nodes > 65000 || *locations < 1 || *peers < 0 || *peers > 250 {
		fmt.Fprintln(os.Stderr, "gen: -nodes 1..65000, -locations >= 1, -peers 0..250")
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	g := gen{w: w, locations: *locations, lastSeen: *lastSeen}
	switch *format {
	case "docs":
		g.docs(*nodes, *peers)
	case "list":
		g.list(*nodes, *peers)
	case "json":
		g.json(*nodes, *peers)
	default:
		fmt.Fprintf(os.Stderr, "gen: -format %q: want docs, list or json\n", *format)
		os.Exit(2)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type gen struct {
	w         io.Writer
	locations int
	lastSeen  int64
}

// key is a deterministic WireGuard public key: 32 bytes of a hash,
// base64 as wg prints it.
func key(kind string, i int) string {
	s := sha256.Sum256(fmt.Appendf(nil, "%s-%d", kind, i))
	return base64.StdEncoding.EncodeToString(s[:])
}

// node is the i-th Node's fields.
type node struct {
	name, region, key, internal, endpoint, force, podCIDR string
}

func (g *gen) node(i int) node {
	n := node{
		name:     fmt.Sprintf("node-%05d", i),
		region:   fmt.Sprintf("region-%03d", i%g.locations),
		key:      key("node", i),
		internal: fmt.Sprintf("172.%d.%d.%d", 16+i>>16, (i>>8)&255, i&255),
		podCIDR:  fmt.Sprintf("10.%d.%d.0/24", 64+i>>8, i&255),
	}
	n.endpoint = n.internal + ":51820"
	if i%3 == 0 {
		n.force = fmt.Sprintf("52.%d.%d.%d:51820", 1+i>>16, (i>>8)&255, i&255)
	}
	return n
}

// yamlNode writes one Node as YAML, every line prefixed by indent (and
// the first by first, for list items).
func (g *gen) yamlNode(i int, first, indent string) {
	n := g.node(i)
	lines := []string{
		"apiVersion: v1",
		"kind: Node",
		"metadata:",
		"  name: " + n.name,
		"  labels:",
		"    kubernetes.io/arch: amd64",
		"    kubernetes.io/hostname: " + n.name,
		"    kubernetes.io/os: linux",
		"    topology.kubernetes.io/region: " + n.region,
		"  annotations:",
		"    kilo.squat.ai/key: " + n.key,
		"    kilo.squat.ai/internal-ip: " + n.internal + "/16",
		fmt.Sprintf("    kilo.squat.ai/last-seen: \"%d\"", g.lastSeen),
		"    kilo.squat.ai/granularity: location",
		"    kilo.squat.ai/endpoint: " + n.endpoint,
	}
	if n.force != "" {
		lines = append(lines, "    kilo.squat.ai/force-endpoint: "+n.force)
	}
	lines = append(lines,
		"    node.alpha.kubernetes.io/ttl: \"0\"",
		fmt.Sprintf("  uid: \"%08x-0000-4000-8000-%012x\"", i, i),
		fmt.Sprintf("  resourceVersion: \"%d\"", 1000+i),
		"  creationTimestamp: \"2026-01-01T00:00:00Z\"",
		"spec:",
		"  podCIDR: "+n.podCIDR,
		"  podCIDRs:",
		"  - "+n.podCIDR,
		"  providerID: bench://"+n.name,
		"status:",
		"  addresses:",
		"  - type: InternalIP",
		"    address: "+n.internal,
		"  - type: Hostname",
		"    address: "+n.name,
		"  capacity: {cpu: \"8\", memory: 32857052Ki, pods: \"110\", ephemeral-storage: 101430960Ki}",
		"  allocatable: {cpu: \"8\", memory: 32754652Ki, pods: \"110\", ephemeral-storage: 93478772582}",
		"  conditions:",
	)
	for _, c := range [][2]string{{"MemoryPressure", "False"}, {"DiskPressure", "False"}, {"PIDPressure", "False"}, {"Ready", "True"}} {
		lines = append(lines,
			"  - type: "+c[0],
			"    status: \""+c[1]+"\"",
			"    lastHeartbeatTime: \"2026-01-01T00:00:00Z\"",
			"    lastTransitionTime: \"2026-01-01T00:00:00Z\"",
			"    reason: Kubelet"+c[0],
			"    message: kubelet reports "+strings.ToLower(c[0])+" "+c[1],
		)
	}
	lines = append(lines,
		"  nodeInfo:",
		fmt.Sprintf("    machineID: \"%032x\"", i),
		fmt.Sprintf("    systemUUID: \"%08x-0000-4000-8000-%012x\"", i, i),
		fmt.Sprintf("    bootID: \"%08x-0000-4000-9000-%012x\"", i, i),
		"    kernelVersion: 6.12.0",
		"    osImage: Debian GNU/Linux 13 (trixie)",
		"    containerRuntimeVersion: containerd://2.1.0",
		"    kubeletVersion: v1.34.4",
		"    kubeProxyVersion: v1.34.4",
		"    operatingSystem: linux",
		"    architecture: amd64",
	)
	for j, l := range lines {
		if j == 0 {
			fmt.Fprintf(g.w, "%s%s\n", first, l)
		} else {
			fmt.Fprintf(g.w, "%s%s\n", indent, l)
		}
	}
}

func (g *gen) yamlPeer(i int, first, indent string) {
	lines := []string{
		"apiVersion: kilo.squat.ai/v1alpha1",
		"kind: Peer",
		"metadata:",
		fmt.Sprintf("  name: peer-%03d", i),
		"spec:",
		"  allowedIPs:",
		fmt.Sprintf("  - 10.5.0.%d/32", i+1),
		"  publicKey: " + key("peer", i),
		"  persistentKeepalive: 25",
	}
	for j, l := range lines {
		if j == 0 {
			fmt.Fprintf(g.w, "%s%s\n", first, l)
		} else {
			fmt.Fprintf(g.w, "%s%s\n", indent, l)
		}
	}
}

func (g *gen) docs(nodes, peers int) {
	for i := range nodes {
		fmt.Fprintln(g.w, "---")
		g.yamlNode(i, "", "")
	}
	for i := range peers {
		fmt.Fprintln(g.w, "---")
		g.yamlPeer(i, "", "")
	}
}

func (g *gen) list(nodes, peers int) {
	fmt.Fprintln(g.w, "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:")
	for i := range nodes {
		g.yamlNode(i, "- ", "  ")
	}
	for i := range peers {
		g.yamlPeer(i, "- ", "  ")
	}
}

func (g *gen) json(nodes, peers int) {
	fmt.Fprint(g.w, `{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[`)
	for i := range nodes {
		if i > 0 {
			fmt.Fprint(g.w, ",")
		}
		n := g.node(i)
		force := ""
		if n.force != "" {
			force = fmt.Sprintf(`,"kilo.squat.ai/force-endpoint":%q`, n.force)
		}
		fmt.Fprintf(g.w, "\n"+`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,`+
			`"labels":{"kubernetes.io/hostname":%q,"topology.kubernetes.io/region":%q},`+
			`"annotations":{"kilo.squat.ai/key":%q,"kilo.squat.ai/internal-ip":"%s/16","kilo.squat.ai/last-seen":"%d",`+
			`"kilo.squat.ai/granularity":"location","kilo.squat.ai/endpoint":%q%s}},`+
			`"spec":{"podCIDR":%q,"podCIDRs":[%q]},`+
			`"status":{"addresses":[{"type":"InternalIP","address":%q},{"type":"Hostname","address":%q}],`+
			`"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z","reason":"KubeletReady","message":"kubelet is posting ready status"}],`+
			`"nodeInfo":{"machineID":"%032x","kernelVersion":"6.12.0","kubeletVersion":"v1.34.4","operatingSystem":"linux","architecture":"amd64"}}}`,
			n.name, n.name, n.region, n.key, n.internal, g.lastSeen, n.endpoint, force, n.podCIDR, n.podCIDR, n.internal, n.name, i)
	}
	for i := range peers {
		if nodes > 0 || i > 0 {
			fmt.Fprint(g.w, ",")
		}
		fmt.Fprintf(g.w, "\n"+`{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"peer-%03d"},"spec":{"allowedIPs":["10.5.0.%d/32"],"publicKey":%q,"persistentKeepalive":25}}`, i, i+1, key("peer", i))
	}
	fmt.Fprintln(g.w, "\n]}")
}
