package wireguard

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
)

// Kilo's endpoint annotation examples and the hostile values we have met.
var endpointSeeds = []string{
	"1.2.3.4:51820", "[fc00::1]:51820", "[2001:db8::1]:443", "example.com:51820",
	"node-1.Example.COM.:51820", "0.0.0.0.:1", "10.0.0.1.:51820", "[fe80::1%eth0]:51820",
	"[::ffff:1.2.3.4]:51820", "1.2.3.4:0", "1.2.3.4:65536", ":51820", "a..b:1", "-a.b:1", "1.2.3:4",
}

// FuzzParseEndpoint: what parses is one IP (no zone, unmapped) or one
// lower-case DNS name that is not an IP literal, and round-trips through
// String.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range endpointSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		if e.Addr.IsValid() == (e.DNS != "") || e.Port == 0 {
			t.Fatalf("ParseEndpoint(%q) = %+v: want exactly one of Addr and DNS and a port", s, e)
		}
		if e.Addr.Zone() != "" || e.Addr.Is4In6() {
			t.Fatalf("ParseEndpoint(%q) kept zone or 4-in-6 form: %v", s, e.Addr)
		}
		if e.DNS != "" {
			if _, err := netip.ParseAddr(strings.TrimSuffix(e.DNS, ".")); err == nil {
				t.Fatalf("ParseEndpoint(%q): IP literal %q taken for a DNS name", s, e.DNS)
			}
			if e.DNS != strings.ToLower(e.DNS) || strings.HasSuffix(e.DNS, ".") {
				t.Fatalf("ParseEndpoint(%q): DNS %q not canonical", s, e.DNS)
			}
		}
		again, err := ParseEndpoint(e.String())
		if err != nil || again != e {
			t.Fatalf("round trip of %q: %q parsed as %+v, %v; want %+v", s, e.String(), again, err, e)
		}
	})
}

// FuzzParseKey: a key is 32 bytes of standard base64 and round-trips.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVo=", "0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs=",
		"GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVo", "GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVp=", "", "====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		raw, derr := base64.StdEncoding.DecodeString(s)
		if (err == nil) != (derr == nil && len(raw) == 32) {
			t.Fatalf("ParseKey(%q) error %v, but base64 decodes to %d bytes (%v)", s, err, len(raw), derr)
		}
		if err != nil {
			return
		}
		again, err := ParseKey(k.String())
		if err != nil || again != k || len(k.String()) != 44 {
			t.Fatalf("round trip of %q: %q, %v", s, k.String(), err)
		}
	})
}

// Found by FuzzParseEndpoint's invariant: an IP literal with a trailing
// dot passed as a DNS name (so 0.0.0.0.:1 counted as a public endpoint in
// leader election), as did any all-numeric name.
func TestParseEndpointNumericNames(t *testing.T) {
	for _, c := range []struct{ in, err string }{
		{"0.0.0.0.:1", `host "0.0.0.0." is an IP address with a trailing dot, not a DNS name`},
		{"10.0.0.1.:51820", `host "10.0.0.1." is an IP address with a trailing dot, not a DNS name`},
		{"1.2.3:51820", `host "1.2.3" is neither an IP address nor a DNS name`},
		{"4294967295:51820", `host "4294967295" is neither an IP address nor a DNS name`},
		{"node-1.example.com.:51820", ""},
		{"1e100.net:443", ""},
	} {
		_, err := ParseEndpoint(c.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("ParseEndpoint(%q) error = %q, want %q", c.in, got, c.err)
		}
	}
}
