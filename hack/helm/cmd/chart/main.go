// Command chart packages charts/kgctl as `helm package` does and, with
// -push, pushes it to an OCI registry as `helm push` does, with the
// credentials of `helm registry login` or, failing those, of docker's
// ~/.docker/config.json (the release job's login to ghcr.io):
//
//	go run ./cmd/chart -chart ../../charts/kgctl -out ../../dist -push oci://ghcr.io/kgctl/charts
//
// Users then install it with
//
//	helm install kgctl oci://ghcr.io/kgctl/charts/kgctl --version VERSION -n kube-system
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
)

func main() {
	dir := flag.String("chart", "../../charts/kgctl", "chart directory")
	out := flag.String("out", "../../dist", "directory for NAME-VERSION.tgz")
	push := flag.String("push", "", "also push the package to this OCI repository (oci://HOST/PATH); the chart lands at HOST/PATH/NAME:VERSION")
	plainHTTP := flag.Bool("plain-http", false, "talk HTTP, not HTTPS, to the registry (tests)")
	flag.Parse()
	tgz, err := Package(*dir, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
	fmt.Println("packaged", tgz)
	if *push == "" {
		return
	}
	ref, err := Push(tgz, *push, *plainHTTP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
	fmt.Println("pushed", ref)
}

// Package writes the chart in dir to out/NAME-VERSION.tgz after checking
// it loads, and returns that path.
func Package(dir, out string) (string, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return "", fmt.Errorf("load %s: %w", dir, err)
	}
	if err := ch.Validate(); err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	return chartutil.Save(ch, out)
}

// Push pushes the packaged chart at tgz to repo (oci://HOST/PATH) as
// HOST/PATH/NAME:VERSION and returns that reference.
func Push(tgz, repo string, plainHTTP bool) (string, error) {
	if !strings.HasPrefix(repo, "oci://") || len(repo) == len("oci://") {
		return "", fmt.Errorf("-push %q: want an OCI repository, oci://HOST/PATH", repo)
	}
	ch, err := loader.LoadFile(tgz)
	if err != nil {
		return "", fmt.Errorf("load %s: %w", tgz, err)
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		return "", err
	}
	opts := []registry.ClientOption{registry.ClientOptWriter(os.Stderr)}
	if plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		return "", err
	}
	// OCI tags cannot hold "+": helm push writes it as "_".
	ref := fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(strings.TrimPrefix(repo, "oci://"), "/"), ch.Metadata.Name, strings.ReplaceAll(ch.Metadata.Version, "+", "_"))
	if _, err := c.Push(data, ref, registry.PushOptStrictMode(true)); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", tgz, ref, err)
	}
	return ref, nil
}
