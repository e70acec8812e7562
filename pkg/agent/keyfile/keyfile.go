// Package keyfile keeps a node's WireGuard private key on disk: created
// once with mode 0600, read on every start, never replaced. A key file
// that exists but cannot be read is an error, because silently making a
// new key would cut the node off from every peer that knows the old one.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kgctl/kgctl/internal/atomicfile"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// LoadOrCreate returns the private key stored at path, creating the file
// (and its directory, 0700) with a new key if it does not exist.
func LoadOrCreate(path string, generate func() (wireguard.Key, error)) (key wireguard.Key, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, perr := wireguard.ParseKey(strings.TrimSpace(string(b)))
		if perr != nil {
			// Never echo the content: it is meant to be a secret.
			return wireguard.Key{}, false, fmt.Errorf("keyfile: %s exists but does not hold a WireGuard private key (%d bytes); refusing to replace it — move it away to generate a new key", path, len(b))
		}
		if st, serr := os.Stat(path); serr == nil && st.Mode().Perm()&0o077 != 0 {
			return k, false, fmt.Errorf("keyfile: %s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
		}
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return wireguard.Key{}, false, fmt.Errorf("keyfile: %w", err)
	}
	if generate == nil {
		generate = wireguard.GeneratePrivateKey
	}
	k, err := generate()
	if err != nil {
		return wireguard.Key{}, false, fmt.Errorf("keyfile: generate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return wireguard.Key{}, false, fmt.Errorf("keyfile: %w", err)
	}
	if err := create(path, []byte(k.String()+"\n")); err != nil {
		return wireguard.Key{}, false, fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	return k, true, nil
}

// create puts data at path only once it is whole and on disk, linked
// rather than renamed: it fails if another process created path
// meanwhile, so a key is never overwritten, and a crash leaves at most a
// temporary file, never a partial key under path.
func create(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o600, atomicfile.Create)
}
