// Package cni writes the node's CNI configuration when kgctl manages pod
// networking (--cni): a bridge with host-local IPAM over the node's pod
// CIDRs and port mapping, as Kilo's. It writes only when the content
// differs, atomically, so container runtimes never read half a file.
package cni

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// Config describes the node's pod network.
type Config struct {
	PodCIDRs []netip.Prefix
	MTU      int
	// Bridge is the bridge's name; default "kube-bridge" (Kilo's).
	Bridge string
}

// Render returns the conflist.
func Render(c Config) ([]byte, error) {
	if len(c.PodCIDRs) == 0 {
		return nil, fmt.Errorf("cni: the node has no pod CIDR")
	}
	bridge := c.Bridge
	if bridge == "" {
		bridge = "kube-bridge"
	}
	var ranges [][]map[string]string
	for _, p := range c.PodCIDRs {
		ranges = append(ranges, []map[string]string{{"subnet": p.Masked().String()}})
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kilo",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": bridge, "isDefaultGateway": true,
				"forceAddress": true, "mtu": c.MTU, "hairpinMode": true,
				"ipam": map[string]any{"type": "host-local", "ranges": ranges},
			},
			map[string]any{"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	return append(b, '\n'), err
}

// Write writes the conflist to path if it differs; changed reports a write.
func Write(path string, c Config) (changed bool, err error) {
	b, err := Render(c)
	if err != nil {
		return false, err
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, b) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	return true, nil
}
