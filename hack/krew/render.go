// Package krew renders plugins/kilo.yaml the way krew-release-bot does at
// release time, so a test can hand the result to krew's own validator.
package krew

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// Render executes the manifest template with the functions the bot
// defines: addURIAndSha(url, tag) runs url as a template of its own with
// only .TagName and no functions, and prints "uri: URL" and, on the next
// line indented by four, "sha256: SUM", where sum gives the checksum of
// the archive at URL; indent(n, s). Like the bot, it executes the whole
// file, comments included.
func Render(manifest []byte, tag string, sum func(url string) string) ([]byte, error) {
	var inner error
	funcs := template.FuncMap{
		"indent": func(n int, s string) string {
			s = strings.ReplaceAll(s, "    sha256:", "sha256:")
			pad := strings.Repeat(" ", n)
			return strings.TrimSpace(pad + strings.ReplaceAll(s, "\n", "\n"+pad))
		},
		"addURIAndSha": func(url, tag string) string {
			t, err := template.New("url").Parse(url)
			if err != nil {
				inner = fmt.Errorf("addURIAndSha %q: %w", url, err)
				return ""
			}
			var b bytes.Buffer
			if err := t.Execute(&b, struct{ TagName string }{tag}); err != nil {
				inner = fmt.Errorf("addURIAndSha %q: %w", url, err)
				return ""
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), sum(b.String()))
		},
	}
	t, err := template.New("kilo.yaml").Funcs(funcs).Parse(string(manifest))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	if inner != nil {
		return nil, inner
	}
	return b.Bytes(), nil
}
