package cmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// agentUnder replaces root's agent command with one whose options the
// test can read.
func agentUnder(t *testing.T, root *cobra.Command, r *Root) (*AgentOptions, *cobra.Command) {
	t.Helper()
	old, _, err := root.Find([]string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	root.RemoveCommand(old)
	o := &AgentOptions{root: r}
	cmd := agentCommand(o)
	root.AddCommand(cmd)
	return o, cmd
}

// kiloAgentArgs are the arguments Kilo's DaemonSets (manifests/kilo-*.yaml)
// and docs/kg.md pass to its kg agent, with the environment expanded.
var kiloAgentArgs = [][]string{
	{"--kubeconfig=/etc/kubernetes/kubeconfig", "--hostname=node-1"},
	{"--kubeconfig=/etc/kubernetes/kubeconfig", "--hostname=node-1", "--cni=false", "--compatibility=flannel", "--local=false"},
	{"--kubeconfig=/etc/kubernetes/kubeconfig", "--hostname=node-1", "--create-interface=false", "--interface=kilo0", "--mtu=1420"},
	{"--kubeconfig=/etc/kubernetes/kubeconfig", "--hostname=node-1", "--internal-cidr=192.0.2.7/32", "--encapsulate=crosssubnet", "--log-level=all"},
	{"--kubeconfig=/etc/kubernetes/kubeconfig", "--hostname=node-1", "--subnet=172.31.254.0/24", "--clean-up-interface=true", "--log-level=none"},
	// kg's other flags (docs/kg.md).
	{"--backend=kubernetes", "--master=https://192.0.2.1:6443", "--hostname=node-1", "--clean-up=true", "--cni-path=/etc/cni/net.d/10-kilo.conflist",
		"--iptables-forward-rules", "--listen=:1107", "--mesh-granularity=full", "--port=51821", "--prioritise-private-addresses",
		"--resync-period=30s", "--service-cidr=10.96.0.0/12", "--topology-label=topology.kubernetes.io/region"},
}

// TestKiloAgentFlags: a Kilo DaemonSet's arguments are accepted as they
// are, and mean what they mean to Kilo.
func TestKiloAgentFlags(t *testing.T) {
	for _, args := range kiloAgentArgs {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			var out bytes.Buffer
			r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}}
			root := newRootCommand(r)
			o, agent := agentUnder(t, root, r)
			if err := agent.ParseFlags(args); err != nil {
				t.Fatalf("kgctl agent refuses Kilo's arguments: %v", err)
			}
			if err := o.Complete(); err != nil {
				t.Fatalf("kgctl agent %s: %v", strings.Join(args, " "), err)
			}
		})
	}
}

func TestKiloAgentFlagMeaning(t *testing.T) {
	var out bytes.Buffer
	r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}}
	root := newRootCommand(r)
	o, agent := agentUnder(t, root, r)
	args := []string{"--hostname=n", "--master=https://192.0.2.1:6443", "--prioritise-private-addresses", "--clean-up-interface"}
	if err := agent.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if got := *r.Kube.APIServer; got != "https://192.0.2.1:6443" {
		t.Errorf("--master: API server %q", got)
	}
	if !o.PrioritisePrivate || !o.CleanUpIface {
		t.Errorf("--prioritise-private-addresses %v, --clean-up-interface %v", o.PrioritisePrivate, o.CleanUpIface)
	}
}
