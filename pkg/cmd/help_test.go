package cmd

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// commands lists every command of the tree, the root included.
func commands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, commands(sub)...)
	}
	return out
}

// defaultSaid matches a usage line's statements of a default.
var defaultSaid = regexp.MustCompile(`\(default[ :]|\bby default\b|\bdefault:`)

// Each flag states its default once: pflag's "(default X)" or, when the
// flag's zero value stands for something, the usage's "(default: ...)",
// never both; a duration's default reads as one (30s, not 30000000000),
// and no number in help is a duration in nanoseconds.
func TestHelpDefaults(t *testing.T) {
	root := NewRootCommand("kgctl", genericiooptions.IOStreams{Out: new(bytes.Buffer), ErrOut: new(bytes.Buffer)})
	nanoseconds := regexp.MustCompile(`\b\d{10,}\b`)
	checked := 0
	for _, c := range commands(root) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				checked++
				one := pflag.NewFlagSet("one", pflag.ContinueOnError)
				one.AddFlag(f)
				line := strings.TrimSpace(one.FlagUsages())
				if n := len(defaultSaid.FindAllString(line, -1)); n > 1 {
					t.Errorf("%s --%s states %d defaults:\n  %s", c.CommandPath(), f.Name, n, line)
				}
				if nanoseconds.MatchString(line) {
					t.Errorf("%s --%s: a number that reads like nanoseconds:\n  %s", c.CommandPath(), f.Name, line)
				}
				if f.Value.Type() == "duration" && f.DefValue != "0s" {
					if d, err := time.ParseDuration(f.DefValue); err != nil || d.String() != f.DefValue {
						t.Errorf("%s --%s: default %q is not a duration as Go prints it", c.CommandPath(), f.Name, f.DefValue)
					}
				}
			})
		}
	}
	if checked < 100 {
		t.Fatalf("only %d flags checked", checked)
	}
}

// The rule above catches both ways of stating a default.
func TestDefaultSaid(t *testing.T) {
	for line, want := range map[string]int{
		`--port int   WireGuard listen port (default 51820)`:                                   1,
		`--address strings   the client's address (default: the single addresses)`:             1,
		`--internal-cidr strings   where to look (default: the default route's address)`:       1,
		`--mark uint32   a mark (0x1000 by default; kube-proxy uses 0x4000) (default 4096)`:    2,
		`--now string   time to check against; default: "live" for a cluster (default "live")`: 2,
	} {
		if got := len(defaultSaid.FindAllString(line, -1)); got != want {
			t.Errorf("%d defaults in %q, want %d", got, line, want)
		}
	}
}
