package cli

import (
	"strings"
	"testing"
)

// --data names where a replica keeps the store's generation, so serve
// takes it with --store; every other command still refuses the pair.
func TestServeTakesDataWithStore(t *testing.T) {
	h := newHarness(t)
	const unreachable = "postgres://keydesk@127.0.0.1:1/keydesk?connect_timeout=2"
	_, errs, code := h.main(strings.NewReader(""), "--store", unreachable, "keys", "list")
	if code != ExitUsage || !strings.Contains(errs, "cannot be combined with --data") {
		t.Fatalf("keys list with --store and --data: exit %d, %q", code, errs)
	}
	_, errs, code = h.main(strings.NewReader(""), "--store", unreachable, "serve", "--listen", "127.0.0.1:0")
	if code != ExitFailed || strings.Contains(errs, "cannot be combined") || !strings.Contains(errs, "cannot be reached") {
		t.Fatalf("serve with --store and --data: exit %d, %q; want it to try the store", code, errs)
	}
}
