package peer

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Input names what the caller gave that an InputError is about, so a
// command can name its own flag for it.
type Input string

const (
	// InputAllowedIPs is Request.AllowedIPs (kgctl: --allowed-ips).
	InputAllowedIPs Input = "allowed IPs"
	// InputPool is the pool addresses are picked from (--peer-cidr).
	InputPool Input = "pool"
)

// InputError is a request that the mesh cannot take, and which input
// is at fault.
type InputError struct {
	Input Input
	Err   error
}

func (e *InputError) Error() string { return string(e.Input) + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Added is a new peer, ready to be created and handed to its client.
type Added struct {
	// Request is the request with its allowed IPs decided.
	Request Request
	// Resource is the Peer object for the cluster (public key only).
	Resource *v1alpha1.Peer
	// Client is the new client's wg-quick configuration, private key
	// included, computed from the mesh with the peer in it.
	Client wireguard.Config
}

// Add prepares the peer r on the cluster c, which does not hold it yet:
// its allowed IPs are r.AllowedIPs, refused when one overlaps what the
// mesh already routes, or else the lowest free address of pool (which
// must lie outside the WireGuard subnet: leaders' addresses come from
// there). r.PrivateKey must be set. The cluster is built twice, as it
// is and with the peer, so the client's configuration is exactly what
// the agents will apply; a peer the engine refuses is an error.
func Add(c topology.Cluster, r Request, pool netip.Prefix) (Added, error) {
	current, err := topology.Build(c)
	if err != nil {
		return Added{}, err
	}
	if r.AllowedIPs, err = Allocate(current, r.AllowedIPs, pool); err != nil {
		return Added{}, err
	}
	res := r.Resource()
	tp, problems, ok := translate.Peer(res)
	if !ok {
		if len(problems) > 0 {
			return Added{}, fmt.Errorf("Peer %q: %s", r.Name, problems[0].Message)
		}
		return Added{}, fmt.Errorf("Peer %q: refused", r.Name)
	}
	c.Peers = append(slices.Clip(c.Peers), tp)
	next, err := topology.Build(c)
	if err != nil {
		return Added{}, err
	}
	client, err := ClientConfig(next, r)
	if err != nil {
		return Added{}, err
	}
	return Added{Request: r, Resource: res, Client: client}, nil
}

// Allocate decides a new peer's allowed IPs on mesh m: allowed when
// given, each checked against the mesh's claims, else the lowest free
// address of pool. Errors are InputErrors.
func Allocate(m *topology.Mesh, allowed []netip.Prefix, pool netip.Prefix) ([]netip.Prefix, error) {
	claims := Claims(m)
	if len(allowed) > 0 {
		for _, a := range allowed {
			if c, ok := Conflict(a, claims); ok {
				return nil, &InputError{InputAllowedIPs, fmt.Errorf("%s overlaps %s of %s: the mesh would route it twice", a, c.Prefix, c.Owner)}
			}
		}
		return allowed, nil
	}
	if !pool.IsValid() {
		return nil, &InputError{InputPool, errors.New("no pool and no allowed IPs")}
	}
	if sub := m.Settings.Subnet; pool.Overlaps(sub) {
		return nil, &InputError{InputPool, fmt.Errorf("%s overlaps the WireGuard subnet %s: leaders' addresses come from there", pool.Masked(), sub)}
	}
	a, err := FreeAddress(pool, claims)
	if err != nil {
		return nil, &InputError{InputPool, err}
	}
	return []netip.Prefix{a}, nil
}
