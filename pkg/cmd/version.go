package cmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newVersionCommand) }

// VersionInfo is what `version` prints; set at build time with -ldflags.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func newVersionCommand(r *Root) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := VersionInfo{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			switch output {
			case "":
				_, err := fmt.Fprintf(r.Streams.Out, "%s %s (commit %s, built %s, %s, %s)\n", r.Name, v.Version, v.Commit, v.Date, v.GoVersion, v.Platform)
				return err
			case "json", "yaml":
				return writeObject(r.Streams.Out, output, v)
			}
			return fmt.Errorf("--output: unknown format %q: want json or yaml", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml (default: one line)")
	return cmd
}
