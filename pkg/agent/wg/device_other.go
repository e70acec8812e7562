//go:build !linux

package wg

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Open is only implemented on Linux; elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func Open(ctx context.Context, opts Options) (*Device, error) {
	return nil, fmt.Errorf("wg: open %q: WireGuard devices are not supported on %s: %w", opts.Name, runtime.GOOS, errors.ErrUnsupported)
}
