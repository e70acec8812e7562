package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing string // "" : no file before
		mode     Mode
		wantErr  error
		want     string
	}{
		{name: "replace new", mode: Replace, want: "new"},
		{name: "replace existing", existing: "old", mode: Replace, want: "new"},
		{name: "create new", mode: Create, want: "new"},
		{name: "create refuses existing", existing: "old", mode: Create, wantErr: fs.ErrExist, want: "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, []byte("new"), 0o600, tt.mode)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Write = %v, want %v", err, tt.wantErr)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tt.want {
				t.Errorf("content %q, want %q", b, tt.want)
			}
			if tt.wantErr == nil {
				if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
					t.Errorf("mode %04o, want 0600", st.Mode().Perm())
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d files, want 1 (temporary file removed)", len(entries))
			}
		})
	}
}

// TestCrash: a write that dies half way leaves the old content and no
// temporary file.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	orig := WriteTemp
	t.Cleanup(func() { WriteTemp = orig })
	WriteTemp = func(f *os.File, data []byte) error {
		f.Write(data[:1])
		return errors.New("killed")
	}
	if err := Write(path, []byte("new"), 0o600, Replace); err == nil {
		t.Fatal("Write succeeded after a crash")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content %q after a crash, want the old one", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1", len(entries))
	}
}
