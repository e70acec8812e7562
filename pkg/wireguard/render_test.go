package wireguard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/internal/golden"
)

// The -update flag is declared in wireguard_test.go.

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func mustEndpoint(s string) Endpoint {
	e, err := ParseEndpoint(s)
	if err != nil {
		panic(err)
	}
	return e
}

// renderPeers covers each way a [Peer] section can differ.
func renderPeers() map[string]Peer {
	psk := key(0x22)
	return map[string]Peer{
		"minimal":   {PublicKey: key(0x31)},
		"named":     {Name: "node a-1", PublicKey: key(0x32), AllowedIPs: mustPrefixes("10.2.1.0/24")},
		"psk":       {Name: "peer laptop", PublicKey: key(0x33), PresharedKey: &psk, AllowedIPs: mustPrefixes("10.5.0.1/32")},
		"ipv4":      {PublicKey: key(0x34), Endpoint: mustEndpoint("198.51.100.7:51820"), AllowedIPs: mustPrefixes("10.2.2.0/24")},
		"ipv6":      {PublicKey: key(0x35), Endpoint: mustEndpoint("[2001:db8::7]:51821"), AllowedIPs: mustPrefixes("fd00:2::/64", "10.2.3.0/24")},
		"dns":       {PublicKey: key(0x36), Endpoint: mustEndpoint("VPN.example.com.:1337"), AllowedIPs: mustPrefixes("10.2.4.0/24")},
		"keepalive": {PublicKey: key(0x37), PersistentKeepalive: 10 * time.Second},
		// Sub-second parts are truncated: wg(8) counts whole seconds.
		"keepalive-truncated": {PublicKey: key(0x38), PersistentKeepalive: 1500 * time.Millisecond},
		"everything": {
			Name:                `location "gcp" (leader b)`,
			PublicKey:           key(0x39),
			PresharedKey:        &psk,
			Endpoint:            mustEndpoint("[2001:db8::9]:51820"),
			AllowedIPs:          mustPrefixes("10.2.5.0/24", "10.4.0.2/32", "192.168.10.0/24"),
			PersistentKeepalive: 25 * time.Second,
		},
	}
}

// showconfConfig is a node's configuration as showconf renders it: no
// private key, and a mix of every kind of peer.
func showconfConfig() Config {
	var peers []Peer
	all := renderPeers()
	for _, name := range []string{"everything", "ipv4", "dns", "psk", "minimal"} {
		peers = append(peers, all[name])
	}
	return Config{Interface: Interface{ListenPort: 51820}, Peers: peers}
}

func TestWritePeerGolden(t *testing.T) {
	for name, p := range renderPeers() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			WritePeer(w, p)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", "peer", name+".conf"), b.String(), *update)
			checkINI(t, "[Interface]\n\n"+b.String())
		})
	}
}

func TestRenderGolden(t *testing.T) {
	priv := key(0x11)
	withKey := showconfConfig()
	withKey.Interface.PrivateKey = &priv
	quick := withKey
	quick.Interface.Address = mustPrefixes("10.5.0.1/32", "fd00:5::1/128")
	quick.Interface.DNS = []string{"10.96.0.10"}
	quick.Interface.MTU = 1420
	for _, tc := range []struct {
		name  string
		cfg   Config
		write func(*bytes.Buffer, Config) error
	}{
		{"showconf.conf", showconfConfig(), writeSetconf},
		{"showconf.json", showconfConfig(), writeJSON},
		{"setconf-private.conf", withKey, writeSetconf},
		{"setconf-private.json", withKey, writeJSON},
		// setconf ignores the wg-quick settings.
		{"setconf-quick-settings.conf", quick, writeSetconf},
		{"quick-private.conf", quick, writeQuick},
		{"quick-private.json", quick, writeJSON},
		{"empty.conf", Config{}, writeSetconf},
		{"empty-quick.conf", Config{}, writeQuick},
		{"empty.json", Config{}, writeJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, tc.cfg); err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", "render", tc.name), b.String(), *update)
			if strings.HasSuffix(tc.name, ".conf") {
				checkINI(t, b.String())
			}
		})
	}
}

func writeSetconf(b *bytes.Buffer, c Config) error { return WriteSetconf(b, c) }
func writeQuick(b *bytes.Buffer, c Config) error   { return WriteQuick(b, c) }
func writeJSON(b *bytes.Buffer, c Config) error {
	out, err := json.MarshalIndent(c, "", "  ")
	b.Write(append(out, '\n'))
	return err
}

// The private key is rendered in exactly one place, the interface, and
// only when it is set; a preshared key only in its own peer's section.
func TestSecretsRenderedOnlyWhereIntended(t *testing.T) {
	priv, psk := key(0x11), key(0x22)
	privS, pskS := priv.String(), psk.String()
	for _, tc := range []struct {
		name     string
		withPriv bool
	}{{"with private key", true}, {"without private key", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := showconfConfig()
			if tc.withPriv {
				c.Interface.PrivateKey = &priv
			}
			wantPriv := 0
			if tc.withPriv {
				wantPriv = 1
			}
			var set, quick bytes.Buffer
			if err := WriteSetconf(&set, c); err != nil {
				t.Fatal(err)
			}
			if err := WriteQuick(&quick, c); err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string]string{"setconf": set.String(), "quick": quick.String(), "json": string(js)} {
				if got := strings.Count(out, privS); got != wantPriv {
					t.Errorf("%s has the private key %d times, want %d:\n%s", name, got, wantPriv, out)
				}
				// Two peers carry the PSK in showconfConfig.
				if got := strings.Count(out, pskS); got != 2 {
					t.Errorf("%s has the preshared key %d times, want 2:\n%s", name, got, out)
				}
			}
			for name, out := range map[string]string{"setconf": set.String(), "quick": quick.String()} {
				for _, sec := range sections(out) {
					hasPriv := strings.Contains(sec.body, "PrivateKey")
					if sec.name == "[Interface]" && hasPriv != tc.withPriv || sec.name == "[Peer]" && hasPriv {
						t.Errorf("%s: %s section has PrivateKey=%v:\n%s", name, sec.name, hasPriv, sec.body)
					}
					if sec.name == "[Interface]" && strings.Contains(sec.body, pskS) {
						t.Errorf("%s: the preshared key is in the interface section", name)
					}
				}
			}
			var jc struct {
				Interface map[string]any   `json:"interface"`
				Peers     []map[string]any `json:"peers"`
			}
			if err := json.Unmarshal(js, &jc); err != nil {
				t.Fatal(err)
			}
			if _, has := jc.Interface["privateKey"]; has != tc.withPriv {
				t.Errorf("json interface has privateKey=%v: %s", has, js)
			}
			for _, p := range jc.Peers {
				if _, has := p["privateKey"]; has {
					t.Errorf("json peer has a privateKey: %v", p)
				}
			}
		})
	}
	// WritePeer never writes interface settings.
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	WritePeer(w, renderPeers()["everything"])
	w.Flush()
	for _, no := range []string{"PrivateKey", "ListenPort", "[Interface]"} {
		if strings.Contains(b.String(), no) {
			t.Errorf("WritePeer wrote %s:\n%s", no, b.String())
		}
	}
}

// MarshalJSON has a value receiver, so a *Config renders the same, and
// the shape is stable: peers and allowedIPs are [] rather than null.
func TestConfigJSONShape(t *testing.T) {
	c := Config{Peers: []Peer{{PublicKey: key(0x31)}}}
	byValue, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	byPointer, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	if string(byValue) != string(byPointer) {
		t.Errorf("value %s != pointer %s", byValue, byPointer)
	}
	want := `{"interface":{},"peers":[{"publicKey":"` + key(0x31).String() + `","allowedIPs":[]}]}`
	if string(byValue) != want {
		t.Errorf("got  %s\nwant %s", byValue, want)
	}
	empty, _ := json.Marshal(Config{})
	if string(empty) != `{"interface":{},"peers":[]}` {
		t.Errorf("empty config: %s", empty)
	}
	// Embedded in another document, the config keeps its own shape.
	doc, _ := json.Marshal(struct {
		Node   string `json:"node"`
		Config Config `json:"config"`
	}{"a", c})
	if !strings.Contains(string(doc), `"config":{"interface":{},"peers":[{"publicKey":`) {
		t.Errorf("embedded: %s", doc)
	}
}

func TestPeerEqualTable(t *testing.T) {
	psk1, psk1again, psk2 := key(0x22), key(0x22), key(0x23)
	base := Peer{
		Name:                "a",
		PublicKey:           key(0x31),
		PresharedKey:        &psk1,
		Endpoint:            mustEndpoint("198.51.100.7:51820"),
		AllowedIPs:          mustPrefixes("10.2.1.0/24", "10.4.0.1/32"),
		PersistentKeepalive: 25 * time.Second,
	}
	for _, tc := range []struct {
		name   string
		a, b   Peer
		change func(*Peer)
		equal  bool
	}{
		{name: "identical", change: func(*Peer) {}, equal: true},
		{name: "name differs", change: func(p *Peer) { p.Name = "b" }, equal: true},
		{name: "same preshared key in another variable", change: func(p *Peer) { p.PresharedKey = &psk1again }, equal: true},
		{name: "allowed IPs copied", change: func(p *Peer) { p.AllowedIPs = mustPrefixes("10.2.1.0/24", "10.4.0.1/32") }, equal: true},
		{name: "public key", change: func(p *Peer) { p.PublicKey = key(0x32) }},
		{name: "preshared key added", a: Peer{PublicKey: key(0x31)}, b: Peer{PublicKey: key(0x31), PresharedKey: &psk1}},
		{name: "preshared key value", change: func(p *Peer) { p.PresharedKey = &psk2 }},
		{name: "endpoint port", change: func(p *Peer) { p.Endpoint = mustEndpoint("198.51.100.7:51821") }},
		{name: "endpoint address", change: func(p *Peer) { p.Endpoint = mustEndpoint("198.51.100.8:51820") }},
		{name: "endpoint DNS instead of IP", change: func(p *Peer) { p.Endpoint = mustEndpoint("vpn.example.com:51820") }},
		{name: "endpoint removed", change: func(p *Peer) { p.Endpoint = Endpoint{} }},
		{name: "keepalive", change: func(p *Peer) { p.PersistentKeepalive = 10 * time.Second }},
		{name: "allowed IPs reordered", change: func(p *Peer) { p.AllowedIPs = mustPrefixes("10.4.0.1/32", "10.2.1.0/24") }},
		{name: "allowed IP added", change: func(p *Peer) { p.AllowedIPs = mustPrefixes("10.2.1.0/24", "10.4.0.1/32", "10.4.0.2/32") }},
		{name: "allowed IP mask", change: func(p *Peer) { p.AllowedIPs = mustPrefixes("10.2.1.0/25", "10.4.0.1/32") }},
		{name: "nil and empty allowed IPs", a: Peer{PublicKey: key(0x31)}, b: Peer{PublicKey: key(0x31), AllowedIPs: []netip.Prefix{}}, equal: true},
		{name: "zero peers", a: Peer{}, b: Peer{}, equal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.a, tc.b
			if tc.change != nil {
				a = base
				b = base
				b.AllowedIPs = append([]netip.Prefix(nil), base.AllowedIPs...)
				tc.change(&b)
			}
			if got := a.Equal(b); got != tc.equal {
				t.Errorf("a.Equal(b) = %v, want %v", got, tc.equal)
			}
			if got := b.Equal(a); got != tc.equal {
				t.Errorf("b.Equal(a) = %v, want %v (Equal must be symmetric)", got, tc.equal)
			}
		})
	}
}

// wg-quick's own parser splits a wg-quick file into its settings and the
// setconf part: that part must be exactly what WriteSetconf writes. It
// needs no device, but wg-quick insists on root.
func TestWGQuickStrip(t *testing.T) {
	wgQuick, err := exec.LookPath("wg-quick")
	if err != nil {
		t.Skip("wg-quick is not installed (Debian: wireguard-tools)")
	}
	if os.Geteuid() != 0 {
		t.Skip("wg-quick strip re-runs itself with sudo unless run as root")
	}
	priv := key(0x11)
	c := showconfConfig()
	c.Interface.PrivateKey = &priv
	c.Interface.Address = mustPrefixes("10.5.0.1/32", "fd00:5::1/128")
	c.Interface.DNS = []string{"10.96.0.10", "cluster.local"}
	c.Interface.MTU = 1420
	var quick, set bytes.Buffer
	if err := WriteQuick(&quick, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteSetconf(&set, c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kgtest0.conf")
	if err := os.WriteFile(path, quick.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wgQuick, "strip", path).CombinedOutput()
	if err != nil {
		t.Fatalf("wg-quick strip: %v\n%s", err, out)
	}
	if d := cmp.Diff(strings.TrimSpace(set.String()), strings.TrimSpace(string(out))); d != "" {
		t.Errorf("wg-quick strip of WriteQuick vs WriteSetconf (-setconf +strip):\n%s", d)
	}
}

type section struct{ name, body string }

// sections splits an INI rendering at its section headers.
func sections(s string) []section {
	var out []section
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "[") {
			out = append(out, section{name: line})
		}
		if len(out) > 0 {
			out[len(out)-1].body += line + "\n"
		}
	}
	return out
}

// checkINI is a small check of the format wg(8) and wg-quick(8) read:
// one [Interface] first, then [Peer] sections, each line a comment, a
// header or "Key = Value" with a key known in that section, and every
// peer with exactly one PublicKey.
func checkINI(t *testing.T, s string) {
	t.Helper()
	known := map[string]map[string]bool{
		"[Interface]": {"PrivateKey": true, "ListenPort": true, "FwMark": true, "Address": true, "DNS": true, "MTU": true},
		"[Peer]":      {"PublicKey": true, "PresharedKey": true, "Endpoint": true, "AllowedIPs": true, "PersistentKeepalive": true},
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("rendering does not end in a newline: %q", s)
	}
	var sec string
	var interfaces int
	seen := map[string]int{}
	endPeer := func(line int) {
		if sec == "[Peer]" && seen["PublicKey"] != 1 {
			t.Errorf("peer section ending before line %d has %d PublicKey lines", line, seen["PublicKey"])
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		n := i + 1
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "[Interface]" || line == "[Peer]":
			endPeer(n)
			if line == "[Interface]" {
				interfaces++
				if sec != "" {
					t.Errorf("line %d: [Interface] is not the first section", n)
				}
			} else if sec == "" {
				t.Errorf("line %d: [Peer] before [Interface]", n)
			}
			sec, seen = line, map[string]int{}
		default:
			k, v, ok := strings.Cut(line, " = ")
			switch {
			case !ok || k == "" || v == "" || strings.TrimSpace(k) != k || strings.TrimSpace(v) != v:
				t.Errorf("line %d: not \"Key = Value\": %q", n, line)
			case sec == "":
				t.Errorf("line %d: %q outside a section", n, line)
			case !known[sec][k]:
				t.Errorf("line %d: %s is not a %s key", n, k, sec)
			default:
				seen[k]++
				if seen[k] > 1 {
					t.Errorf("line %d: %s repeated in one section", n, k)
				}
			}
		}
	}
	endPeer(len(s))
	if interfaces != 1 {
		t.Errorf("%d [Interface] sections, want 1", interfaces)
	}
	if t.Failed() {
		t.Logf("rendering checked:\n%s", s)
	}
}
