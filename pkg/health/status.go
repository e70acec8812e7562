package health

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Key is the Node annotation the agent publishes its Status in (the
// agent's admission policy lets it write it on its own Node only).
const Key = "kilo.squat.ai/status"

// Version is the Status format's version.
const Version = 1

// Bounds of an encoded Status: a Node's annotations share 256 KiB, and
// every agent's watch receives this value.
const (
	MaxBytes = 4096
	MaxNames = 64
)

// Status is what a node's agent reports about its tunnels: how many are
// up, which are down or never came up (node or Peer names), and the hash
// of the WireGuard configuration it last applied. It changes only when a
// tunnel changes state or the configuration changes, so publishing it on
// change costs writes per event, not per resync.
type Status struct {
	V    int      `json:"v"`
	Up   int      `json:"up"`
	Down []string `json:"down,omitempty"`
	// DownMore counts names left out of Down to keep the value bounded.
	DownMore  int      `json:"downMore,omitempty"`
	Never     []string `json:"never,omitempty"`
	NeverMore int      `json:"neverMore,omitempty"`
	// Applied is Hash of the configuration the agent last applied.
	Applied string `json:"applied,omitempty"`
	// Demoted, when set, says the node gave up leading its location
	// because its data path died (docs/failover.md): a Unix time on its
	// own clock, informational, except that among nodes that all gave
	// up, the one that gave up first leads again first. 0: not demoted.
	Demoted int64 `json:"demoted,omitempty"`
}

// Summarize builds the Status of reported states (by public key) with
// names (by public key; a key without a name appears as itself).
func Summarize(states map[string]State, names map[string]string, applied string) Status {
	s := Status{V: Version, Applied: applied}
	for k, st := range states {
		name := names[k]
		if name == "" {
			name = k
		}
		switch st {
		case Up:
			s.Up++
		case Down:
			s.Down = append(s.Down, name)
		case Never:
			s.Never = append(s.Never, name)
		}
	}
	slices.Sort(s.Down)
	slices.Sort(s.Never)
	return s
}

// Encode renders s as compact JSON of at most MaxBytes: names are sorted,
// each list is cut to MaxNames, and further names are dropped (longest
// list first) until the value fits; what is dropped is counted in
// DownMore and NeverMore.
func Encode(s Status) string {
	s.V = Version
	s.Down, s.DownMore = capNames(s.Down, s.DownMore)
	s.Never, s.NeverMore = capNames(s.Never, s.NeverMore)
	for {
		b := mustJSON(s)
		if len(b) <= MaxBytes || (len(s.Down) == 0 && len(s.Never) == 0) {
			return string(b)
		}
		if len(s.Down) >= len(s.Never) {
			s.Down, s.DownMore = s.Down[:len(s.Down)-1], s.DownMore+1
		} else {
			s.Never, s.NeverMore = s.Never[:len(s.Never)-1], s.NeverMore+1
		}
	}
}

func capNames(names []string, more int) ([]string, int) {
	names = slices.Clone(names)
	slices.Sort(names)
	if len(names) > MaxNames {
		more += len(names) - MaxNames
		names = names[:MaxNames]
	}
	if len(names) == 0 {
		names = nil
	}
	return names, more
}

func mustJSON(s Status) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // strings and ints always encode
	}
	return b
}

// maxUnix bounds Demoted: the year 9999, well inside time.Time.
const maxUnix = 253402300799

// Decode reads a value written by Encode. It refuses a value over
// MaxBytes, another version, or unknown fields.
func Decode(v string) (Status, error) {
	if len(v) > MaxBytes {
		return Status{}, fmt.Errorf("status is %d bytes, over %d", len(v), MaxBytes)
	}
	var s Status
	d := json.NewDecoder(bytes.NewReader([]byte(v)))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return Status{}, fmt.Errorf("status %q: %w", v, err)
	}
	if d.More() {
		return Status{}, fmt.Errorf("status %q: trailing data", v)
	}
	if s.V != Version {
		return Status{}, fmt.Errorf("status version %d: want %d", s.V, Version)
	}
	if s.Up < 0 || s.DownMore < 0 || s.NeverMore < 0 {
		return Status{}, errors.New("status has a negative count")
	}
	if s.Demoted < 0 || s.Demoted > maxUnix {
		return Status{}, fmt.Errorf("status demoted %d: want a Unix time in seconds", s.Demoted)
	}
	return s, nil
}

// Hash is a short, stable hash of the WireGuard configuration a node
// applies, as the engine computes it (private key left out): the agent
// publishes it as Applied, and kgctl status compares it with the hash of
// the configuration the engine computes now.
func Hash(c wireguard.Config) string {
	c.Interface.PrivateKey = nil
	var b bytes.Buffer
	// The wg-quick rendering is canonical for every field applied, the
	// interface address too; it cannot fail on a bytes.Buffer.
	_ = wireguard.WriteQuick(&b, c)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:6])
}
