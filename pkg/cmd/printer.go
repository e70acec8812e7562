package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// objectPrinter is -o for a command: the command's own formats (a table,
// wg setconf, DOT, ...) plus cli-runtime's printers, json, yaml,
// jsonpath=, go-template= (and name for Kubernetes objects), so every
// command offers kubectl's formats the way kubectl does. Values that are
// not Kubernetes objects (a WireGuard config, the version) are printed
// through the same printers as their JSON.
type objectPrinter struct {
	flags   *genericclioptions.PrintFlags
	own     []string
	objects bool
}

// newObjectPrinter is -o defaulting to def, with the command's own
// formats; objects says the command prints Kubernetes objects, which
// allows -o name.
func newObjectPrinter(def string, objects bool, own ...string) *objectPrinter {
	f := genericclioptions.NewPrintFlags("").WithDefaultOutput(def)
	return &objectPrinter{flags: f, own: own, objects: objects}
}

// AddFlags registers -o, --template and --allow-missing-template-keys.
// help describes the default when it is not a format (version's one line).
func (p *objectPrinter) AddFlags(cmd *cobra.Command, help string) {
	p.flags.TemplatePrinterFlags.AddFlags(cmd)
	usage := "output format: " + strings.Join(p.formats(), ", ")
	if help != "" {
		usage += " (default: " + help + ")"
	}
	cmd.Flags().StringVarP(p.flags.OutputFormat, "output", "o", *p.flags.OutputFormat, usage)
	p.flags.OutputFlagSpecified = func() bool { return cmd.Flag("output").Changed }
	p.registerCompletion(cmd)
}

// formats lists -o's values, the command's own first.
func (p *objectPrinter) formats() []string {
	out := slices.Clone(p.own)
	for _, f := range p.flags.AllowedFormats() {
		if f == "name" && !p.objects {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Format is -o's value.
func (p *objectPrinter) Format() string { return *p.flags.OutputFormat }

// Own says -o names one of the command's own formats (or the default
// when that is not a format, such as version's one line).
func (p *objectPrinter) Own() bool {
	f := p.Format()
	return slices.Contains(p.own, f) || (f == "" && !p.templateGiven())
}

func (p *objectPrinter) templateGiven() bool {
	t := p.flags.TemplatePrinterFlags.TemplateArgument
	return t != nil && *t != ""
}

// Validate names -o's value when no printer takes it.
func (p *objectPrinter) Validate() error {
	if p.Own() {
		return nil
	}
	if p.Format() == "name" && !p.objects {
		return fmt.Errorf("--output: %q applies to Kubernetes objects only; want one of %s", p.Format(), strings.Join(p.formats(), ", "))
	}
	if _, err := p.flags.ToPrinter(); err != nil {
		if genericclioptions.IsNoCompatiblePrinterError(err) {
			return fmt.Errorf("--output: unknown format %q: want one of %s", p.Format(), strings.Join(p.formats(), ", "))
		}
		return fmt.Errorf("--output %q: %w", p.Format(), err)
	}
	return nil
}

// Print writes v with the printer -o names. v is a Kubernetes object
// (its apiVersion and kind set) or any value JSON can encode.
func (p *objectPrinter) Print(w io.Writer, v any) error {
	if err := p.Validate(); err != nil {
		return err
	}
	pr, err := p.flags.ToPrinter()
	if err != nil {
		return err
	}
	obj, ok := v.(runtime.Object)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		obj = &runtime.Unknown{Raw: b, ContentType: runtime.ContentTypeJSON}
	}
	return pr.PrintObj(obj, w)
}
