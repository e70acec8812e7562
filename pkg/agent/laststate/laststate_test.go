package laststate

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func sample() State {
	psk := wireguard.Key{0, 9}
	return State{
		ListenPort: 51820, FirewallMark: 0x1000,
		Peers: []wireguard.Peer{
			{PublicKey: wireguard.Key{0, 1}.PublicKey(), Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("10.80.1.11"), Port: 51820},
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.2.1.0/24")}, PersistentKeepalive: 5 * time.Second},
			{PublicKey: wireguard.Key{0, 2}.PublicKey(), PresharedKey: &psk, Endpoint: wireguard.Endpoint{DNS: "b.example", Port: 51820}},
			{PublicKey: wireguard.Key{0, 3}.PublicKey()},
		},
		Routes: route.State{
			Routes:    []route.Route{{Dst: netip.MustParsePrefix("10.2.1.0/24"), Gw: netip.MustParseAddr("10.4.0.2"), Dev: "kilo0", OnLink: true, Table: 1107}},
			Rules:     []route.Rule{{Mark: 0x1000, Table: route.MainTable, Priority: 1105}},
			Addresses: map[string][]netip.Prefix{"kilo0": {netip.MustParsePrefix("10.4.0.1/16")}},
			Up:        []string{"kilo0"},
		},
	}
}

var cmpOpts = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})}

func TestRoundTrip(t *testing.T) {
	want := sample()
	b, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"other version": `{"version": 2, "peers": []}`,
		"bad key":       `{"version": 1, "peers": [{"publicKey": "nope"}]}`,
		"bad endpoint":  `{"version": 1, "peers": [{"publicKey": "` + wireguard.Key{0, 1}.PublicKey().String() + `", "endpoint": ":x"}]}`,
		"not JSON":      `{`,
	} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("%s: Decode accepted %s", name, in)
		}
	}
}

// TestWriter: the first save writes the file 0600, an equal state writes
// nothing (no write per resync), a changed one replaces it whole.
func TestWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kgctl-state.json")
	if _, ok, err := Load(path); ok || err != nil {
		t.Fatalf("Load of a missing file = %v, %v; want nothing, no error", ok, err)
	}
	w := &Writer{Path: path}
	s := sample()
	if err := w.Save(s); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, st.Mode())
	}
	old := time.Unix(1, 0)
	os.Chtimes(path, old, old)
	if err := w.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); !st.ModTime().Equal(old) {
		t.Error("an unchanged state was written again")
	}
	s.ListenPort = 51821
	if err := w.Save(s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Load(path)
	if !ok || err != nil || got.ListenPort != 51821 {
		t.Errorf("Load after a change = %+v, %v, %v", got.ListenPort, ok, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the state (temporary files removed)", len(entries))
	}
}
