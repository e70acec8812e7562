package wireguard

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteSetconf writes c in the format `wg setconf` and `wg showconf` use.
// Peer names become comments so a human can tell the sections apart.
func WriteSetconf(w io.Writer, c Config) error {
	return write(w, c, false)
}

// WriteQuick writes c as a wg-quick(8) file: setconf plus Address, DNS and MTU.
func WriteQuick(w io.Writer, c Config) error {
	return write(w, c, true)
}

func write(w io.Writer, c Config, quick bool) error {
	b := bufio.NewWriter(w)
	b.WriteString("[Interface]\n")
	if quick {
		if len(c.Interface.Address) > 0 {
			b.WriteString("Address = " + joinPrefixes(c.Interface.Address) + "\n")
		}
		if len(c.Interface.DNS) > 0 {
			b.WriteString("DNS = " + strings.Join(c.Interface.DNS, ", ") + "\n")
		}
		if c.Interface.MTU > 0 {
			b.WriteString("MTU = " + strconv.Itoa(c.Interface.MTU) + "\n")
		}
	}
	if c.Interface.PrivateKey != nil {
		b.WriteString("PrivateKey = " + c.Interface.PrivateKey.String() + "\n")
	}
	if c.Interface.ListenPort > 0 {
		b.WriteString("ListenPort = " + strconv.Itoa(c.Interface.ListenPort) + "\n")
	}
	for _, p := range c.Peers {
		b.WriteString("\n")
		WritePeer(b, p)
	}
	return b.Flush()
}

// WritePeer writes one [Peer] section.
func WritePeer(b *bufio.Writer, p Peer) {
	if p.Name != "" {
		b.WriteString("# " + p.Name + "\n")
	}
	b.WriteString("[Peer]\n")
	b.WriteString("PublicKey = " + p.PublicKey.String() + "\n")
	if p.PresharedKey != nil {
		b.WriteString("PresharedKey = " + p.PresharedKey.String() + "\n")
	}
	if !p.Endpoint.IsZero() {
		b.WriteString("Endpoint = " + p.Endpoint.String() + "\n")
	}
	if len(p.AllowedIPs) > 0 {
		b.WriteString("AllowedIPs = " + joinPrefixes(p.AllowedIPs) + "\n")
	}
	if p.PersistentKeepalive > 0 {
		b.WriteString("PersistentKeepalive = " + strconv.Itoa(int(p.PersistentKeepalive/time.Second)) + "\n")
	}
}

func joinPrefixes[T interface{ String() string }](ps []T) string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(p.String())
	}
	return sb.String()
}
