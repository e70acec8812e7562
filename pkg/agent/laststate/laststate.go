// Package laststate keeps the WireGuard peers and routes the agent last
// applied in a file beside the key, so a restarted agent with an embedded
// (userspace) device, whose tunnel went away with the old process, can
// bring it back before it has listed the cluster: the node's own traffic
// stops only for the restart itself. The file is a cache, never the
// truth: the first reconcile diffs the host against the cluster as usual.
// It holds no private key (the key file does) but preshared keys, so it
// is written 0600, like the key.
package laststate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/kgctl/kgctl/internal/atomicfile"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// version changes when the file's shape does; another version is ignored.
const version = 1

// State is what is saved: the device's peers and listen port, its mark,
// and the route manager's state.
type State struct {
	ListenPort   int
	FirewallMark uint32
	Peers        []wireguard.Peer
	Routes       route.State
}

type filePeer struct {
	PublicKey    string         `json:"publicKey"`
	PresharedKey string         `json:"presharedKey,omitempty"`
	Endpoint     string         `json:"endpoint,omitempty"`
	AllowedIPs   []netip.Prefix `json:"allowedIPs"`
	Keepalive    int            `json:"keepaliveSeconds,omitempty"`
}

type file struct {
	Version      int         `json:"version"`
	ListenPort   int         `json:"listenPort"`
	FirewallMark uint32      `json:"firewallMark,omitempty"`
	Peers        []filePeer  `json:"peers"`
	Routes       route.State `json:"routes"`
}

// Encode renders s as the file holds it.
func Encode(s State) ([]byte, error) {
	f := file{Version: version, ListenPort: s.ListenPort, FirewallMark: s.FirewallMark, Routes: s.Routes, Peers: make([]filePeer, 0, len(s.Peers))}
	for _, p := range s.Peers {
		fp := filePeer{PublicKey: p.PublicKey.String(), AllowedIPs: p.AllowedIPs, Keepalive: int(p.PersistentKeepalive / time.Second)}
		if !p.Endpoint.IsZero() {
			fp.Endpoint = p.Endpoint.String()
		}
		if p.PresharedKey != nil {
			fp.PresharedKey = p.PresharedKey.String()
		}
		f.Peers = append(f.Peers, fp)
	}
	return json.MarshalIndent(f, "", "  ")
}

// Decode parses a file Encode wrote.
func Decode(b []byte) (State, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return State{}, fmt.Errorf("laststate: %w", err)
	}
	if f.Version != version {
		return State{}, fmt.Errorf("laststate: version %d, want %d", f.Version, version)
	}
	s := State{ListenPort: f.ListenPort, FirewallMark: f.FirewallMark, Routes: f.Routes}
	for i, fp := range f.Peers {
		var p wireguard.Peer
		var err error
		if p.PublicKey, err = wireguard.ParseKey(fp.PublicKey); err != nil {
			return State{}, fmt.Errorf("laststate: peer %d: public key: %w", i, err)
		}
		if fp.PresharedKey != "" {
			k, err := wireguard.ParseKey(fp.PresharedKey)
			if err != nil {
				return State{}, fmt.Errorf("laststate: peer %s: preshared key: %w", p.PublicKey, err)
			}
			p.PresharedKey = &k
		}
		if fp.Endpoint != "" {
			if p.Endpoint, err = wireguard.ParseEndpoint(fp.Endpoint); err != nil {
				return State{}, fmt.Errorf("laststate: peer %s: endpoint %q: %w", p.PublicKey, fp.Endpoint, err)
			}
		}
		p.AllowedIPs, p.PersistentKeepalive = fp.AllowedIPs, time.Duration(fp.Keepalive)*time.Second
		s.Peers = append(s.Peers, p)
	}
	return s, nil
}

// Load reads the file at path; a missing file is (State{}, false, nil).
func Load(path string) (State, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("laststate: %w", err)
	}
	s, err := Decode(b)
	return s, err == nil, err
}

// Writer saves states to one path, writing only when the state changed.
type Writer struct {
	Path string
	last []byte
}

// Save writes s atomically (temporary file, fsync, rename, directory
// fsync) unless it is what was last written.
func (w *Writer) Save(s State) error {
	b, err := Encode(s)
	if err != nil {
		return err
	}
	if string(b) == string(w.last) {
		return nil
	}
	if err := writeAtomic(w.Path, b); err != nil {
		return fmt.Errorf("laststate: write %s: %w", w.Path, err)
	}
	w.last = b
	return nil
}

func writeAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o600, atomicfile.Replace)
}
