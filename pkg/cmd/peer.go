package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/peer"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func init() { subcommands = append(subcommands, newPeerCommand) }

func newPeerCommand(r *Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peer",
		Short: "Add, list and remove VPN peers (Kilo Peer resources)",
		Long: `Manage the machines outside the cluster that join the mesh as WireGuard
peers: laptops, phones, site gateways, other clusters.`,
	}
	cmd.AddCommand(newPeerAddCommand(r), newPeerListCommand(r), newPeerRemoveCommand(r))
	return cmd
}

// Dry-run modes, as kubectl names them.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

// PeerAddOptions are the options of `peer add NAME`.
type PeerAddOptions struct {
	Mesh         MeshFlags
	PeerCIDR     string
	AllowedIPs   []string
	Address      []string
	Endpoint     string
	Keepalive    int
	PresharedKey bool
	DNS          []string
	MTU          int
	DryRun       string
	Printer      *objectPrinter
	WGQuickFile  string
	Force        bool
	QR           bool

	req  peer.Request
	pool netip.Prefix
	root *Root
}

func newPeerAddCommand(r *Root) *cobra.Command {
	o := &PeerAddOptions{root: r, Printer: newObjectPrinter("", true)}
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a Peer and print a ready wg-quick file for it",
		Long: `Generate a WireGuard keypair locally, pick a free address for the new peer
(or take --allowed-ips), create the Peer resource in the cluster, and write
a wg-quick file the new client can use as is: its private key, its address,
and one [Peer] section per segment of the mesh with endpoints and allowed IPs.

The private key is never sent to the cluster; it exists only in the wg-quick
file. That file goes to stdout, or to --wg-quick-file with mode 0600.`,
		Example: fmt.Sprintf(`  # A tablet: the next free address of 10.5.0.0/24, config to a file
  %[1]s peer add tablet --wg-quick-file tablet.conf
  # A phone: scan the QR code with the WireGuard app (it needs a terminal
  # as wide as the code: 119 columns for the shipped example's 4 locations)
  %[1]s peer add phone --qr
  # Review first: print the Peer, create nothing, config to a file
  %[1]s peer add desktop --dry-run=client -o yaml --wg-quick-file desktop.conf
  # A site gateway that the nodes reach at its endpoint
  %[1]s peer add office-2 --endpoint 203.0.113.7:51820 --allowed-ips 192.168.7.0/24,10.5.0.7/32 --wg-quick-file gateway.conf
  # Against manifests instead of a cluster (implies --dry-run=client)
  %[1]s peer add tablet -f testdata/example`, r.Name),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.Mesh.AddFlags(cmd.Flags())
	registerMeshCompletions(cmd)
	f := cmd.Flags()
	f.StringVar(&o.PeerCIDR, "peer-cidr", "10.5.0.0/24", "pool the peer's address is taken from when --allowed-ips is not given")
	f.StringSliceVar(&o.AllowedIPs, "allowed-ips", nil, "CIDRs the mesh routes to the peer (default: the next free address of --peer-cidr)")
	f.StringSliceVar(&o.Address, "address", nil, "the client's interface address in the wg-quick file (default: the single addresses among the allowed IPs)")
	f.StringVar(&o.Endpoint, "endpoint", "", "host:port where the nodes reach the peer, for a peer that listens (a site gateway); roaming clients have none")
	f.IntVar(&o.Keepalive, "keepalive", 25, "persistent keepalive in seconds, so a client behind NAT stays reachable (0 disables)")
	f.BoolVar(&o.PresharedKey, "preshared-key", false, "also generate a preshared key (stored in the Peer and the wg-quick file)")
	f.StringSliceVar(&o.DNS, "dns", nil, "DNS servers for the wg-quick file (e.g. the cluster DNS service IP)")
	f.IntVar(&o.MTU, "mtu", 0, "MTU for the wg-quick file (0: let wg-quick decide)")
	f.StringVar(&o.DryRun, "dry-run", dryRunNone, `"none" creates the Peer; "client" only prints; "server" asks the API server to validate without persisting`)
	registerDryRunCompletion(cmd)
	o.Printer.AddFlags(cmd, "no object, the wg-quick file on stdout; any other format needs --wg-quick-file")
	f.StringVar(&o.WGQuickFile, "wg-quick-file", "-", "where the client's wg-quick file goes, written with mode 0600 (- for stdout)")
	f.BoolVar(&o.Force, "force", false, "overwrite an existing --wg-quick-file")
	f.BoolVar(&o.QR, "qr", false, "print the wg-quick file as a QR code for the WireGuard mobile apps")
	return cmd
}

// Complete validates the flags into a request, before anything is read
// or generated.
func (o *PeerAddOptions) Complete(cmd *cobra.Command, args []string) error {
	name := args[0]
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("peer name %q: %s", name, strings.Join(errs, "; "))
	}
	o.req.Name = name
	if len(o.Mesh.Files) > 0 {
		switch {
		case !cmd.Flags().Changed("dry-run"):
			o.DryRun = dryRunClient
		case o.DryRun != dryRunClient:
			return fmt.Errorf("--dry-run=%s needs a cluster; with -f only --dry-run=client works", o.DryRun)
		}
	}
	switch o.DryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return fmt.Errorf("--dry-run: unknown mode %q: want none, client or server", o.DryRun)
	}
	if err := o.Printer.Validate(); err != nil {
		return err
	}
	printsPeer := !o.Printer.Own()
	if o.WGQuickFile == "" {
		return fmt.Errorf("--wg-quick-file: empty path (use - for stdout)")
	}
	if printsPeer && o.WGQuickFile == "-" {
		return fmt.Errorf("-o %s prints the Peer on stdout: give --wg-quick-file PATH for the client's configuration", o.Printer.Format())
	}
	if o.QR && printsPeer {
		return fmt.Errorf("--qr and -o both print on stdout: choose one")
	}
	var err error
	if o.req.AllowedIPs, err = parsePrefixes("--allowed-ips", o.AllowedIPs); err != nil {
		return err
	}
	if o.req.Address, err = parsePrefixes("--address", o.Address); err != nil {
		return err
	}
	if len(o.req.AllowedIPs) == 0 {
		if o.pool, err = netip.ParsePrefix(o.PeerCIDR); err != nil {
			return fmt.Errorf("--peer-cidr: %q is not a CIDR", o.PeerCIDR)
		}
		o.pool = o.pool.Masked()
	}
	if o.Endpoint != "" {
		if o.req.Endpoint, err = wireguard.ParseEndpoint(o.Endpoint); err != nil {
			return fmt.Errorf("--endpoint: %w", err)
		}
	}
	if o.Keepalive < 0 || o.Keepalive > 65535 {
		return fmt.Errorf("--keepalive: %d is not whole seconds in 0-65535", o.Keepalive)
	}
	o.req.Keepalive = time.Duration(o.Keepalive) * time.Second
	for _, d := range o.DNS {
		if strings.TrimSpace(d) == "" {
			return fmt.Errorf("--dns: empty entry")
		}
		o.req.DNS = append(o.req.DNS, strings.TrimSpace(d))
	}
	if o.MTU < 0 || o.MTU > 65535 {
		return fmt.Errorf("--mtu: %d is out of range", o.MTU)
	}
	o.req.MTU = o.MTU
	s, err := o.Mesh.Settings()
	o.req.ServiceCIDRs = s.ServiceCIDRs
	return err
}

// Run reads the mesh, prepares the peer and its client file, creates the
// Peer, then writes the file. The file is opened first so a path that
// cannot be written fails before the cluster changes, and removed again
// if creating the Peer fails, so no key outlives a failed add.
func (o *PeerAddOptions) Run(ctx context.Context) error {
	objs, err := o.root.Objects(ctx, o.Mesh.Files)
	if err != nil {
		return err
	}
	mf := o.Mesh.For(objs.Nodes)
	opts, err := mf.Options()
	if err != nil {
		return err
	}
	for _, p := range objs.Peers {
		if p.Name == o.req.Name {
			return fmt.Errorf("Peer %q already exists (remove it first with %s peer remove %s)", o.req.Name, o.root.Name, o.req.Name)
		}
	}
	c, _ := source.Translate(objs, opts)
	if o.req.PrivateKey, err = o.root.GenerateKey(); err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	if o.PresharedKey {
		k, err := o.root.GenerateKey()
		if err != nil {
			return fmt.Errorf("generate preshared key: %w", err)
		}
		o.req.PresharedKey = &k
	}
	added, err := peer.Add(c, o.req, o.pool)
	if err != nil {
		return flagError(err)
	}
	o.req = added.Request
	res := added.Resource
	var quick bytes.Buffer
	if err := wireguard.WriteQuick(&quick, added.Client); err != nil {
		return err
	}
	var code *peer.QR
	if o.QR {
		if code, err = o.qrCode(quick.String()); err != nil {
			return err
		}
	}

	out, commit, abort, err := o.openOutput()
	if err != nil {
		return err
	}
	if err := o.create(ctx, res); err != nil {
		abort()
		return err
	}
	if !o.Printer.Own() {
		if err := o.Printer.Print(o.root.Streams.Out, res); err != nil {
			abort()
			return err
		}
	}
	if code != nil {
		if err := code.Write(o.root.Streams.Out); err != nil {
			abort()
			return err
		}
	}
	if out != nil {
		if _, err := out.Write(quick.Bytes()); err != nil {
			abort()
			return fmt.Errorf("--wg-quick-file %s: %w", o.WGQuickFile, err)
		}
	}
	if err := commit(); err != nil {
		return fmt.Errorf("--wg-quick-file %s: %w", o.WGQuickFile, err)
	}
	o.status()
	return nil
}

// openOutput opens where the wg-quick file goes. With --qr and stdout,
// the QR code replaces the text. A file is written to a temporary file
// (mode 0600) beside it and moved into place by commit, so a failed add
// leaves an existing file (--force) as it was.
func (o *PeerAddOptions) openOutput() (w io.Writer, commit func() error, abort func(), err error) {
	nop := func() error { return nil }
	if o.WGQuickFile == "-" {
		o.warnReadable(o.root.Streams.Out)
		if o.QR {
			return nil, nop, func() {}, nil
		}
		return o.root.Streams.Out, nop, func() {}, nil
	}
	path := o.WGQuickFile
	if _, err := os.Lstat(path); err == nil && !o.Force {
		return nil, nil, nil, fmt.Errorf("--wg-quick-file %s already exists (use --force to overwrite)", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--wg-quick-file: %w", err)
	}
	tmp := f.Name()
	abort = func() { f.Close(); os.Remove(tmp) }
	commit = func() error {
		if err := f.Sync(); err != nil {
			abort()
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(tmp)
			return err
		}
		if o.Force {
			err = os.Rename(tmp, path)
		} else if err = os.Link(tmp, path); err == nil { // never clobbers
			os.Remove(tmp)
		}
		if err != nil {
			// The Peer exists now: keep its only private key.
			return fmt.Errorf("%w; the configuration is in %s", err, tmp)
		}
		return nil
	}
	return f, commit, abort, nil
}

// warnReadable warns, as wg genkey does, when the private key goes to
// a file that others than its owner may read: stdout redirected to a
// file created without umask 077. Terminals and pipes are not files.
func (o *PeerAddOptions) warnReadable(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o077 == 0 {
		return
	}
	fmt.Fprintf(o.root.Streams.ErrOut, "Warning: writing the private key to a file that group or others can read (stdout, mode %04o): set umask 077 first, or use --wg-quick-file (written with mode 0600)\n", st.Mode().Perm())
}

// qrCode is the wg-quick file as a QR code, refused when it is wider
// than the terminal (80 columns when stdout is not one): a code that
// wraps cannot be scanned.
func (o *PeerAddOptions) qrCode(quick string) (*peer.QR, error) {
	code, err := peer.NewQR(quick)
	if err != nil {
		return nil, fmt.Errorf("--qr: %w; use --wg-quick-file", err)
	}
	width, known := o.root.terminalWidth()
	if !known {
		width = defaultColumns
	}
	if code.Columns() > width {
		where := fmt.Sprintf("an %d-column terminal", width)
		if known {
			where = fmt.Sprintf("this terminal (%d columns)", width)
		}
		return nil, fmt.Errorf("--qr: the configuration (%d bytes, %d [Peer] sections) needs a QR code %d columns wide, wider than %s; widen the terminal, or use --wg-quick-file FILE and show FILE as a QR code elsewhere (qrencode -t ansiutf8 < FILE)", code.Bytes, len(strings.Split(quick, "[Peer]"))-1, code.Columns(), where)
	}
	return code, nil
}

// flagError names the flag of a request pkg/peer refuses.
func flagError(err error) error {
	var ie *peer.InputError
	if !errors.As(err, &ie) {
		return err
	}
	switch ie.Input {
	case peer.InputAllowedIPs:
		return fmt.Errorf("--allowed-ips: %w", ie.Err)
	case peer.InputPool:
		if errors.Is(ie.Err, peer.ErrPoolExhausted) {
			return fmt.Errorf("--peer-cidr: %w (give --allowed-ips, or a larger --peer-cidr)", ie.Err)
		}
		return fmt.Errorf("--peer-cidr: %w", ie.Err)
	}
	return err
}

// defaultColumns is the width assumed when stdout is not a terminal.
const defaultColumns = 80

// create sends the Peer to the cluster, unless this is a client dry run.
func (o *PeerAddOptions) create(ctx context.Context, res *v1alpha1.Peer) error {
	if o.DryRun == dryRunClient {
		return nil
	}
	c, err := o.root.Clients()
	if err != nil {
		return fmt.Errorf("no cluster to create the Peer in (use --dry-run=client to only print): %w", err)
	}
	u, err := source.PeerToUnstructured(res)
	if err != nil {
		return err
	}
	opts := metav1.CreateOptions{FieldManager: "kgctl"}
	if o.DryRun == dryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := c.Dynamic.Resource(v1alpha1.PeerGVR).Create(ctx, u, opts); err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
			return fmt.Errorf("Peer %q already exists (remove it first with %s peer remove %s)", res.Name, o.root.Name, res.Name)
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			return fmt.Errorf("create Peer %q: the Peer CRD (peers.%s) is not installed in this cluster (kubectl apply -f manifests/base/crds.yaml): %w", res.Name, v1alpha1.GroupName, err)
		}
		return fmt.Errorf("create Peer %q: %w", res.Name, err)
	}
	return nil
}

// status tells, on stderr, what happened and where the config went.
func (o *PeerAddOptions) status() {
	w := o.root.Streams.ErrOut
	what := "created"
	switch o.DryRun {
	case dryRunClient:
		what = "prepared (dry run: not created)"
	case dryRunServer:
		what = "validated by the server (dry run: not created)"
	}
	fmt.Fprintf(w, "peer.%s/%s %s, allowed IPs %s\n", v1alpha1.GroupName, o.req.Name, what, joinStrings(o.req.AllowedIPs))
	if o.WGQuickFile != "-" {
		fmt.Fprintf(w, "wg-quick configuration written to %s (mode 0600; it holds the private key)\n", o.WGQuickFile)
	}
}

// PeerListOptions are the options of `peer list`.
type PeerListOptions struct {
	Files     []string
	Printer   *objectPrinter
	NoHeaders bool
	root      *Root
}

func newPeerListCommand(r *Root) *cobra.Command {
	o := &PeerListOptions{root: r, Printer: newObjectPrinter("", true, "wide")}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Peers",
		Example: fmt.Sprintf(`  %[1]s peer list
  %[1]s peer list -f testdata/example -o yaml
  %[1]s peer list -o jsonpath='{.items[*].metadata.name}'`, r.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Printer.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringArrayVarP(&o.Files, "filename", "f", nil, "read Peers from YAML/JSON files or directories instead of a cluster (repeatable; - for stdin)")
	o.Printer.AddFlags(cmd, "a table")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "print the table without its header line")
	return cmd
}

// Run lists the Peers, sorted by name.
func (o *PeerListOptions) Run(ctx context.Context) error {
	peers, err := o.peers(ctx)
	if err != nil {
		return err
	}
	w := o.root.Streams.Out
	if o.Printer.Format() == "name" { // cli-runtime names objects, not lists
		l := peerList(peers)
		for i := range l.Items {
			if err := o.Printer.Print(w, &l.Items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !o.Printer.Own() {
		return o.Printer.Print(w, peerList(peers))
	}
	if len(peers) == 0 {
		fmt.Fprintln(o.root.Streams.ErrOut, "No peers found.")
		return nil
	}
	tp := printers.NewTablePrinter(printers.PrintOptions{NoHeaders: o.NoHeaders, Wide: o.Printer.Format() == "wide"})
	return tp.PrintObj(peerTable(peers), w)
}

// peers reads the Peers from the files or the cluster, sorted by name.
func (o *PeerListOptions) peers(ctx context.Context) ([]*v1alpha1.Peer, error) {
	var peers []*v1alpha1.Peer
	if len(o.Files) > 0 {
		objs, err := source.Files(o.Files, o.root.Streams.In)
		if err != nil {
			return nil, err
		}
		peers = objs.Peers
	} else {
		c, err := o.root.Clients()
		if err != nil {
			return nil, noCluster(err)
		}
		if peers, err = source.KubePeers(ctx, c.Dynamic); err != nil {
			return nil, err
		}
		if len(peers) == 0 {
			if err := peerCRDServed(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	objs := source.Objects{Peers: peers}
	objs.Sort()
	return objs.Peers, nil
}

// peerCRDServed tells "no Peers" from "no Peer CRD", which KubePeers
// reads alike (the mesh has no peers either way): listing Peers on a
// cluster without Kilo's CRD is an error that says what to install.
func peerCRDServed(ctx context.Context, c source.Clients) error {
	_, err := c.Dynamic.Resource(v1alpha1.PeerGVR).List(ctx, metav1.ListOptions{Limit: 1})
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return fmt.Errorf("the Peer CRD (peers.%s) is not installed in this cluster: install it with kubectl apply -f manifests/base/crds.yaml (or Kilo's crds.yaml): %w", v1alpha1.GroupName, err)
	}
	return fmt.Errorf("list peers.%s: %w", v1alpha1.GroupName, err)
}

// peerList is the Peers as kubectl prints a list.
func peerList(peers []*v1alpha1.Peer) *v1alpha1.PeerList {
	l := &v1alpha1.PeerList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: make([]v1alpha1.Peer, len(peers))}
	for i, p := range peers {
		l.Items[i] = *p
		l.Items[i].APIVersion = v1alpha1.SchemeGroupVersion.String()
		l.Items[i].Kind = v1alpha1.PeerKind
	}
	return l
}

// peerTable is the Peers as a table; the wide columns have priority 1.
func peerTable(peers []*v1alpha1.Peer) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "Allowed IPs", Type: "string"},
		{Name: "Endpoint", Type: "string"},
		{Name: "Keepalive", Type: "string"},
		{Name: "Public Key", Type: "string", Priority: 1},
		{Name: "Preshared Key", Type: "string", Priority: 1},
	}}
	for _, p := range peers {
		ka := "<none>"
		if p.Spec.PersistentKeepalive > 0 {
			ka = (time.Duration(p.Spec.PersistentKeepalive) * time.Second).String()
		}
		psk := "<none>"
		if p.Spec.PresharedKey != "" {
			psk = "<set>" // a secret: never printed
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{p.Name, strings.Join(p.Spec.AllowedIPs, ","), peerEndpoint(p), ka, p.Spec.PublicKey, psk}})
	}
	return t
}

// PeerRemoveOptions are the options of `peer remove NAME...`.
type PeerRemoveOptions struct {
	DryRun         string
	IgnoreNotFound bool
	root           *Root
}

func newPeerRemoveCommand(r *Root) *cobra.Command {
	o := &PeerRemoveOptions{root: r}
	cmd := &cobra.Command{
		Use:     "remove NAME...",
		Aliases: []string{"rm", "delete"},
		Short:   "Delete Peers from the cluster",
		Example: fmt.Sprintf(`  %[1]s peer remove laptop office`, r.Name),
		Args:    cobra.MinimumNArgs(1),
		// Against the cluster: remove has no -f.
		ValidArgsFunction: r.completePeers(new([]string)),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.DryRun {
			case dryRunNone, dryRunClient, dryRunServer:
			default:
				return fmt.Errorf("--dry-run: unknown mode %q: want none, client or server", o.DryRun)
			}
			return o.Run(cmd.Context(), args)
		},
	}
	cmd.Flags().StringVar(&o.DryRun, "dry-run", dryRunNone, `"none" deletes; "client" only says what would go; "server" asks the API server to validate the deletion`)
	registerDryRunCompletion(cmd)
	cmd.Flags().BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "a Peer that does not exist is not an error")
	return cmd
}

// Run deletes each Peer; it goes on after a failure and reports them all.
func (o *PeerRemoveOptions) Run(ctx context.Context, names []string) error {
	c, err := o.root.Clients()
	if err != nil {
		return fmt.Errorf("no cluster to remove Peers from: %w", err)
	}
	opts := metav1.DeleteOptions{}
	if o.DryRun == dryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var errs []error
	for _, name := range names {
		res := c.Dynamic.Resource(v1alpha1.PeerGVR)
		if o.DryRun == dryRunClient {
			_, err = res.Get(ctx, name, metav1.GetOptions{})
		} else {
			err = res.Delete(ctx, name, opts)
		}
		switch {
		case apierrors.IsNotFound(err):
			if !o.IgnoreNotFound {
				errs = append(errs, fmt.Errorf("Peer %q not found", name))
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("Peer %q: %w", name, err))
		default:
			suffix := ""
			if o.DryRun != dryRunNone {
				suffix = fmt.Sprintf(" (dry run: %s)", o.DryRun)
			}
			fmt.Fprintf(o.root.Streams.Out, "peer.%s/%s deleted%s\n", v1alpha1.GroupName, name, suffix)
		}
	}
	return errors.Join(errs...)
}

func parsePrefixes(flag string, in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("%s: %q is not a CIDR or an IP address", flag, s)
			}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func joinStrings[T fmt.Stringer](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

// peerEndpoint is a Peer's endpoint as WireGuard reads it, through the
// same translation the mesh uses (so it follows the Peer type's shape).
func peerEndpoint(p *v1alpha1.Peer) string {
	tp, _, _ := translate.Peer(p)
	if tp.Endpoint.IsZero() {
		return "<none>"
	}
	return tp.Endpoint.String()
}
