package keyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
