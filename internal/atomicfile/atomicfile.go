// Package atomicfile writes a file so that a crash leaves either the old
// content or the new, never a part: the data goes to a temporary file in
// the same directory, is synced, then put in place, and the directory is
// synced so the new name survives a power loss too.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Mode says how the finished file takes the path.
type Mode int

const (
	// Replace renames over whatever is at the path.
	Replace Mode = iota
	// Create links the file to the path and fails if something is already
	// there (another process won a race): for files that must never be
	// overwritten, such as a private key.
	Create
)

// WriteTemp writes data to the temporary file and syncs it; a test may
// replace it to simulate a crash half way.
var WriteTemp = func(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// Write puts data at path with permissions perm, as mode says.
func Write(path string, data []byte, perm os.FileMode, mode Mode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link it is a second name; after a rename, gone
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := WriteTemp(f, data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if mode == Create {
		err = os.Link(tmp, path)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
