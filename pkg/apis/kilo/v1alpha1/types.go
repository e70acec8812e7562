package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is Kilo's API group.
	GroupName = "kilo.squat.ai"
	// PeerKind and PeerPlural name the resource.
	PeerKind   = "Peer"
	PeerPlural = "peers"
)

// SchemeGroupVersion is kilo.squat.ai/v1alpha1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// PeerGVR is the resource clients list and watch.
var PeerGVR = SchemeGroupVersion.WithResource(PeerPlural)

// Peer is a WireGuard peer that should have access to the mesh.
type Peer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PeerSpec `json:"spec"`
}

// PeerSpec is Kilo's peer specification. The JSON shape is Kilo's exactly
// (manifests/base/crds.yaml): a Kilo Peer decodes strictly into it and a
// Peer encoded from it is accepted by Kilo's CRD.
type PeerSpec struct {
	// AllowedIPs are the CIDRs the peer may send from and that are routed to it.
	AllowedIPs []string `json:"allowedIPs"`
	// Endpoint is where the mesh can reach the peer; optional for roaming clients.
	Endpoint *PeerEndpoint `json:"endpoint,omitempty"`
	// PersistentKeepalive is the interval in seconds at which the peer
	// sends keepalives; 0 disables them.
	PersistentKeepalive int `json:"persistentKeepalive,omitempty"`
	// PresharedKey is an optional base64 symmetric key.
	PresharedKey string `json:"presharedKey,omitempty"`
	// PublicKey is the peer's base64 WireGuard public key.
	PublicKey string `json:"publicKey"`
}

// PeerEndpoint is a DNS name or IP, nested under dnsOrIP as in Kilo, and a
// port. DNSOrIP is embedded so that e.IP and e.DNS read as in Kilo's Go API.
type PeerEndpoint struct {
	DNSOrIP `json:"dnsOrIP"`
	// Port is int32 as the CRD's format says; the range is checked by the
	// CRD (1-65535) and by translate, so a hostile -1 still decodes and is
	// reported by name instead of failing the whole list.
	Port int32 `json:"port"`
}

// DNSOrIP holds exactly one of a DNS name and an IP.
type DNSOrIP struct {
	DNS string `json:"dns,omitempty"`
	IP  string `json:"ip,omitempty"`
}

// PeerList is a list of peers.
type PeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Peer `json:"items"`
}

// AddToScheme registers Peer and PeerList.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &Peer{}, &PeerList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}

// DeepCopyInto copies p into out.
func (p *Peer) DeepCopyInto(out *Peer) {
	*out = *p
	out.TypeMeta = p.TypeMeta
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	p.Spec.DeepCopyInto(&out.Spec)
}

// DeepCopy returns a copy of p.
func (p *Peer) DeepCopy() *Peer {
	if p == nil {
		return nil
	}
	out := new(Peer)
	p.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (p *Peer) DeepCopyObject() runtime.Object { return p.DeepCopy() }

// DeepCopyInto copies s into out.
func (s *PeerSpec) DeepCopyInto(out *PeerSpec) {
	*out = *s
	if s.AllowedIPs != nil {
		out.AllowedIPs = append([]string(nil), s.AllowedIPs...)
	}
	if s.Endpoint != nil {
		e := *s.Endpoint
		out.Endpoint = &e
	}
}

// DeepCopyInto copies l into out.
func (l *PeerList) DeepCopyInto(out *PeerList) {
	*out = *l
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]Peer, len(l.Items))
		for i := range l.Items {
			l.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
}

// DeepCopy returns a copy of l.
func (l *PeerList) DeepCopy() *PeerList {
	if l == nil {
		return nil
	}
	out := new(PeerList)
	l.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (l *PeerList) DeepCopyObject() runtime.Object { return l.DeepCopy() }
