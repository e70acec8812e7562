package status

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func mesh(t *testing.T) *topology.Mesh {
	t.Helper()
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	for i, name := range []string{"a-1", "b-1"} {
		var k wireguard.Key
		k[0] = byte(i + 1)
		c.Nodes = append(c.Nodes, topology.Node{
			Name: name, Location: name[:1], Key: k,
			InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), 24),
			Endpoint:   wireguard.Endpoint{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, byte(i), 0}), 24)},
		})
	}
	m, err := topology.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type response struct {
	Code        int
	ContentType string
	Body        string // its first line
}

func get(t *testing.T, h http.Handler, url string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	body, _ := io.ReadAll(rec.Body)
	first, _, _ := strings.Cut(string(body), "\n")
	return response{Code: rec.Code, ContentType: rec.Header().Get("Content-Type"), Body: first}
}

func TestHealth(t *testing.T) {
	ready := make(chan struct{})
	h := Handler(Options{Ready: ready, Mesh: func() (*topology.Mesh, error) { return mesh(t), nil }})
	want := response{Code: 503, ContentType: "text/plain; charset=utf-8", Body: "not ready: the node's first full apply has not completed"}
	if d := cmp.Diff(want, get(t, h, "/health")); d != "" {
		t.Errorf("before the first apply (-want +got):\n%s", d)
	}
	close(ready)
	want = response{Code: 200, ContentType: "text/plain; charset=utf-8", Body: "ok"}
	if d := cmp.Diff(want, get(t, h, "/health")); d != "" {
		t.Errorf("after the first apply (-want +got):\n%s", d)
	}
}

func TestGraph(t *testing.T) {
	var asked []string
	render := func(_ context.Context, dot []byte, layout, format string) ([]byte, error) {
		asked = append(asked, layout+" "+format)
		if !strings.HasPrefix(string(dot), "graph kilo {") {
			return nil, errors.New("not the mesh's DOT")
		}
		return []byte("<rendered " + format + ">\n"), nil
	}
	broken := false
	h := Handler(Options{Render: render, Mesh: func() (*topology.Mesh, error) {
		if broken {
			return nil, errors.New("no nodes listed yet")
		}
		return mesh(t), nil
	}})
	tests := []struct {
		url    string
		want   response
		render string
	}{
		// Kilo's defaults: SVG laid out with circo.
		{"/graph", response{200, "image/svg+xml", "<rendered svg>"}, "circo svg"},
		{"/graph?format=png&layout=dot", response{200, "image/png", "<rendered png>"}, "dot png"},
		{"/graph?format=dot", response{200, "text/vnd.graphviz; charset=utf-8", "graph kilo {"}, ""},
		{"/graph?format=gv&layout=neato", response{200, "text/vnd.graphviz; charset=utf-8", "graph kilo {"}, ""},
		{"/graph?format=pdf", response{400, "text/plain; charset=utf-8", `format "pdf": want dot, gv or one of svg, png, bmp, fig, gif, json, ps`}, ""},
		{"/graph?layout=sfdp", response{400, "text/plain; charset=utf-8", `layout "sfdp": want one of circo, dot, neato, twopi, fdp`}, ""},
	}
	for _, tt := range tests {
		asked = nil
		if d := cmp.Diff(tt.want, get(t, h, tt.url)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.url, d)
		}
		if got := strings.Join(asked, ","); got != tt.render {
			t.Errorf("%s rendered with %q, want %q", tt.url, got, tt.render)
		}
	}
	broken = true
	want := response{500, "text/plain; charset=utf-8", "mesh: no nodes listed yet"}
	if d := cmp.Diff(want, get(t, h, "/graph?format=dot")); d != "" {
		t.Errorf("without a mesh (-want +got):\n%s", d)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kilo_nodes", Help: "Number of nodes in the mesh."})
	g.Set(3)
	reg.MustRegister(g)
	rec := httptest.NewRecorder()
	Handler(Options{Gatherer: reg}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\nkilo_nodes 3\n") {
		t.Errorf("/metrics does not serve kilo_nodes 3:\n%s", rec.Body.String())
	}
}

// TestGraphviz renders for real where Graphviz is installed.
func TestGraphviz(t *testing.T) {
	rec := httptest.NewRecorder()
	h := Handler(Options{Mesh: func() (*topology.Mesh, error) { return mesh(t), nil }})
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graph?layout=dot", nil))
	if rec.Code != 200 {
		if strings.Contains(rec.Body.String(), "not installed") {
			t.Skip("Graphviz is not installed")
		}
		t.Fatalf("/graph: %d %s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(rec.Body.String(), "<svg") {
		t.Errorf("/graph is not an SVG:\n%.200s", rec.Body.String())
	}
}
