package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgctl/kgctl/internal/atomicfile"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func TestLoadOrCreate(t *testing.T) {
	fixed := wireguard.Key{1, 2, 3}
	gen := func() (wireguard.Key, error) { return fixed, nil }
	tests := []struct {
		name        string
		setup       func(path string)
		wantCreated bool
		wantErr     string
	}{
		{name: "creates a new key", wantCreated: true},
		{name: "reads an existing key", setup: func(p string) { os.WriteFile(p, []byte(fixed.String()+"\n"), 0o600) }},
		{name: "corrupt key is an error, never replaced", setup: func(p string) { os.WriteFile(p, []byte("garbage"), 0o600) }, wantErr: "refusing to replace it"},
		{name: "world-readable key is an error", setup: func(p string) { os.WriteFile(p, []byte(fixed.String()), 0o644) }, wantErr: "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "key")
			os.MkdirAll(filepath.Dir(path), 0o700)
			if tt.setup != nil {
				tt.setup(path)
			}
			before, _ := os.ReadFile(path)
			k, created, err := LoadOrCreate(path, gen)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "garbage") {
					t.Errorf("error leaks the file content: %v", err)
				}
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Errorf("key file was modified")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k != fixed || created != tt.wantCreated {
				t.Errorf("got key %v created %v", k == fixed, created)
			}
			st, _ := os.Stat(path)
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %o, want 600", st.Mode().Perm())
			}
		})
	}
}

// TestCrashWhileWriting: a write that dies half way (the process killed,
// the disk full) leaves nothing under the key's name, so the next start
// makes a key rather than refusing a truncated file forever.
func TestCrashWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	orig := atomicfile.WriteTemp
	t.Cleanup(func() { atomicfile.WriteTemp = orig })
	atomicfile.WriteTemp = func(f *os.File, data []byte) error {
		f.Write(data[:10]) // a partial key on disk
		return errors.New("killed")
	}
	if _, _, err := LoadOrCreate(path, nil); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("LoadOrCreate = %v, want the write's error", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a failed write, %s: %v; want it absent", path, err)
	}
	atomicfile.WriteTemp = orig
	k, created, err := LoadOrCreate(path, nil)
	if err != nil || !created {
		t.Fatalf("next start: created=%v, %v; want a new key", created, err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != k.String() {
		t.Errorf("key file does not hold the key returned")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the key (temporary files removed)", len(entries))
	}
}

// TestCreateNeverOverwrites: a key another process put in place between
// the read and the write is kept.
func TestCreateNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("theirs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := create(path, []byte("ours\n")); err == nil {
		t.Fatal("create over an existing key succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != "theirs\n" {
		t.Errorf("key file = %q, want the other process's", b)
	}
}
