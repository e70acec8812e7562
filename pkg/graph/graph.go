// Package graph draws a mesh as Graphviz: each segment a cluster, its
// leader marked, WireGuard links between leaders, private links from
// followers to their leader, and peers linked to every leader. DOT comes
// from gographviz; SVG from Graphviz's own dot, when it is installed.
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

// Write renders m as DOT. The output depends only on the mesh, so it can
// be committed and diffed.
func Write(w io.Writer, m *topology.Mesh) error {
	b := &builder{g: gographviz.NewEscape()}
	b.do(b.g.SetName(graphName))
	b.do(b.g.SetDir(false))
	b.do(b.g.AddAttr(graphName, "label", fmt.Sprintf("%s granularity, WireGuard subnet %s", m.Settings.Granularity, m.Settings.Subnet)))
	b.do(b.g.AddAttr(graphName, "labelloc", "t"))
	b.do(b.g.AddAttr(graphName, "overlap", "false"))
	for i := range m.Segments {
		s := &m.Segments[i]
		cluster := "cluster_" + s.Name
		b.do(b.g.AddSubGraph(graphName, cluster, map[string]string{"label": segmentLabel(s, m.Settings.Subnet), "style": "rounded"}))
		for j := range s.Nodes {
			b.do(b.g.AddNode(cluster, nodeID(s.Nodes[j].Name), nodeAttrs(s, j)))
		}
		// Followers reach other segments through their leader, privately.
		for j := range s.Nodes {
			if j != s.Leader {
				b.do(b.g.AddEdge(nodeID(s.Nodes[j].Name), nodeID(s.LeaderNode().Name), false, map[string]string{"style": "dashed"}))
			}
		}
	}
	for i := range m.Segments {
		for j := i + 1; j < len(m.Segments); j++ {
			x, y := &m.Segments[i], &m.Segments[j]
			if m.Settings.Granularity == topology.CrossGranularity && x.Location == y.Location {
				continue // same location: private network, no tunnel
			}
			b.do(b.g.AddEdge(nodeID(x.LeaderNode().Name), nodeID(y.LeaderNode().Name), false, map[string]string{"style": "bold"}))
		}
	}
	for _, p := range m.Peers {
		id := peerID(p.Name)
		b.do(b.g.AddNode(graphName, id, map[string]string{
			"label": multiline("peer "+p.Name, prefixes(p.AllowedIPs), p.Endpoint.String()),
			"shape": "box", "style": `"rounded,dashed"`,
		}))
		for i := range m.Segments {
			b.do(b.g.AddEdge(id, nodeID(m.Segments[i].LeaderNode().Name), false, map[string]string{"style": "dotted"}))
		}
	}
	if b.err != nil {
		return fmt.Errorf("graph: %w", b.err)
	}
	_, err := io.WriteString(w, b.g.String())
	return err
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

func nodeID(name string) string { return name }
func peerID(name string) string { return "peer/" + name }

func segmentLabel(s *topology.Segment, subnet netip.Prefix) string {
	name := "location " + s.Name
	if len(s.Nodes) == 1 && s.Nodes[0].Name == s.Name {
		name = "node " + s.Name
	}
	return multiline(name, netip.PrefixFrom(s.WireGuardIP, subnet.Bits()).String())
}

func nodeAttrs(s *topology.Segment, i int) map[string]string {
	n := &s.Nodes[i]
	lines := []string{n.Name}
	if i == s.Leader {
		lines[0] += " (leader)"
	}
	if n.InternalIP.IsValid() {
		lines = append(lines, n.InternalIP.String())
	}
	lines = append(lines, prefixes(n.PodCIDRs), n.Endpoint.String())
	if n.PersistentKeepalive > 0 {
		lines = append(lines, "keepalive "+n.PersistentKeepalive.String())
	}
	attrs := map[string]string{"label": multiline(lines...), "shape": "ellipse"}
	if i == s.Leader {
		attrs["style"] = "bold"
		attrs["shape"] = "doublecircle"
	}
	return attrs
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
