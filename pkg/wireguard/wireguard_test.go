package wireguard

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgctl/kgctl/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "203.0.113.5:51820", want: "203.0.113.5:51820"},
		{in: "[2001:db8::7]:51820", want: "[2001:db8::7]:51820"},
		{in: "[::ffff:192.0.2.1]:1", want: "192.0.2.1:1"}, // mapped addresses unmapped
		{in: "Lab.Example.org.:51820", want: "lab.example.org:51820"},
		{in: "my_host.example:7", want: "my_host.example:7"},
		{in: "2001:db8::7:51820", err: "want host:port"},
		{in: "203.0.113.5", err: "want host:port"},
		{in: "203.0.113.5:0", err: `port "0" is not a number in 1-65535`},
		{in: "203.0.113.5:65536", err: `port "65536"`},
		{in: "203.0.113.5:http", err: `port "http"`},
		{in: ":51820", err: "host is empty"},
		{in: "", err: "want host:port"},
		{in: "-bad.example:1", err: "neither an IP address nor a DNS name"},
		{in: "a..b:1", err: "neither an IP address nor a DNS name"},
		{in: "sp ace:1", err: "neither an IP address nor a DNS name"},
		{in: strings.Repeat("a", 64) + ".example:1", err: "neither"},
		{in: "[fe80::1%eth0]:51820", err: "has a zone"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e, err := ParseEndpoint(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", e, err, tc.err)
				}
				return
			}
			if err != nil || e.String() != tc.want {
				t.Fatalf("got %q, %v; want %q", e.String(), err, tc.want)
			}
			// Text round trip.
			b, _ := e.MarshalText()
			var back Endpoint
			if err := back.UnmarshalText(b); err != nil || back != e {
				t.Fatalf("round trip: %v, %v", back, err)
			}
		})
	}
	var e Endpoint
	if err := e.UnmarshalText(nil); err != nil || !e.IsZero() || e.String() != "" {
		t.Fatalf("empty text: %v %v", e, err)
	}
}

func TestParseKey(t *testing.T) {
	k, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseKey(k.String()); err != nil || got != k {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 43), "!" + k.String()[1:], k.String() + "A"} {
		if _, err := ParseKey(bad); err == nil || !strings.Contains(err.Error(), "44 characters") {
			t.Errorf("ParseKey(%q) = %v", bad, err)
		}
	}
}

func key(b byte) Key {
	var k Key
	for i := range k {
		k[i] = b
	}
	return k
}

func sample() Config {
	priv, psk := key(1), key(2)
	return Config{
		Interface: Interface{
			PrivateKey: &priv,
			ListenPort: 51820,
			Address:    []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32"), netip.MustParsePrefix("fd00::1/128")},
			DNS:        []string{"10.96.0.10", "cluster.local"},
			MTU:        1380,
		},
		Peers: []Peer{
			{
				Name:                `location "aws"`,
				PublicKey:           key(3),
				PresharedKey:        &psk,
				Endpoint:            Endpoint{Addr: netip.MustParseAddr("203.0.113.5"), Port: 51820},
				AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24"), netip.MustParsePrefix("10.4.0.1/32")},
				PersistentKeepalive: 25 * time.Second,
			},
			{Name: "node gcp-1", PublicKey: key(4), Endpoint: Endpoint{Addr: netip.MustParseAddr("2001:db8::7"), Port: 51821}},
			{PublicKey: key(5), Endpoint: Endpoint{DNS: "lab.example.org", Port: 51820}, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.2.5.0/24")}},
		},
	}
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, Config) error
	}{
		{"setconf.conf", func(b *bytes.Buffer, c Config) error { return WriteSetconf(b, c) }},
		{"quick.conf", func(b *bytes.Buffer, c Config) error { return WriteQuick(b, c) }},
		{"config.json", func(b *bytes.Buffer, c Config) error {
			out, err := json.MarshalIndent(c, "", "  ")
			b.Write(append(out, '\n'))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, sample()); err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", tc.name), b.String(), *update)
		})
	}
	// Without a private key nothing secret is rendered, and setconf
	// never carries wg-quick's settings.
	c := sample()
	c.Interface.PrivateKey = nil
	var b bytes.Buffer
	WriteSetconf(&b, c)
	for _, no := range []string{"PrivateKey", "Address", "DNS", "MTU"} {
		if strings.Contains(b.String(), no) {
			t.Errorf("setconf without a private key has %s:\n%s", no, b.String())
		}
	}
	j, _ := json.Marshal(c)
	if strings.Contains(string(j), "privateKey") {
		t.Errorf("JSON without a private key has one: %s", j)
	}
}

func TestPeerEqual(t *testing.T) {
	base := sample().Peers[0]
	other := key(9)
	for _, tc := range []struct {
		name   string
		change func(*Peer)
		equal  bool
	}{
		{"same", func(*Peer) {}, true},
		{"name is only a label", func(p *Peer) { p.Name = "renamed" }, true},
		{"key", func(p *Peer) { p.PublicKey = key(8) }, false},
		{"endpoint", func(p *Peer) { p.Endpoint.Port++ }, false},
		{"keepalive", func(p *Peer) { p.PersistentKeepalive = 0 }, false},
		{"psk removed", func(p *Peer) { p.PresharedKey = nil }, false},
		{"psk changed", func(p *Peer) { p.PresharedKey = &other }, false},
		{"allowed IP order", func(p *Peer) { p.AllowedIPs = []netip.Prefix{p.AllowedIPs[1], p.AllowedIPs[0]} }, false},
		{"allowed IP removed", func(p *Peer) { p.AllowedIPs = p.AllowedIPs[:1] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.AllowedIPs = append([]netip.Prefix(nil), base.AllowedIPs...)
			tc.change(&p)
			if got := base.Equal(p); got != tc.equal {
				t.Fatalf("Equal = %v, want %v", got, tc.equal)
			}
		})
	}
}
