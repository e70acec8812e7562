package translate

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Peer reads a Kilo Peer resource. ok is false when the peer cannot join
// (unreadable keys); an unreadable endpoint or allowed IP is dropped.
func Peer(in *v1alpha1.Peer) (topology.Peer, topology.Problems, bool) {
	p := &problems{kind: "Peer", name: in.Name}
	out := topology.Peer{Name: in.Name}
	ok := true
	k, err := wireguard.ParseKey(in.Spec.PublicKey)
	if err != nil {
		p.add(topology.Error, "spec.publicKey", in.Spec.PublicKey, "not a WireGuard public key (44 characters of base64); peer left out of the mesh")
		ok = false
	}
	out.PublicKey = k
	if in.Spec.PresharedKey != "" {
		psk, err := wireguard.ParseKey(in.Spec.PresharedKey)
		if err != nil {
			// The value is a secret: never echo it.
			p.add(topology.Error, "spec.presharedKey", "", "not a WireGuard key (44 characters of base64); peer left out of the mesh")
			ok = false
		}
		out.PresharedKey = &psk
	}
	for i, s := range in.Spec.AllowedIPs {
		c, err := netip.ParsePrefix(s)
		if err != nil {
			p.add(topology.Error, "spec.allowedIPs["+strconv.Itoa(i)+"]", s, "not a CIDR; ignored")
			continue
		}
		out.AllowedIPs = append(out.AllowedIPs, c.Masked())
	}
	if e := in.Spec.Endpoint; e != nil {
		ep, err := peerEndpoint(e)
		if err != nil {
			p.add(topology.Error, "spec.endpoint", fmt.Sprintf("%s%s:%d", e.IP, e.DNS, e.Port), err.Error()+"; ignored")
		}
		out.Endpoint = ep
	}
	switch ka := in.Spec.PersistentKeepalive; {
	case ka < 0 || ka > 65535:
		p.add(topology.Error, "spec.persistentKeepalive", strconv.Itoa(ka), "want whole seconds in 0-65535; ignored")
	default:
		out.PersistentKeepalive = time.Duration(ka) * time.Second
	}
	return out, p.list, ok
}

func peerEndpoint(e *v1alpha1.PeerEndpoint) (wireguard.Endpoint, error) {
	if e.Port == 0 || e.Port > 65535 {
		return wireguard.Endpoint{}, fmt.Errorf("port %d is not in 1-65535", e.Port)
	}
	switch {
	case e.IP != "" && e.DNS != "":
		return wireguard.Endpoint{}, fmt.Errorf("set either ip or dns, not both")
	case e.IP != "":
		a, err := netip.ParseAddr(e.IP)
		if err != nil {
			return wireguard.Endpoint{}, fmt.Errorf("ip %q is not an IP address", e.IP)
		}
		return wireguard.Endpoint{Addr: a.Unmap(), Port: uint16(e.Port)}, nil
	case e.DNS != "":
		return wireguard.ParseEndpoint(e.DNS + ":" + strconv.Itoa(int(e.Port)))
	}
	return wireguard.Endpoint{}, fmt.Errorf("set ip or dns")
}

// PeerResource is the inverse of Peer: the Kilo resource for a peer, as
// `showconf --as-peer -o yaml` and `peer add` print it.
func PeerResource(name string, wp wireguard.Peer) *v1alpha1.Peer {
	out := &v1alpha1.Peer{}
	out.APIVersion = v1alpha1.SchemeGroupVersion.String()
	out.Kind = v1alpha1.PeerKind
	out.Name = name
	out.Spec.PublicKey = wp.PublicKey.String()
	out.Spec.AllowedIPs = make([]string, len(wp.AllowedIPs))
	for i, c := range wp.AllowedIPs {
		out.Spec.AllowedIPs[i] = c.String()
	}
	if wp.PresharedKey != nil {
		out.Spec.PresharedKey = wp.PresharedKey.String()
	}
	out.Spec.PersistentKeepalive = int(wp.PersistentKeepalive / time.Second)
	if !wp.Endpoint.IsZero() {
		out.Spec.Endpoint = &v1alpha1.PeerEndpoint{Port: uint32(wp.Endpoint.Port)}
		if wp.Endpoint.DNS != "" {
			out.Spec.Endpoint.DNS = wp.Endpoint.DNS
		} else {
			out.Spec.Endpoint.IP = wp.Endpoint.Addr.String()
		}
	}
	return out
}
