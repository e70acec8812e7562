package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// ExitError carries an exit code other than 1 (plan's --detailed-exitcode).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// errSilent exits 1 after the command already said why (problems printed).
var errSilent = &ExitError{Code: 1}

// Version information, set with -ldflags at build time.
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

// CommandName is how the binary was invoked: "kubectl kilo" when run as
// the kubectl plugin, so help text shows what the user typed.
func CommandName(arg0 string) string {
	if strings.HasPrefix(filepath.Base(arg0), "kubectl-kilo") {
		return "kubectl kilo"
	}
	return "kgctl"
}

// Root holds what every command shares.
type Root struct {
	Name    string
	Streams genericiooptions.IOStreams
	Kube    *genericclioptions.ConfigFlags
	// Backend is Kilo's kgctl --backend; kubernetes is the only one.
	Backend string
	// NewClients connects to the cluster; tests replace it with fakes.
	NewClients func() (source.Clients, error)
	// GenerateKey makes WireGuard keys; tests make them repeatable.
	GenerateKey func() (wireguard.Key, error)
	// TerminalWidth is stdout's width in columns, when it is a terminal;
	// tests set it.
	TerminalWidth func() (int, bool)
}

// terminalWidth is stdout's width, when it is a terminal.
func (r *Root) terminalWidth() (int, bool) {
	if r.TerminalWidth != nil {
		return r.TerminalWidth()
	}
	f, ok := r.Streams.Out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	w, _, err := term.GetSize(int(f.Fd()))
	return w, err == nil && w > 0
}

// Clients connects to the cluster the kubectl-style flags name.
func (r *Root) Clients() (source.Clients, error) {
	if r.NewClients != nil {
		return r.NewClients()
	}
	if err := r.haveConfig(); err != nil {
		return source.Clients{}, err
	}
	cfg, err := r.Kube.ToRESTConfig()
	if err != nil {
		return source.Clients{}, err
	}
	return source.NewClients(cfg)
}

// errNoKubeconfig is the first run without a cluster: client-go would
// fall back to localhost:8080 and fail with "connection refused".
var errNoKubeconfig = errors.New("no kubeconfig: none at --kubeconfig, $KUBECONFIG or ~/.kube/config, no --server, and not running in a pod")

// haveConfig says when there is nothing to connect to.
func (r *Root) haveConfig() error {
	if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return nil // in a pod: the service account's config
	}
	if r.Kube.APIServer != nil && *r.Kube.APIServer != "" {
		return nil
	}
	raw, err := r.Kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return err
	}
	if len(raw.Clusters) == 0 {
		return errNoKubeconfig
	}
	return nil
}

// noCluster wraps a failure to connect, pointing at -f.
func noCluster(err error) error {
	return fmt.Errorf("no cluster to read from (use -f FILE to read manifests): %w", err)
}

// NewRootCommand builds the kgctl command tree.
func NewRootCommand(name string, streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCommand(&Root{Name: name, Streams: streams})
}

func newRootCommand(r *Root) *cobra.Command {
	name, streams := r.Name, r.Streams
	r.Kube = genericclioptions.NewConfigFlags(true)
	if r.GenerateKey == nil {
		r.GenerateKey = wireguard.GeneratePrivateKey
	}
	use := name
	if name != "kgctl" {
		use = "kilo"
	}
	cmd := &cobra.Command{
		Use: use,
		// As a kubectl plugin, usage reads "kubectl kilo …".
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: name},
		Short:       "A WireGuard mesh for Kubernetes, compatible with Kilo",
		Long: name + ` manages a WireGuard mesh between the nodes of a Kubernetes cluster and the
peers outside it, compatible with Kilo's annotations and Peer resource.
Every read command works against a live cluster or against YAML files (-f).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Kilo's kgctl --version; "version" says more.
		Version: currentVersion().Version,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if r.Backend != kubernetesBackend {
				return fmt.Errorf("--backend: unknown backend %q: want %q", r.Backend, kubernetesBackend)
			}
			return nil
		},
	}
	cmd.SetVersionTemplate(name + " {{.Version}}\n")
	cmd.PersistentFlags().StringVar(&r.Backend, "backend", kubernetesBackend, "where the mesh is read from (Kilo's kgctl flag; kubernetes is the only backend)")
	_ = cmd.PersistentFlags().MarkHidden("backend")
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	r.Kube.AddFlags(cmd.PersistentFlags())
	for _, sub := range subcommands {
		cmd.AddCommand(sub(r))
	}
	return cmd
}

const kubernetesBackend = "kubernetes"

// subcommands are registered by each command's file, so adding a command
// touches only that file.
var subcommands []func(*Root) *cobra.Command

// Execute runs the command tree and returns the process exit code.
func Execute(args []string, streams genericiooptions.IOStreams) int {
	cmd := NewRootCommand(CommandName(os.Args[0]), streams)
	cmd.SetArgs(args)
	return exitCode(cmd.Execute(), streams.ErrOut)
}

// exitCode prints err (unless the command already did) and maps it to
// the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "error: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}
