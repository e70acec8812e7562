package wireguard

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Config is a WireGuard device configuration: one interface and its peers.
type Config struct {
	Interface Interface
	Peers     []Peer
}

// Interface is the local side of a WireGuard device. Address, DNS and MTU
// are wg-quick settings; setconf ignores them.
type Interface struct {
	// PrivateKey is nil when the key is not known (e.g. showconf renders a
	// node's config without its secret).
	PrivateKey *Key
	ListenPort int
	Address    []netip.Prefix
	DNS        []string
	MTU        int
}

// Peer is one remote WireGuard peer.
type Peer struct {
	// Name identifies the peer for humans: a location, node or Peer name.
	// It is rendered as a comment and never sent to a device.
	Name                string
	PublicKey           Key
	PresharedKey        *Key
	Endpoint            Endpoint
	AllowedIPs          []netip.Prefix
	PersistentKeepalive time.Duration
}

// jsonPeer is the stable JSON/YAML shape of a Peer.
type jsonPeer struct {
	Name                string         `json:"name,omitempty"`
	PublicKey           string         `json:"publicKey"`
	PresharedKey        string         `json:"presharedKey,omitempty"`
	Endpoint            string         `json:"endpoint,omitempty"`
	AllowedIPs          []netip.Prefix `json:"allowedIPs"`
	PersistentKeepalive int            `json:"persistentKeepalive,omitempty"`
}

type jsonInterface struct {
	PrivateKey string         `json:"privateKey,omitempty"`
	ListenPort int            `json:"listenPort,omitempty"`
	Address    []netip.Prefix `json:"address,omitempty"`
	DNS        []string       `json:"dns,omitempty"`
	MTU        int            `json:"mtu,omitempty"`
}

type jsonConfig struct {
	Interface jsonInterface `json:"interface"`
	Peers     []jsonPeer    `json:"peers"`
}

// MarshalJSON renders keys as base64 and durations as whole seconds, the
// units wg(8) uses.
func (c Config) MarshalJSON() ([]byte, error) {
	out := jsonConfig{
		Interface: jsonInterface{
			ListenPort: c.Interface.ListenPort,
			Address:    c.Interface.Address,
			DNS:        c.Interface.DNS,
			MTU:        c.Interface.MTU,
		},
		Peers: make([]jsonPeer, 0, len(c.Peers)),
	}
	if c.Interface.PrivateKey != nil {
		out.Interface.PrivateKey = c.Interface.PrivateKey.String()
	}
	for _, p := range c.Peers {
		jp := jsonPeer{
			Name:                p.Name,
			PublicKey:           p.PublicKey.String(),
			Endpoint:            p.Endpoint.String(),
			AllowedIPs:          p.AllowedIPs,
			PersistentKeepalive: int(p.PersistentKeepalive / time.Second),
		}
		if jp.AllowedIPs == nil {
			jp.AllowedIPs = []netip.Prefix{}
		}
		if p.PresharedKey != nil {
			jp.PresharedKey = p.PresharedKey.String()
		}
		out.Peers = append(out.Peers, jp)
	}
	return json.Marshal(out)
}

// Equal reports whether two peers would configure a device identically
// (Name is a label, not configuration, and is ignored).
func (p Peer) Equal(o Peer) bool {
	if p.PublicKey != o.PublicKey || p.Endpoint != o.Endpoint || p.PersistentKeepalive != o.PersistentKeepalive {
		return false
	}
	if (p.PresharedKey == nil) != (o.PresharedKey == nil) || (p.PresharedKey != nil && *p.PresharedKey != *o.PresharedKey) {
		return false
	}
	if len(p.AllowedIPs) != len(o.AllowedIPs) {
		return false
	}
	for i := range p.AllowedIPs {
		if p.AllowedIPs[i] != o.AllowedIPs[i] {
			return false
		}
	}
	return true
}
