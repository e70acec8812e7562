package heapdump

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the signal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOnSignal: SIGUSR1 writes a heap profile (gzipped protobuf,
// as go tool pprof reads it) into $TMPDIR and logs its path with the
// heap's figures.
func TestOnSignal(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	OnSignal(ctx, slog.New(slog.NewTextHandler(&out, nil)))
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !strings.Contains(out.String(), "heapAllocMiB="); {
		time.Sleep(20 * time.Millisecond)
	}
	log := out.String()
	if !strings.Contains(log, `msg="heap profile"`) || !strings.Contains(log, "heapInuseMiB=") || strings.Contains(log, "err=") {
		t.Fatalf("log %q: want the profile's path and the heap's figures, no error", log)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "kgctl-heap-") {
		t.Fatalf("TMPDIR holds %v (%v), want one kgctl-heap-* file", entries, err)
	}
	b, err := os.ReadFile(dir + "/" + entries[0].Name())
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile: %d bytes (%v), want a gzipped protobuf", len(b), err)
	}
	if !strings.Contains(log, entries[0].Name()) {
		t.Errorf("log %q does not name %s", log, entries[0].Name())
	}
}
