package wireguard

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Endpoint is where a peer can be reached: an IP or a DNS name, and a UDP port.
// DNS names are kept as names; whoever talks to a device resolves them,
// so that a dynamic DNS entry is looked up again on every resync.
type Endpoint struct {
	// Addr is set when the host is an IP address.
	Addr netip.Addr
	// DNS is set when the host is a name.
	DNS  string
	Port uint16
}

// ParseEndpoint parses host:port where host is an IPv4 address, a bracketed
// IPv6 address or a DNS name.
func ParseEndpoint(s string) (Endpoint, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("want host:port (IPv6 in brackets): %v", err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Endpoint{}, fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	if host == "" {
		return Endpoint{}, fmt.Errorf("host is empty")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return Endpoint{}, fmt.Errorf("host %q has a zone, which cannot be routed to", host)
		}
		return Endpoint{Addr: a.Unmap(), Port: uint16(p)}, nil
	}
	if t := strings.TrimSuffix(host, "."); t != host {
		if _, err := netip.ParseAddr(t); err == nil {
			// 0.0.0.0. would otherwise pass as a DNS name and count as a
			// public endpoint.
			return Endpoint{}, fmt.Errorf("host %q is an IP address with a trailing dot, not a DNS name", host)
		}
	}
	if !validDNSName(host) {
		return Endpoint{}, fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
	}
	return Endpoint{DNS: strings.ToLower(strings.TrimSuffix(host, ".")), Port: uint16(p)}, nil
}

// validDNSName reports whether s is a syntactically valid DNS name (RFC 1123 labels).
func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	// An all-numeric top-level label is an address, not a name (RFC 3696
	// section 2): 10.0.0.1 written without its dots' meaning.
	if top := s[strings.LastIndexByte(s, '.')+1:]; strings.Trim(top, "0123456789") == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// IsZero reports whether e is unset.
func (e Endpoint) IsZero() bool { return !e.Addr.IsValid() && e.DNS == "" }

// String renders host:port, bracketing IPv6 addresses.
func (e Endpoint) String() string {
	if e.IsZero() {
		return ""
	}
	if e.DNS != "" {
		return net.JoinHostPort(e.DNS, strconv.Itoa(int(e.Port)))
	}
	return netip.AddrPortFrom(e.Addr, e.Port).String()
}

// MarshalText renders the endpoint as host:port.
func (e Endpoint) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText parses host:port.
func (e *Endpoint) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*e = Endpoint{}
		return nil
	}
	v, err := ParseEndpoint(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}
