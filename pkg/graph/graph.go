// Package graph draws a mesh as Graphviz: each segment a cluster with its
// leader marked, WireGuard links between leaders (through one hub when
// the mesh is too large for pairwise lines to be read), private links
// from other nodes to their leader, the peers in a cluster of their own
// attached once to each segment, and a legend. DOT comes from gographviz;
// SVG from Graphviz's own dot, when it is installed.
//
// It reads a topology.Mesh and writes text; it computes nothing about the
// mesh itself.
package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/awalterschulze/gographviz"

	"github.com/kgctl/kgctl/pkg/topology"
)

const graphName = "kilo"

// hubAbove is the number of segments above which WireGuard links are
// drawn to one hub: n leaders are n(n-1)/2 pairwise lines, 28 at eight,
// and Graphviz then draws a tangle no one can follow.
const hubAbove = 4

// IDs of the objects the drawing adds beside nodes and peers; "/" cannot
// appear in a Kubernetes name, so they never collide with a node.
const (
	hubID         = "wireguard/mesh"
	peersCluster  = "cluster_peers"
	legendCluster = "cluster_legend"
)

// Styles shared by the mesh and its legend, so the legend cannot drift.
var (
	nodeStyle      = map[string]string{"shape": "box", "style": "rounded"}
	leaderStyle    = map[string]string{"shape": "box", "style": `"rounded,bold"`, "peripheries": "2"}
	peerStyle      = map[string]string{"shape": "box", "style": `"rounded,dashed"`}
	wireGuardStyle = map[string]string{"style": "bold", "penwidth": "2"}
	privateStyle   = map[string]string{"style": "dashed"}
	peerLinkStyle  = map[string]string{"style": "dotted"}
)

// Write renders m as DOT. The output depends only on the mesh, so it can
// be committed and diffed.
func Write(w io.Writer, m *topology.Mesh) error {
	b := &builder{g: gographviz.NewEscape()}
	b.do(b.g.SetName(graphName))
	b.do(b.g.SetDir(false))
	b.attr(graphName, "label", fmt.Sprintf("%s granularity, WireGuard subnet %s", m.Settings.Granularity, m.Settings.Subnet))
	b.attr(graphName, "labelloc", "t")
	b.attr(graphName, "overlap", "false")
	// compound lets a peer link end on a segment's border (lhead).
	b.attr(graphName, "compound", "true")
	hub := len(m.Segments) > hubAbove
	b.segments(m, hub)
	b.wireGuardLinks(m, hub)
	b.peers(m, hub)
	if len(m.Segments) > 0 || len(m.Peers) > 0 {
		b.legend()
	}
	if b.err != nil {
		return fmt.Errorf("graph: %w", b.err)
	}
	_, err := io.WriteString(w, b.g.String())
	return err
}

// segments draws each segment as a cluster, inside a cluster of its
// location when cross granularity splits a location into several.
func (b *builder) segments(m *topology.Mesh, hub bool) {
	parents := map[string]string{}
	if m.Settings.Granularity == topology.CrossGranularity {
		count := map[string]int{}
		for i := range m.Segments {
			count[m.Segments[i].Location]++
		}
		for i := range m.Segments {
			loc := m.Segments[i].Location
			if count[loc] < 2 {
				continue
			}
			parent := "cluster_location_" + loc
			if _, ok := parents[loc]; !ok {
				b.do(b.g.AddSubGraph(graphName, parent, map[string]string{
					"label": multiline("location "+loc, "private network inside, WireGuard to other locations"),
					"style": "dashed",
				}))
			}
			parents[loc] = parent
		}
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		parent, ok := parents[s.Location]
		if !ok {
			parent = graphName
		}
		cluster := segmentCluster(s)
		b.do(b.g.AddSubGraph(parent, cluster, map[string]string{"label": segmentLabel(s, m), "style": "rounded"}))
		for j := range s.Nodes {
			b.do(b.g.AddNode(cluster, s.Nodes[j].Name, nodeAttrs(s, j)))
		}
		// Other nodes reach other segments through their leader, privately.
		for j := range s.Nodes {
			if j != s.Leader {
				b.edge(s.Nodes[j].Name, s.LeaderNode().Name, privateStyle, nil)
			}
		}
	}
}

// wireGuardLinks joins leaders pairwise, or each to the hub.
func (b *builder) wireGuardLinks(m *topology.Mesh, hub bool) {
	if hub {
		label := multiline("WireGuard", "full mesh", "of leaders")
		if m.Settings.Granularity == topology.CrossGranularity {
			label = multiline("WireGuard", "between", "locations")
		}
		// Quoted by hand: gographviz takes the \n-joined words for an ID.
		b.do(b.g.AddNode(graphName, hubID, map[string]string{"label": `"` + label + `"`, "shape": "circle", "style": "bold", "fontsize": "10"}))
		for i := range m.Segments {
			b.edge(m.Segments[i].LeaderNode().Name, hubID, wireGuardStyle, nil)
		}
		return
	}
	for i := range m.Segments {
		for j := i + 1; j < len(m.Segments); j++ {
			x, y := &m.Segments[i], &m.Segments[j]
			if m.Settings.Granularity == topology.CrossGranularity && x.Location == y.Location {
				continue // same location: private network, no tunnel
			}
			b.edge(x.LeaderNode().Name, y.LeaderNode().Name, wireGuardStyle, nil)
		}
	}
}

// peers puts every peer in one cluster: each leader has every peer, so
// the cluster is linked once to each segment (or once to the hub), not
// each peer to each leader.
func (b *builder) peers(m *topology.Mesh, hub bool) {
	if len(m.Peers) == 0 {
		return
	}
	b.do(b.g.AddSubGraph(graphName, peersCluster, map[string]string{
		"label": multiline("peers", "each a WireGuard peer of every leader"),
		"style": "dotted",
	}))
	for _, p := range m.Peers {
		lines := []string{p.Name, field("allowed IPs", prefixes(p.AllowedIPs)), field("endpoint", p.Endpoint.String())}
		if p.PersistentKeepalive > 0 {
			lines = append(lines, field("keepalive", p.PersistentKeepalive.String()))
		}
		attrs := copyAttrs(peerStyle)
		attrs["label"] = multiline(lines...)
		b.do(b.g.AddNode(peersCluster, peerID(p.Name), attrs))
	}
	// One line from the cluster's border: its tail is any peer.
	tail := peerID(m.Peers[0].Name)
	if hub {
		b.edge(tail, hubID, peerLinkStyle, map[string]string{"ltail": peersCluster})
		return
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		b.edge(tail, s.LeaderNode().Name, peerLinkStyle, map[string]string{"ltail": peersCluster, "lhead": segmentCluster(s)})
	}
}

// legend is a small mesh of its own: a node, its leader, another leader
// and a peer, joined by the three kinds of link.
func (b *builder) legend() {
	b.do(b.g.AddSubGraph(graphName, legendCluster, map[string]string{"label": "legend", "style": "rounded", "fontsize": "10"}))
	add := func(id, label string, style map[string]string) {
		attrs := copyAttrs(style)
		// Quoted: "node" and "peer" alone would read as DOT keywords.
		attrs["label"], attrs["fontsize"] = `"`+label+`"`, "10"
		b.do(b.g.AddNode(legendCluster, "legend/"+id, attrs))
	}
	add("node", "node", nodeStyle)
	add("leader", "leader", leaderStyle)
	add("other", "leader", leaderStyle)
	add("peer", "peer", peerStyle)
	b.edge("legend/node", "legend/leader", privateStyle, map[string]string{"label": "private", "fontsize": "10"})
	b.edge("legend/leader", "legend/other", wireGuardStyle, map[string]string{"label": "WireGuard", "fontsize": "10"})
	b.edge("legend/peer", "legend/other", peerLinkStyle, map[string]string{"label": "peer", "fontsize": "10"})
}

// builder keeps the first error of a run of gographviz calls.
type builder struct {
	g   *gographviz.Escape
	err error
}

func (b *builder) do(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) attr(graph, key, value string) { b.do(b.g.AddAttr(graph, key, value)) }

func (b *builder) edge(from, to string, style, extra map[string]string) {
	attrs := copyAttrs(style)
	for k, v := range extra {
		attrs[k] = v
	}
	b.do(b.g.AddEdge(from, to, false, attrs))
}

func copyAttrs(m map[string]string) map[string]string {
	c := make(map[string]string, len(m)+2)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func peerID(name string) string { return "peer/" + name }

func segmentCluster(s *topology.Segment) string { return "cluster_" + s.Name }

func segmentLabel(s *topology.Segment, m *topology.Mesh) string {
	name := "location " + s.Name
	if len(s.Nodes) == 1 && s.Nodes[0].Name == s.Name {
		name = "node " + s.Name
	}
	return multiline(name,
		field("WireGuard IP", s.WireGuardIP.String()+fmt.Sprintf("/%d", m.Settings.Subnet.Bits())),
		field("allowed location IPs", prefixes(s.AllowedLocationIPs)))
}

func nodeAttrs(s *topology.Segment, i int) map[string]string {
	n := &s.Nodes[i]
	name := n.Name
	style := nodeStyle
	if i == s.Leader {
		name += " (leader)"
		style = leaderStyle
	}
	lines := []string{name}
	if n.InternalIP.IsValid() {
		lines = append(lines, field("internal IP", n.InternalIP.String()))
	}
	lines = append(lines, field("pod CIDRs", prefixes(n.PodCIDRs)), field("endpoint", n.Endpoint.String()))
	if n.PersistentKeepalive > 0 {
		lines = append(lines, field("keepalive", n.PersistentKeepalive.String()))
	}
	attrs := copyAttrs(style)
	attrs["label"] = multiline(lines...)
	return attrs
}

// field is "name value", or nothing when the value is empty.
func field(name, value string) string {
	if value == "" {
		return ""
	}
	return name + " " + value
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// multiline joins non-empty lines with DOT's line break.
func multiline(lines ...string) string {
	var kept []string
	for _, l := range lines {
		if l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, `\n`)
}

// ErrNoDot says Graphviz is missing, and what to do instead.
var ErrNoDot = errors.New(`graph: rendering SVG needs Graphviz's "dot" on PATH (apt-get install graphviz, brew install graphviz); use -o dot for the DOT source`)

// SVG renders DOT with a Graphviz layout engine (dot, circo, neato, …).
func SVG(ctx context.Context, dot []byte, layout string) ([]byte, error) {
	if layout == "" {
		layout = "dot"
	}
	path, err := exec.LookPath(layout)
	if err != nil {
		if layout == "dot" {
			return nil, ErrNoDot
		}
		return nil, fmt.Errorf("graph: layout engine %q is not on PATH (it comes with Graphviz)", layout)
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(dot), &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("graph: %s -Tsvg: %v: %s", layout, err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
