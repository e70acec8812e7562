package cmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogLevels(t *testing.T) {
	tests := map[string]struct {
		want []string // the messages logged, of debug, info, warn, error
		err  string
	}{
		"all":   {want: []string{"d", "i", "w", "e"}},
		"debug": {want: []string{"d", "i", "w", "e"}},
		"info":  {want: []string{"i", "w", "e"}},
		"warn":  {want: []string{"w", "e"}},
		"error": {want: []string{"e"}},
		"none":  {},
		"trace": {err: `--log-level: unknown level "trace": want all, debug, info, warn, error or none`},
	}
	for level, tt := range tests {
		t.Run(level, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := newLogger(&buf, level)
			if tt.err != "" || err != nil {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			l.Debug("d")
			l.Info("i")
			l.Warn("w")
			l.Error("e")
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if _, msg, ok := strings.Cut(line, "msg="); ok {
					got = append(got, msg)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("logged (-want +got):\n%s", d)
			}
		})
	}
}
