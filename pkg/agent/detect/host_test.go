package detect

import (
	"errors"
	"net"
	"testing"
)

func TestMTUFor(t *testing.T) {
	for name, tc := range map[string]struct {
		mtu  int
		err  error
		want int
	}{
		"ethernet":        {1500, nil, 1420},
		"jumbo frames":    {9001, nil, 8921},
		"just above 1360": {1361, nil, 1281},
		"too small":       {1360, nil, DefaultMTU},
		"no interface":    {0, errors.New("no such network interface"), DefaultMTU},
	} {
		t.Run(name, func(t *testing.T) {
			if got := mtuFor(&net.Interface{MTU: tc.mtu}, tc.err); got != tc.want {
				t.Errorf("mtuFor(%d, %v) = %d, want %d", tc.mtu, tc.err, got, tc.want)
			}
		})
	}
	// The loopback device exists everywhere the tests run.
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo interface")
	}
	if got := MTU("lo"); got != mtuFor(lo, nil) {
		t.Errorf("MTU(lo) = %d, want %d", got, mtuFor(lo, nil))
	}
	if got := MTU("kgctl-no-such-link"); got != DefaultMTU {
		t.Errorf("MTU of a missing link = %d, want %d", got, DefaultMTU)
	}
}

func TestIPv6(t *testing.T) {
	defer func(f func(string) bool) { exists = f }(exists)
	for _, has := range []bool{true, false} {
		var asked string
		exists = func(p string) bool { asked = p; return has }
		if got := IPv6(); got != has || asked != "/proc/sys/net/ipv6" {
			t.Errorf("IPv6() = %v asking %q, want %v asking /proc/sys/net/ipv6", got, asked, has)
		}
	}
}
