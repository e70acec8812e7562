package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logLevels are --log-level's values: Kilo's kg names, all and none
// included, so a Kilo DaemonSet's arguments keep working.
var logLevels = map[string]slog.Level{
	"all":   slog.Level(-8), // below debug: everything
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// newLogger logs to w at the named level; "none" logs nothing.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	if level == "none" {
		return slog.New(slog.DiscardHandler), nil
	}
	l, ok := logLevels[strings.ToLower(level)]
	if !ok {
		return nil, fmt.Errorf("--log-level: unknown level %q: want all, debug, info, warn, error or none", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
