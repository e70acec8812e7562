package cni

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteOnlyWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net.d", "10-kilo.conflist")
	c := Config{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.2.1.0/24")}, MTU: 1420}
	for i, want := range []bool{true, false} {
		changed, err := Write(path, c)
		if err != nil || changed != want {
			t.Fatalf("write %d: changed=%v err=%v, want changed=%v", i, changed, err, want)
		}
	}
	b, _ := os.ReadFile(path)
	for _, s := range []string{`"subnet": "10.2.1.0/24"`, `"mtu": 1420`, `"type": "bridge"`, `"type": "portmap"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("conflist lacks %s:\n%s", s, b)
		}
	}
	c.PodCIDRs[0] = netip.MustParsePrefix("10.2.2.0/24")
	if changed, _ := Write(path, c); !changed {
		t.Error("a new pod CIDR did not rewrite the file")
	}
	if _, err := Render(Config{}); err == nil {
		t.Error("no pod CIDR must be an error")
	}
}
