// Package heapdump writes a process's heap profile when it is signalled,
// for measuring an agent where it runs without opening a port.
package heapdump

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// OnSignal writes a heap profile each time the process receives
// SIGUSR1, until ctx ends: after a GC, to
// $TMPDIR/kgctl-heap-PID-UNIXNANO.pprof (read it with `go tool pprof`),
// and logs the runtime's memory figures beside the path. It is for
// measuring an agent where it runs (hack/liveness/bench.sh), costs
// nothing until signalled and opens no port.
func OnSignal(ctx context.Context, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				path, err := write(os.TempDir())
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				attrs := []any{"path", path, "heapAllocMiB", m.HeapAlloc >> 20, "heapInuseMiB", m.HeapInuse >> 20,
					"heapIdleMiB", m.HeapIdle >> 20, "heapReleasedMiB", m.HeapReleased >> 20, "sysMiB", m.Sys >> 20,
					"nextGCMiB", m.NextGC >> 20, "numGC", m.NumGC}
				if err != nil {
					log.Error("heap profile", append(attrs, "err", err)...)
					continue
				}
				log.Info("heap profile", attrs...)
			}
		}
	}()
}

// write collects garbage (the profile's in-use figures are
// then the live heap) and writes the profile into dir.
func write(dir string) (string, error) {
	runtime.GC()
	path := filepath.Join(dir, fmt.Sprintf("kgctl-heap-%d-%d.pprof", os.Getpid(), time.Now().UnixNano()))
	f, err := os.Create(path)
	if err != nil {
		return path, err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return path, err
	}
	return path, f.Close()
}
