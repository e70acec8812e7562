package wg

import "fmt"

// Mode selects the WireGuard implementation behind a Device.
type Mode string

const (
	// ModeAuto uses the kernel module when the kernel has one and the
	// embedded userspace implementation otherwise.
	ModeAuto Mode = "auto"
	// ModeKernel uses a kernel "wireguard" link and fails without one.
	ModeKernel Mode = "kernel"
	// ModeUserspace runs WireGuard inside this process on a TUN device.
	ModeUserspace Mode = "userspace"
)

// ParseMode parses a mode flag value.
func ParseMode(s string) (Mode, error) {
	for _, m := range [...]Mode{ModeAuto, ModeKernel, ModeUserspace} {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("wg: unknown mode %q: want one of %q, %q or %q", s, ModeAuto, ModeKernel, ModeUserspace)
}

// String returns the flag value of m.
func (m Mode) String() string { return string(m) }
