// Command liveness is the load generator of the liveness benchmark
// (hack/liveness/bench.sh): it fills a real API server with Nodes as
// Kilo's agents annotate them (each Ready, as kubelet leaves it), writes
// what N agents and kubelets would, and counts the watch events one
// agent receives.
//
//	liveness create -n 10000 [-locations 50]
//	liveness beat -n 10000 -period 30s -duration 60s     # last-seen, each node once per period
//	liveness mark -n 10000                               # the kgctl marker on every node
//	liveness flip -n 10000 -every 10s -down 30s -duration 60s  # Ready -> Unknown -> Ready
//	liveness kubelet -n 10000 -period 5m -duration 60s   # kubelet's status report (lastHeartbeatTime)
//	liveness watch -duration 60s
//
// Every command takes -kubeconfig. It is a test tool, not part of kgctl.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: liveness create|beat|watch [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server")
	n := fs.Int("n", 10000, "number of nodes")
	locations := fs.Int("locations", 50, "number of locations")
	period := fs.Duration("period", 30*time.Second, "heartbeat period of each simulated agent")
	duration := fs.Duration("duration", 60*time.Second, "how long to beat or watch")
	workers := fs.Int("workers", 32, "concurrent API requests")
	skip := fs.Int("skip", 0, "leave the first SKIP nodes to real agents")
	every := fs.Duration("every", 10*time.Second, "how often a node turns Unknown (flip)")
	down := fs.Duration("down", 30*time.Second, "how long it stays Unknown (flip)")
	_ = fs.Parse(os.Args[2:])
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6 // the load generator is the load
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	switch os.Args[1] {
	case "create":
		err = create(ctx, cs, *n, *locations, *workers)
	case "beat":
		err = spread(ctx, "beat", *n, *skip, *period, *duration, *workers, func(ctx context.Context, i int) error {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"kilo.squat.ai/last-seen":%q}}}`, strconv.FormatInt(time.Now().Unix(), 10))
			_, err := cs.CoreV1().Nodes().Patch(ctx, nodeName(i), types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			return err
		})
	case "kubelet":
		err = spread(ctx, "kubelet", *n, *skip, *period, *duration, *workers, func(ctx context.Context, i int) error {
			return setReady(ctx, cs, nodeName(i), corev1.ConditionTrue, false)
		})
	case "mark":
		err = mark(ctx, cs, *n, *skip, *workers)
	case "flip":
		err = flip(ctx, cs, *n, *skip, *every, *down, *duration)
	case "watch":
		err = count(ctx, cs, *duration)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "liveness:", err)
	os.Exit(1)
}

func nodeName(i int) string { return fmt.Sprintf("node-%05d", i) }

// create makes n Nodes annotated as running Kilo agents would leave them.
func create(ctx context.Context, cs kubernetes.Interface, n, locations, workers int) error {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	return parallel(n, workers, func(i int) error {
		var k [32]byte
		_, _ = rand.Read(k[:])
		pod := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(128 + i>>8), byte(i), 0}), 24)
		internal := netip.AddrFrom4([4]byte{172, 16 + byte(i>>16), byte(i >> 8), byte(i)})
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:   nodeName(i),
				Labels: map[string]string{"topology.kubernetes.io/region": fmt.Sprintf("loc-%02d", i%locations)},
				Annotations: map[string]string{
					"kilo.squat.ai/key":         base64.StdEncoding.EncodeToString(k[:]),
					"kilo.squat.ai/endpoint":    fmt.Sprintf("%s:51820", internal),
					"kilo.squat.ai/internal-ip": internal.String() + "/16",
					"kilo.squat.ai/last-seen":   now,
					"kilo.squat.ai/granularity": "location",
				},
			},
			Spec: corev1.NodeSpec{PodCIDR: pod.String(), PodCIDRs: []string{pod.String()}},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return err
		}
		return setReady(ctx, cs, node.Name, corev1.ConditionTrue, true)
	})
}

// setReady writes a node's Ready condition as kubelet and the node
// lifecycle controller do (a strategic merge patch of the status, merged
// by condition type): the heartbeat time always, the transition time when
// the status changes.
func setReady(ctx context.Context, cs kubernetes.Interface, name string, status corev1.ConditionStatus, transition bool) error {
	now := metav1.Now().Rfc3339Copy().Format(time.RFC3339)
	c := fmt.Sprintf(`{"type":"Ready","status":%q,"reason":"KubeletReady","lastHeartbeatTime":%q`, status, now)
	if transition {
		c += fmt.Sprintf(`,"lastTransitionTime":%q`, now)
	}
	patch := `{"status":{"conditions":[` + c + `}]}}`
	_, err := cs.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
}

// mark gives every simulated node the kgctl marker, as if every agent
// had been replaced by kgctl's: no reader needs last-seen every resync.
func mark(ctx context.Context, cs kubernetes.Interface, n, skip, workers int) error {
	start := time.Now()
	err := parallel(n-skip, workers, func(i int) error {
		_, err := cs.CoreV1().Nodes().Patch(ctx, nodeName(skip+i), types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"kilo.squat.ai/heartbeat-interval":"600"}}}`), metav1.PatchOptions{})
		return err
	})
	fmt.Printf("mark: %d nodes in %.0fs\n", n-skip, time.Since(start).Seconds())
	return err
}

// flip turns a random simulated node Unknown every interval and back
// Ready after down: a few transitions, what the node lifecycle controller
// writes when nodes come and go.
func flip(ctx context.Context, cs kubernetes.Interface, n, skip int, every, down, duration time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var writes, errs atomic.Int64
	var wg sync.WaitGroup
	write := func(name string, s corev1.ConditionStatus) {
		if err := setReady(context.Background(), cs, name, s, true); err != nil {
			errs.Add(1)
			return
		}
		writes.Add(1)
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
		}
		name := nodeName(skip + mrand.IntN(n-skip))
		write(name, corev1.ConditionUnknown)
		wg.Go(func() {
			time.Sleep(down)
			write(name, corev1.ConditionTrue)
		})
	}
	secs := time.Since(start).Seconds() // the last ones come back Ready after
	wg.Wait()
	fmt.Printf("flip: %d Ready transitions in %.0fs: %.2f writes/s, %d errors\n", writes.Load(), secs, float64(writes.Load())/secs, errs.Load())
	return nil
}

// spread runs write once per node per period, spread evenly, for
// duration: the write load of n agents' heartbeats (beat) or n kubelets'
// status reports (kubelet).
func spread(ctx context.Context, what string, n, skip int, period, duration time.Duration, workers int, write func(context.Context, int) error) error {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	jobs := make(chan int, workers)
	var writes, errs atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := write(ctx, i); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				writes.Add(1)
			}
		})
	}
	start := time.Now()
	interval := period / time.Duration(n-skip)
	next := start
loop:
	for i := skip; ; i++ {
		if i == n {
			i = skip
		}
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				break loop
			case <-time.After(d):
			}
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("%s: %d writes for %d nodes every %s in %.0fs: %.1f writes/s (target %.1f), %d errors\n",
		what, writes.Load(), n-skip, period, secs, float64(writes.Load())/secs, float64(n-skip)/period.Seconds(), errs.Load())
	return nil
}

// count watches Nodes for duration, as one agent's informer does, and
// reports the events it received.
func count(ctx context.Context, cs kubernetes.Interface, duration time.Duration) error {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	w, err := cs.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	end := time.After(duration)
	var events, modified int
	start := time.Now()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch closed after %d events", events)
			}
			events++
			if ev.Type == watch.Modified {
				modified++
			}
		case <-end:
			secs := time.Since(start).Seconds()
			fmt.Printf("watch: %d events (%d modified) in %.0fs: %.1f events/s for one agent's watch of %d nodes\n",
				events, modified, secs, float64(events)/secs, len(list.Items))
			return nil
		}
	}
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(int) error) error {
	jobs := make(chan int)
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}
