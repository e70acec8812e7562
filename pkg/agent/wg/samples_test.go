package wg

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/health"
)

func TestSamples(t *testing.T) {
	k1, k2 := wgtypes.Key{1}, wgtypes.Key{2}
	hs := time.Unix(1_800_000_000, 0)
	got := samples([]wgtypes.Peer{
		{PublicKey: k1, LastHandshakeTime: hs, ReceiveBytes: 10, TransmitBytes: 20,
			Endpoint: &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 51820}},
		// wgctrl reports a peer that never shook hands at the Unix epoch.
		{PublicKey: k2, LastHandshakeTime: time.Unix(0, 0)},
	})
	want := []health.Sample{
		{PublicKey: k1.String(), LastHandshake: hs, RxBytes: 10, TxBytes: 20, Endpoint: netip.MustParseAddrPort("192.0.2.1:51820")},
		{PublicKey: k2.String()},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
