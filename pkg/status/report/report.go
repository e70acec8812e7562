// Package report builds what kgctl status shows: every location, its
// leader and nodes, each node's tunnels as its agent reports them (the
// kilo.squat.ai/status annotation, see pkg/health), and whether the
// WireGuard config the agent last applied is the one the engine computes
// now. It is pure: it reads a mesh and annotations, nothing else.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
)

// Report is the mesh's health.
type Report struct {
	Nodes []Node   `json:"nodes"`
	Peers []string `json:"peers"`
	// Drifted names the nodes whose applied config is not the computed one.
	Drifted []string `json:"drifted"`
}

// Node is one node's row.
type Node struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	Leader   bool   `json:"leader"`
	// Reported is false when the node's agent published no status (an
	// older agent, Kilo's, or not sampled yet); Problem says why it
	// could not be read.
	Reported bool     `json:"reported"`
	Problem  string   `json:"problem,omitempty"`
	Up       int      `json:"up"`
	Down     []string `json:"down"`
	Never    []string `json:"never"`
	// Applied is what the agent reports applying; Computed the hash of
	// the config the engine computes for the node now.
	Applied  string `json:"applied"`
	Computed string `json:"computed"`
	Drifted  bool   `json:"drifted"`
}

// Build reports on m; status gives each node's status annotation value.
func Build(m *topology.Mesh, status map[string]string) Report {
	r := Report{Nodes: []Node{}, Peers: []string{}, Drifted: []string{}}
	for i := range m.Segments {
		s := &m.Segments[i]
		for j, n := range s.Nodes {
			row := Node{Name: n.Name, Location: s.Location, Leader: j == s.Leader, Down: []string{}, Never: []string{}}
			if v, ok := m.View(n.Name); ok {
				// The shared view: NodeView would copy every node's
				// peers' allowed IPs.
				row.Computed = health.Hash(v.WireGuard())
			}
			if v, ok := status[n.Name]; ok {
				if st, err := health.Decode(v); err != nil {
					row.Problem = fmt.Sprintf("annotation %s: %v", health.Key, err)
				} else {
					row.Reported, row.Up, row.Applied = true, st.Up, st.Applied
					row.Down = append(row.Down, st.Down...)
					row.Never = append(row.Never, st.Never...)
					if st.DownMore > 0 {
						row.Down = append(row.Down, fmt.Sprintf("(+%d)", st.DownMore))
					}
					if st.NeverMore > 0 {
						row.Never = append(row.Never, fmt.Sprintf("(+%d)", st.NeverMore))
					}
					row.Drifted = st.Applied != "" && st.Applied != row.Computed
				}
			}
			if row.Drifted {
				r.Drifted = append(r.Drifted, n.Name)
			}
			r.Nodes = append(r.Nodes, row)
		}
	}
	slices.SortFunc(r.Nodes, func(a, b Node) int {
		return strings.Compare(a.Location+"\x00"+a.Name, b.Location+"\x00"+b.Name)
	})
	slices.Sort(r.Drifted)
	for _, p := range m.Peers {
		r.Peers = append(r.Peers, p.Name)
	}
	slices.Sort(r.Peers)
	return r
}

// WriteTable writes r as a table, then the peers and the drifted nodes.
func WriteTable(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tNODE\tLEADER\tUP\tDOWN\tNEVER\tAPPLIED\tCONFIG")
	for _, n := range r.Nodes {
		leader, config := "", "in sync"
		if n.Leader {
			leader = "yes"
		}
		up, down, never, applied := "-", "-", "-", "-"
		if n.Reported {
			up, down, never = fmt.Sprint(n.Up), list(n.Down), list(n.Never)
			if n.Applied != "" {
				applied = n.Applied
			}
		}
		switch {
		case n.Problem != "":
			config = "unknown: " + n.Problem
		case !n.Reported || n.Applied == "":
			config = "not reported"
		case n.Drifted:
			config = "DRIFTED (engine " + n.Computed + ")"
		}
		loc := n.Location
		if loc == "" {
			loc = "<none>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", loc, n.Name, leader, up, down, never, applied, config)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\npeers: %s\n", listOr(r.Peers, "none"))
	_, err := fmt.Fprintf(w, "drifted: %s\n", listOr(r.Drifted, "none"))
	return err
}

func list(s []string) string { return listOr(s, "-") }

func listOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ",")
}
