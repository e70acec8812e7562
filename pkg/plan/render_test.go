package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	linediff "github.com/kgctl/kgctl/internal/golden"

	"github.com/kgctl/kgctl/pkg/topology"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// renderCases are plans whose renderings are kept in testdata.
var renderCases = map[string]func(c *topology.Cluster){
	"empty": func(c *topology.Cluster) {},
	"join": func(c *topology.Cluster) {
		c.Nodes = append(c.Nodes, testNode("a-3", "a", "10.0.0.3/24", "10.0.0.3:51820", "10.2.4.0/24", 4))
	},
	"leader-keepalive-psk": func(c *topology.Cluster) {
		psk := testKey(42)
		c.Nodes[1].Leader = true
		c.Nodes[1].PersistentKeepalive = 25 * time.Second
		c.Peers[0].PresharedKey = &psk
		c.Peers[0].Endpoint = endpoint("203.0.113.5:51820")
	},
	"flip": func(c *topology.Cluster) { c.Settings.Granularity = topology.FullGranularity },
	"leave-and-peer": func(c *topology.Cluster) {
		c.Nodes = c.Nodes[1:]
		c.Peers = append(c.Peers, topology.Peer{Name: "q", PublicKey: testKey(10), AllowedIPs: prefixes("10.5.0.2/32", "10.2.1.0/24")})
	},
}

func TestRender(t *testing.T) {
	for name, change := range renderCases {
		t.Run(name, func(t *testing.T) {
			before := mustBuild(t, testCluster())
			c := testCluster()
			change(&c)
			p := Diff(before, mustBuild(t, c))
			var text, color, js bytes.Buffer
			if err := WriteText(&text, p, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteText(&color, p, Options{Color: true}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, p); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", text.Bytes())
			golden(t, name+".json", js.Bytes())
			if strings.Contains(text.String(), "\x1b[") {
				t.Errorf("text without color has escape codes")
			}
			if stripANSI(color.String()) != text.String() {
				t.Errorf("colored text differs from text beyond its escape codes")
			}
			if !p.Empty() && !strings.Contains(color.String(), "\x1b[") {
				t.Errorf("colored text has no escape codes")
			}
			var decoded map[string]any
			if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || decoded["format_version"] != FormatVersion {
				t.Errorf("JSON: format_version %v, %v", decoded["format_version"], err)
			}
		})
	}
}

func stripANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		s = s[:i] + s[i+j+1:]
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	linediff.File(t, filepath.Join("testdata", name), string(got), *update)
}

// TestJSONSorted checks the order the format promises: settings, nodes,
// locations, peers, each by name; warnings errors first.
func TestJSONSorted(t *testing.T) {
	before := mustBuild(t, testCluster())
	c := testCluster()
	c.Settings.Granularity = topology.FullGranularity
	c.Nodes[0].Key = [32]byte{}
	c.Nodes[2].PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}
	p := Diff(before, mustBuild(t, c))
	var js bytes.Buffer
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Changes  []struct{ Kind, Name string }
		Warnings []struct{ Severity string }
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{"setting": 0, "node": 1, "location": 2, "peer": 3}
	for i := 1; i < len(out.Changes); i++ {
		a, b := out.Changes[i-1], out.Changes[i]
		if rank[a.Kind] > rank[b.Kind] || rank[a.Kind] == rank[b.Kind] && a.Name >= b.Name {
			t.Errorf("changes out of order: %s %s before %s %s", a.Kind, a.Name, b.Kind, b.Name)
		}
	}
	for i := 1; i < len(out.Warnings); i++ {
		if out.Warnings[i-1].Severity == "warning" && out.Warnings[i].Severity == "error" {
			t.Errorf("warning before error at %d", i)
		}
	}
}
