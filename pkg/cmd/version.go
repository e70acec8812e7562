package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newVersionCommand) }

// VersionInfo is what `version` prints.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// currentVersion is the release's -ldflags values, else what the Go
// toolchain recorded: `go install ...@v1.2.3` builds carry the module
// version and `go build` in a checkout the VCS revision, but no ldflags.
func currentVersion() VersionInfo {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi)
}

func versionFrom(bi *debug.BuildInfo) VersionInfo {
	v := VersionInfo{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && v.Commit == "unknown":
			v.Commit = s.Value
		case s.Key == "vcs.time" && v.Date == "unknown":
			v.Date = s.Value
		}
	}
	return v
}

func newVersionCommand(r *Root) *cobra.Command {
	printer := newObjectPrinter("", false)
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if err := printer.Validate(); err != nil {
				return err
			}
			if printer.Own() {
				_, err := fmt.Fprintf(r.Streams.Out, "%s %s (commit %s, built %s, %s, %s)\n", r.Name, v.Version, v.Commit, v.Date, v.GoVersion, v.Platform)
				return err
			}
			return printer.Print(r.Streams.Out, v)
		},
	}
	printer.AddFlags(cmd, "one line")
	return cmd
}
