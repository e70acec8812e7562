package health

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

func TestSummarize(t *testing.T) {
	got := Summarize(
		map[string]State{"ka": Up, "kb": Down, "kc": Never, "kd": Down, "ke": Up},
		map[string]string{"ka": "a", "kb": "b", "kc": "peer/c", "kd": ""},
		"0123456789ab")
	want := Status{V: 1, Up: 2, Down: []string{"b", "kd"}, Never: []string{"peer/c"}, Applied: "0123456789ab"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func names(prefix string, n, size int) []string {
	out := make([]string, n)
	for i := range out {
		s := fmt.Sprintf("%s%04d", prefix, i)
		out[i] = s + strings.Repeat("x", max(0, size-len(s)))
	}
	return out
}

func TestEncode(t *testing.T) {
	tests := map[string]struct {
		in   Status
		want string
	}{
		"empty": {Status{}, `{"v":1,"up":0}`},
		"sorted": {
			Status{Up: 3, Down: []string{"b", "a"}, Never: []string{"peer/z", "c"}, Applied: "abc"},
			`{"v":1,"up":3,"down":["a","b"],"never":["c","peer/z"],"applied":"abc"}`,
		},
		"demoted": {
			Status{Up: 1, Applied: "abc", Demoted: 1_800_000_000},
			`{"v":1,"up":1,"applied":"abc","demoted":1800000000}`,
		},
		"list over MaxNames": {
			Status{Down: names("n", MaxNames+6, 1)},
			`{"v":1,"up":0,"down":["` + strings.Join(names("n", MaxNames, 1), `","`) + `"],"downMore":6}`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := Encode(tt.in)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEncodeBound(t *testing.T) {
	// 300 long names in each list: far over 4 KiB before the cap.
	in := Status{Up: 12, Down: names("d", 300, 253), Never: names("v", 300, 253), Applied: "0123456789ab"}
	v := Encode(in)
	if len(v) > MaxBytes {
		t.Fatalf("encoded status is %d bytes, over %d", len(v), MaxBytes)
	}
	s, err := Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Down) + s.DownMore; got != 300 {
		t.Errorf("down names + downMore = %d, want 300", got)
	}
	if got := len(s.Never) + s.NeverMore; got != 300 {
		t.Errorf("never names + neverMore = %d, want 300", got)
	}
	if len(s.Down) == 0 || len(s.Never) == 0 {
		t.Errorf("one list was emptied for the other: down %d, never %d", len(s.Down), len(s.Never))
	}
	if s.Up != 12 || s.Applied != in.Applied {
		t.Errorf("counts or hash lost: %+v", s)
	}
}

func TestRoundTrip(t *testing.T) {
	for name, in := range map[string]Status{
		"empty":     {V: 1},
		"full":      {V: 1, Up: 4, Down: []string{"a", "b"}, Never: []string{"peer/c"}, Applied: "0123456789ab"},
		"truncated": {V: 1, Down: names("n", MaxNames, 1), DownMore: 3, NeverMore: 2},
		"demoted":   {V: 1, Up: 1, Down: []string{"b"}, Demoted: 1_800_000_000},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Decode(Encode(in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(in, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"not json":      {"ok", `status "ok": invalid character`},
		"version":       {`{"v":2,"up":1}`, "status version 2: want 1"},
		"unknown field": {`{"v":1,"up":1,"x":1}`, `unknown field "x"`},
		"negative":      {`{"v":1,"up":-1}`, "negative count"},
		"trailing":      {`{"v":1,"up":1}{}`, "trailing data"},
		"too big":       {`{"v":1,"down":["` + strings.Repeat("a", MaxBytes) + `"]}`, "over 4096"},
		"demoted < 0":   {`{"v":1,"up":1,"demoted":-5}`, "status demoted -5: want a Unix time"},
		"demoted huge":  {`{"v":1,"up":1,"demoted":99999999999999}`, "status demoted 99999999999999: want a Unix time"},
		"demoted text":  {`{"v":1,"up":1,"demoted":"yes"}`, "cannot unmarshal string"},
		"demoted float": {`{"v":1,"up":1,"demoted":1.5}`, "cannot unmarshal number 1.5"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%.40q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestHash(t *testing.T) {
	k1 := wireguard.Key{1}
	base := wireguard.Config{
		Interface: wireguard.Interface{ListenPort: 51820},
		Peers: []wireguard.Peer{{
			Name: "node b", PublicKey: k1,
			Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("192.0.2.1"), Port: 51820},
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.2.1.0/24")},
		}},
	}
	h := Hash(base)
	if len(h) != 12 {
		t.Errorf("Hash = %q, want 12 hex digits", h)
	}
	withKey := base
	pk := wireguard.Key{9}
	withKey.Interface.PrivateKey = &pk
	if Hash(withKey) != h {
		t.Error("the private key changes the hash: a reader without it could never match")
	}
	changed := base
	changed.Peers = []wireguard.Peer{base.Peers[0]}
	changed.Peers[0].AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.2.2.0/24")}
	if Hash(changed) == h {
		t.Error("a changed allowed IP keeps the hash")
	}
	addr := base
	addr.Interface.Address = []netip.Prefix{netip.MustParsePrefix("10.4.0.1/16")}
	if Hash(addr) == h {
		t.Error("a changed interface address keeps the hash")
	}
}
