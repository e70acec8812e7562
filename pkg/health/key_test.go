package health_test

import (
	"testing"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/translate"
)

// The watch ignores status-only Node updates by translate's name for the
// annotation: both names must stay one.
func TestKeyIsTranslateStatusKey(t *testing.T) {
	if health.Key != translate.StatusKey {
		t.Fatalf("health.Key %q != translate.StatusKey %q", health.Key, translate.StatusKey)
	}
}
