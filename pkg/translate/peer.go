package translate

import (
	"fmt"
	"net"
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
	out := topology.Peer{Name: in.Name, CreationTimestamp: in.CreationTimestamp.Time}
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
		out.Endpoint = peerEndpoint(e, p)
	}
	switch ka := in.Spec.PersistentKeepalive; {
	case ka < 0 || ka > 65535:
		p.add(topology.Error, "spec.persistentKeepalive", strconv.Itoa(ka), "want whole seconds in 0-65535; ignored")
	default:
		out.PersistentKeepalive = time.Duration(ka) * time.Second
	}
	return out, p.list, ok
}

// kiloNoEndpointIP is what Kilo's kgctl writes as spec.endpoint.dnsOrIP.ip
// (with port 0) for a peer that has no endpoint: a nil net.IP printed.
const kiloNoEndpointIP = "<nil>"

// peerEndpoint reads spec.endpoint; a zero Endpoint and a problem naming
// the field at fault when it cannot be used (the peer still joins, as a
// roaming client: the mesh waits for its handshake).
func peerEndpoint(e *v1alpha1.PeerEndpoint, p *problems) wireguard.Endpoint {
	const ignored = "; endpoint ignored, the peer joins as a roaming client"
	if e.Port == 0 && e.DNS == "" && (e.IP == "" || e.IP == kiloNoEndpointIP) {
		p.add(topology.Warning, "spec.endpoint", fmt.Sprintf("%s:%d", e.IP, e.Port),
			"no address and no port: read as no endpoint (Kilo's kgctl prints this for a peer without one)")
		return wireguard.Endpoint{}
	}
	if e.Port < 1 || e.Port > 65535 {
		p.add(topology.Error, "spec.endpoint.port", strconv.Itoa(int(e.Port)), "not a UDP port in 1-65535"+ignored)
		return wireguard.Endpoint{}
	}
	port := uint16(e.Port)
	switch {
	case e.IP != "" && e.DNS != "":
		p.add(topology.Error, "spec.endpoint.dnsOrIP", fmt.Sprintf("ip %s, dns %s", e.IP, e.DNS), "set exactly one of ip and dns"+ignored)
	case e.IP != "":
		a, err := netip.ParseAddr(e.IP)
		if err != nil || a.Zone() != "" {
			p.add(topology.Error, "spec.endpoint.dnsOrIP.ip", e.IP, "not an IP address without a zone"+ignored)
			return wireguard.Endpoint{}
		}
		return wireguard.Endpoint{Addr: a.Unmap(), Port: port}
	case e.DNS != "":
		ep, err := wireguard.ParseEndpoint(net.JoinHostPort(e.DNS, strconv.Itoa(int(port))))
		if err != nil {
			p.add(topology.Error, "spec.endpoint.dnsOrIP.dns", e.DNS, "not a DNS name (RFC 1123)"+ignored)
			return wireguard.Endpoint{}
		}
		return ep
	default:
		p.add(topology.Error, "spec.endpoint.dnsOrIP", "", "set ip or dns"+ignored)
	}
	return wireguard.Endpoint{}
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
		out.Spec.Endpoint = &v1alpha1.PeerEndpoint{Port: int32(wp.Endpoint.Port)}
		if wp.Endpoint.DNS != "" {
			out.Spec.Endpoint.DNS = wp.Endpoint.DNS
		} else {
			out.Spec.Endpoint.IP = wp.Endpoint.Addr.String()
		}
	}
	return out
}
