package wireguard

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseEndpointTable pins what ParseEndpoint accepts, how it
// normalises it, and what its errors say. TestParseEndpoint covers the
// common shapes; this table adds the edges of each rule.
func TestParseEndpointTable(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 plus 3 dots is 255; trim to exactly 253 and 254.
	name253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	name254 := name253 + "c"
	for _, tc := range []struct {
		name string
		in   string
		want Endpoint
		err  string // substring of the error; "" means success
	}{
		{name: "IPv4", in: "198.51.100.7:51820", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 51820}},
		{name: "IPv4 lowest port", in: "198.51.100.7:1", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 1}},
		{name: "IPv4 highest port", in: "198.51.100.7:65535", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 65535}},
		{name: "port with a leading zero", in: "198.51.100.7:051820", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 51820}},
		{name: "IPv6 in brackets", in: "[2001:db8::7]:51820", want: Endpoint{Addr: netip.MustParseAddr("2001:db8::7"), Port: 51820}},
		{name: "IPv6 loopback", in: "[::1]:1", want: Endpoint{Addr: netip.MustParseAddr("::1"), Port: 1}},
		{name: "IPv4-mapped IPv6 is unmapped", in: "[::ffff:198.51.100.7]:5", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 5}},
		{name: "IPv4 in brackets is still IPv4", in: "[198.51.100.7]:5", want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 5}},
		{name: "DNS name", in: "vpn.example.com:1337", want: Endpoint{DNS: "vpn.example.com", Port: 1337}},
		{name: "DNS name lower-cased", in: "VPN.Example.COM:1337", want: Endpoint{DNS: "vpn.example.com", Port: 1337}},
		{name: "DNS name trailing dot dropped", in: "vpn.example.com.:1337", want: Endpoint{DNS: "vpn.example.com", Port: 1337}},
		{name: "single-label DNS name", in: "gateway:51820", want: Endpoint{DNS: "gateway", Port: 51820}},
		{name: "DNS label of 63 characters", in: label63 + ".example:1", want: Endpoint{DNS: label63 + ".example", Port: 1}},
		{name: "DNS name of 253 characters", in: name253 + ":1", want: Endpoint{DNS: name253, Port: 1}},
		{name: "DNS label with inner hyphen", in: "a-b.example:1", want: Endpoint{DNS: "a-b.example", Port: 1}},

		{name: "empty", in: "", err: "want host:port"},
		{name: "no port", in: "198.51.100.7", err: "want host:port"},
		{name: "IPv6 without brackets", in: "2001:db8::7:51820", err: "want host:port (IPv6 in brackets)"},
		{name: "bare IPv6 loopback", in: "::1", err: "want host:port"},
		{name: "IPv6 in brackets without port", in: "[2001:db8::7]", err: "want host:port"},
		{name: "port 0", in: "198.51.100.7:0", err: `port "0" is not a number in 1-65535`},
		{name: "port 65536", in: "198.51.100.7:65536", err: `port "65536" is not a number in 1-65535`},
		{name: "negative port", in: "198.51.100.7:-1", err: `port "-1" is not a number in 1-65535`},
		{name: "port with a plus sign", in: "198.51.100.7:+1", err: `port "+1"`},
		{name: "port name", in: "198.51.100.7:wireguard", err: `port "wireguard"`},
		{name: "empty port", in: "198.51.100.7:", err: `port ""`},
		{name: "empty host", in: ":51820", err: "host is empty"},
		{name: "zone", in: "[fe80::1%eth0]:51820", err: `host "fe80::1%eth0" has a zone`},
		{name: "DNS label starting with a hyphen", in: "-vpn.example:1", err: `host "-vpn.example" is neither an IP address nor a DNS name`},
		{name: "DNS label ending with a hyphen", in: "vpn-.example:1", err: "neither an IP address nor a DNS name"},
		{name: "empty DNS label", in: "vpn..example:1", err: "neither an IP address nor a DNS name"},
		{name: "DNS label of 64 characters", in: label63 + "a.example:1", err: "neither an IP address nor a DNS name"},
		{name: "DNS name of 254 characters", in: name254 + ":1", err: "neither an IP address nor a DNS name"},
		{name: "space in host", in: "vpn example:1", err: "neither an IP address nor a DNS name"},
		{name: "non-ASCII host", in: "bücher.example:1", err: "neither an IP address nor a DNS name"},
		{name: "URL", in: "udp://vpn.example:1", err: "want host:port"},
		{name: "only a dot", in: ".:1", err: "neither an IP address nor a DNS name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEndpoint(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseEndpoint(%q) = %+v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				if got != (Endpoint{}) {
					t.Errorf("ParseEndpoint(%q) returned %+v with its error; want the zero Endpoint", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEndpoint(%q): %v", tc.in, err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("ParseEndpoint(%q) (-want +got):\n%s", tc.in, d)
			}
			// What String renders parses back to the same endpoint.
			again, err := ParseEndpoint(got.String())
			if err != nil || again != got {
				t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestEndpointString(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Endpoint
		want string
	}{
		{name: "zero", e: Endpoint{}, want: ""},
		{name: "port without host is zero", e: Endpoint{Port: 51820}, want: ""},
		{name: "IPv4", e: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 51820}, want: "198.51.100.7:51820"},
		{name: "IPv6 bracketed", e: Endpoint{Addr: netip.MustParseAddr("2001:db8::7"), Port: 51820}, want: "[2001:db8::7]:51820"},
		{name: "DNS", e: Endpoint{DNS: "vpn.example.com", Port: 1337}, want: "vpn.example.com:1337"},
		{name: "DNS wins over an address", e: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), DNS: "vpn.example.com", Port: 1}, want: "vpn.example.com:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			b, err := tc.e.MarshalText()
			if err != nil || string(b) != tc.want {
				t.Errorf("MarshalText() = %q, %v; want %q", b, err, tc.want)
			}
			if got, want := tc.e.IsZero(), tc.want == ""; got != want {
				t.Errorf("IsZero() = %v, want %v", got, want)
			}
		})
	}
}

// Endpoint is a TextMarshaler, so it is a JSON string wherever it is used
// as a field, and "" is the zero Endpoint.
func TestEndpointTextRoundTrip(t *testing.T) {
	type holder struct {
		E Endpoint `json:"e"`
	}
	for _, tc := range []struct {
		name, json string
		want       Endpoint
		err        string
	}{
		{name: "IPv4", json: `{"e":"198.51.100.7:51820"}`, want: Endpoint{Addr: netip.MustParseAddr("198.51.100.7"), Port: 51820}},
		{name: "IPv6", json: `{"e":"[2001:db8::7]:51820"}`, want: Endpoint{Addr: netip.MustParseAddr("2001:db8::7"), Port: 51820}},
		{name: "DNS", json: `{"e":"vpn.example.com:1337"}`, want: Endpoint{DNS: "vpn.example.com", Port: 1337}},
		{name: "empty is zero", json: `{"e":""}`, want: Endpoint{}},
		{name: "invalid", json: `{"e":"2001:db8::7:51820"}`, err: "want host:port"},
		{name: "not a string", json: `{"e":51820}`, err: "cannot unmarshal number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h holder
			err := json.Unmarshal([]byte(tc.json), &h)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Unmarshal(%s) = %+v, %v; want an error containing %q", tc.json, h, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.E != tc.want {
				t.Fatalf("Unmarshal(%s) = %+v, want %+v", tc.json, h.E, tc.want)
			}
			out, err := json.Marshal(h)
			if err != nil || string(out) != tc.json {
				t.Errorf("Marshal = %s, %v; want %s", out, err, tc.json)
			}
		})
	}

	// UnmarshalText overwrites what was there, also with "".
	e := Endpoint{DNS: "old.example", Port: 1}
	if err := e.UnmarshalText([]byte("")); err != nil || !e.IsZero() {
		t.Errorf("UnmarshalText(\"\") left %+v, %v", e, err)
	}
	e = Endpoint{DNS: "old.example", Port: 1}
	if err := e.UnmarshalText([]byte("bad")); err == nil || e.DNS != "old.example" {
		t.Errorf("UnmarshalText(bad) = %v and changed the endpoint to %+v", err, e)
	}
}

func TestParseKeyTable(t *testing.T) {
	valid := "0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs="
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{name: "valid", in: valid, ok: true},
		{name: "all zero is still a key", in: strings.Repeat("A", 43) + "=", ok: true},
		{name: "empty", in: ""},
		{name: "31 bytes", in: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="},
		{name: "36 bytes", in: strings.Repeat("A", 44) + "AA=="},
		{name: "no padding", in: strings.TrimSuffix(valid, "=")},
		{name: "URL-safe alphabet", in: strings.NewReplacer("+", "-", "/", "_").Replace(valid)},
		{name: "surrounding space", in: " " + valid + " "},
		// encoding/base64 skips newlines, so a key file's line ending
		// does not matter.
		{name: "trailing newline is ignored", in: valid + "\n", ok: true},
		{name: "hex", in: strings.Repeat("ab", 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.in)
			if tc.ok {
				if err != nil || k.String() != strings.TrimSpace(tc.in) {
					t.Fatalf("ParseKey(%q) = %v, %v", tc.in, k, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKey(%q) = %v, want an error", tc.in, k)
			}
			if k != (Key{}) {
				t.Errorf("ParseKey(%q) returned a key with its error: %v", tc.in, k)
			}
			const want = "wireguard: invalid key: must be 32 bytes of base64 (44 characters)"
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			// Keys may be secret (preshared, private): the error never
			// repeats the input.
			if strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("error %q echoes the key", err)
			}
		})
	}
}
