package status

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kgctl/kgctl/pkg/graph"
	"github.com/kgctl/kgctl/pkg/topology"
)

// Options is what the handlers read.
type Options struct {
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Ready is closed after the first full apply.
	Ready <-chan struct{}
	// Mesh is the mesh as the agent sees it now.
	Mesh func() (*topology.Mesh, error)
	// Render lays out DOT with Graphviz; nil runs Graphviz's dot.
	Render func(ctx context.Context, dot []byte, layout, format string) ([]byte, error)
}

// Kilo's /graph query values and defaults.
var (
	Formats = []string{"svg", "png", "bmp", "fig", "gif", "json", "ps"}
	Layouts = []string{"circo", "dot", "neato", "twopi", "fdp"}
)

const (
	defaultFormat = "svg"
	defaultLayout = "circo"
)

// Handler serves /metrics, /health and /graph.
func Handler(o Options) http.Handler {
	if o.Render == nil {
		o.Render = Graphviz
	}
	mux := http.NewServeMux()
	if o.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/health", o.health)
	mux.HandleFunc("/graph", o.graph)
	return mux
}

func (o Options) health(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-o.Ready:
		fmt.Fprintln(w, "ok")
	default:
		http.Error(w, "not ready: the node's first full apply has not completed", http.StatusServiceUnavailable)
	}
}

func (o Options) graph(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format, layout := q.Get("format"), q.Get("layout")
	if format == "" {
		format = defaultFormat
	}
	if layout == "" {
		layout = defaultLayout
	}
	raw := format == "dot" || format == "gv"
	if !raw && !slices.Contains(Formats, format) {
		http.Error(w, fmt.Sprintf("format %q: want dot, gv or one of %s", format, strings.Join(Formats, ", ")), http.StatusBadRequest)
		return
	}
	if !slices.Contains(Layouts, layout) {
		http.Error(w, fmt.Sprintf("layout %q: want one of %s", layout, strings.Join(Layouts, ", ")), http.StatusBadRequest)
		return
	}
	m, err := o.Mesh()
	if err != nil {
		http.Error(w, fmt.Sprintf("mesh: %v", err), http.StatusInternalServerError)
		return
	}
	var dot bytes.Buffer
	if err := graph.Write(&dot, m); err != nil {
		http.Error(w, fmt.Sprintf("graph: %v", err), http.StatusInternalServerError)
		return
	}
	if raw {
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		w.Write(dot.Bytes())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out, err := o.Render(ctx, dot.Bytes(), layout, format)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ct := mime.TypeByExtension("." + format)
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Write(out)
}

// Graphviz runs `dot -K<layout> -T<format>` (the agent's image may not
// ship Graphviz: then /graph?format=dot still works).
func Graphviz(ctx context.Context, dot []byte, layout, format string) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, fmt.Errorf("graphviz's dot is not installed here: ask for ?format=dot and render it elsewhere")
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-K"+layout, "-T"+format)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(dot), &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dot -K%s -T%s: %v: %s", layout, format, err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
