package wireguard

import (
	"fmt"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Key is a Curve25519 WireGuard key (private, public or preshared).
type Key = wgtypes.Key

// ParseKey parses a base64 WireGuard key, saying what was wrong with it.
func ParseKey(s string) (Key, error) {
	k, err := wgtypes.ParseKey(s)
	if err != nil {
		return Key{}, fmt.Errorf("wireguard: invalid key: must be 32 bytes of base64 (44 characters)")
	}
	return k, nil
}

// GeneratePrivateKey returns a new random private key.
func GeneratePrivateKey() (Key, error) { return wgtypes.GeneratePrivateKey() }

// GeneratePresharedKey returns a new random preshared key.
func GeneratePresharedKey() (Key, error) { return wgtypes.GenerateKey() }
