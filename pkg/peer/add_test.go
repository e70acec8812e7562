package peer

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// addCluster is one location and one peer holding 10.5.0.1.
func addCluster(t *testing.T) topology.Cluster {
	t.Helper()
	return topology.Cluster{Settings: topology.DefaultSettings(),
		Nodes: []topology.Node{{
			Name:       "a",
			Location:   "east",
			Key:        key(t, 1).PublicKey(),
			InternalIP: netip.MustParsePrefix("192.168.0.1/24"),
			Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")},
		}},
		Peers: []topology.Peer{{Name: "office", PublicKey: key(t, 2).PublicKey(), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}}},
	}
}

func TestAdd(t *testing.T) {
	pool := netip.MustParsePrefix("10.5.0.0/24")
	prefixes := func(ps ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range ps {
			out = append(out, netip.MustParsePrefix(p))
		}
		return out
	}
	gateway := wireguard.Endpoint{Addr: netip.MustParseAddr("203.0.113.9"), Port: 51821}
	for name, tc := range map[string]struct {
		req  Request
		pool netip.Prefix
		// want: the allowed IPs picked, the client's address and listen port.
		allowed, address string
		listen           int
		// or the error, and which input it names ("" for none).
		err   string
		input Input
	}{
		"next free address of the pool":               {req: Request{}, pool: pool, allowed: "10.5.0.2/32", address: "10.5.0.2/32"},
		"allowed IPs given":                           {req: Request{AllowedIPs: prefixes("10.6.0.1/32", "192.168.50.0/24")}, allowed: "10.6.0.1/32 192.168.50.0/24", address: "10.6.0.1/32"},
		"explicit address":                            {req: Request{AllowedIPs: prefixes("192.168.50.0/24"), Address: prefixes("192.168.50.1/24")}, allowed: "192.168.50.0/24", address: "192.168.50.1/24"},
		"site gateway listens on its endpoint's port": {req: Request{Endpoint: gateway}, pool: pool, allowed: "10.5.0.2/32", address: "10.5.0.2/32", listen: 51821},
		"allowed IPs overlap a location":              {req: Request{AllowedIPs: prefixes("10.2.0.7/32")}, err: `10.2.0.7/32 overlaps 10.2.0.0/24 of segment "east": the mesh would route it twice`, input: InputAllowedIPs},
		"allowed IPs overlap a peer":                  {req: Request{AllowedIPs: prefixes("10.5.0.0/30")}, err: `overlaps 10.5.0.1/32 of Peer "office"`, input: InputAllowedIPs},
		"pool in the WireGuard subnet":                {pool: netip.MustParsePrefix("10.4.200.0/24"), err: "10.4.200.0/24 overlaps the WireGuard subnet 10.4.0.0/16", input: InputPool},
		"pool exhausted":                              {pool: netip.MustParsePrefix("10.5.0.1/32"), err: "no free address left in 10.5.0.1/32", input: InputPool},
		"no pool":                                     {err: "no pool and no allowed IPs", input: InputPool},
		"the engine refuses a node's key":             {req: Request{PrivateKey: key(t, 1)}, pool: pool, err: `the mesh refuses Peer "phone": same WireGuard key as node "a"`},
	} {
		t.Run(name, func(t *testing.T) {
			r := tc.req
			r.Name, r.Keepalive = "phone", 25*time.Second
			if r.PrivateKey == (wireguard.Key{}) {
				r.PrivateKey = key(t, 7)
			}
			got, err := Add(addCluster(t), r, tc.pool)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				var ie *InputError
				if isInput := errors.As(err, &ie); isInput != (tc.input != "") || isInput && ie.Input != tc.input {
					t.Errorf("error %v: input %v, want %q", err, ie, tc.input)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]any{tc.allowed, tc.allowed, tc.address, tc.listen}, []any{joinAny(got.Request.AllowedIPs), strings.Join(got.Resource.Spec.AllowedIPs, " "), joinAny(got.Client.Interface.Address), got.Client.Interface.ListenPort}); d != "" {
				t.Errorf("allowed IPs (request, resource), client address, listen port (-want +got):\n%s", d)
			}
			if *got.Client.Interface.PrivateKey != key(t, 7) {
				t.Error("the client's config lacks its private key")
			}
			if b, _ := json.Marshal(got.Resource); strings.Contains(string(b), key(t, 7).String()) {
				t.Error("the Peer resource holds the private key")
			}
			// One [Peer] per segment: the peer's config is the mesh's.
			if len(got.Client.Peers) != 2 || got.Client.Peers[0].Endpoint.String() != "198.51.100.1:51820" {
				t.Errorf("client peers: %+v", got.Client.Peers)
			}
		})
	}
}

// joinAny prints prefixes space-separated.
func joinAny(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// Add leaves the caller's cluster as it was.
func TestAddKeepsCluster(t *testing.T) {
	c := addCluster(t)
	c.Peers = c.Peers[:1:1]
	if _, err := Add(c, Request{Name: "phone", PrivateKey: key(t, 7)}, netip.MustParsePrefix("10.5.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if len(c.Peers) != 1 {
		t.Fatalf("Add changed the caller's peers: %v", c.Peers)
	}
}
