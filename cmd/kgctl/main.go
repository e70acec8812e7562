// Command kgctl is a WireGuard mesh for Kubernetes, compatible with Kilo.
// Installed as kubectl-kilo it is also the kubectl plugin `kubectl kilo`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kgctl/kgctl/pkg/cmd"
)

func main() {
	os.Exit(cmd.Execute(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
