// Command cachemem is the helper of hack/bench/agent-rss.sh: it loads
// Nodes into an API server, and measures what a Node informer's cache
// costs with and without the agent's trimming.
//
//	cachemem load -kubeconfig K -f nodes.yaml [-parallel 32]
//	cachemem cache -kubeconfig K -trim=false   # client-go's informer, whole Nodes
//	cachemem cache -kubeconfig K -trim=true    # the agent's source.Watcher
//
// cache prints, once the informer has synced and after two GCs, the
// process's RSS and Go heap in use. It is a test tool, not part of kgctl.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgctl/kgctl/pkg/source"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cachemem load|cache [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	file := fs.String("f", "", "load: the Nodes to create (YAML or JSON, as -f reads)")
	parallel := fs.Int("parallel", 32, "load: concurrent creates")
	trim := fs.Bool("trim", true, "cache: the agent's trimmed watcher (true) or client-go's plain informer")
	_ = fs.Parse(os.Args[2:])
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "load":
		objs, err := source.Files([]string{*file}, nil)
		if err != nil {
			fail(err)
		}
		load(cs, objs.Nodes, *parallel)
	case "cache":
		dc, err := dynamic.NewForConfig(cfg)
		if err != nil {
			fail(err)
		}
		measure(cs, dc, *trim)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cachemem:", err)
	os.Exit(1)
}

// load creates the Nodes (status included: a Node's is kept on create).
func load(cs kubernetes.Interface, nodes []*corev1.Node, parallel int) {
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(nodes)) {
					return
				}
				n := nodes[i]
				n.ResourceVersion, n.UID = "", ""
				if _, err := cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil &&
					!strings.Contains(err.Error(), "already exists") {
					if failed.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, "cachemem: create", n.Name+":", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		fail(fmt.Errorf("%d of %d creates failed", failed.Load(), len(nodes)))
	}
	fmt.Printf("created %d nodes in %.1fs\n", len(nodes), time.Since(start).Seconds())
}

func measure(cs kubernetes.Interface, dc dynamic.Interface, trim bool) {
	ctx := context.Background()
	start := time.Now()
	n := 0
	if trim {
		w := source.NewWatcher(cs, dc, cs.Discovery(), 0)
		if err := w.Start(ctx, 5*time.Minute); err != nil {
			fail(err)
		}
		n = len(w.Objects().Nodes)
	} else {
		inf := informers.NewSharedInformerFactory(cs, 0).Core().V1().Nodes().Informer()
		go inf.Run(ctx.Done())
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			fail(fmt.Errorf("not synced"))
		}
		n = len(inf.GetStore().List())
	}
	synced := time.Since(start)
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mode := "client-go informer, whole Nodes"
	if trim {
		mode = "the agent's watcher, trimmed Nodes"
	}
	fmt.Printf("%-36s %6d nodes, synced in %5.1fs: RSS %4d MiB, Go heap in use %4d MiB\n",
		mode, n, synced.Seconds(), rssKiB()/1024, ms.HeapInuse>>20)
}

func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kib int
			_, _ = fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
			return kib
		}
	}
	return 0
}
