package keytest

import (
	"fmt"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// RefundCatalog returns a catalog (version version) of two sections,
// orders and payments, whose operation "refund" is in section in: a key
// with full access to orders may refund while it is there, not once the
// operation moved to payments (what an older catalog written back would
// undo).
func RefundCatalog(tb testing.TB, in, version string) *core.Catalog {
	tb.Helper()
	refund := `{"id": "refund", "method": "POST", "path": "/orders/{id}/refund", "summary": "Refund an order", "scopes": ["` + in + `:refund"]}`
	section := func(id string) string {
		extra := ""
		if id == in {
			extra = ", " + refund
		}
		return fmt.Sprintf(`{"id": %[1]q, "title": %[1]q, "readOnlyScope": "%[1]s:read", "fullAccessScope": "%[1]s:*", "operations": [
			{"id": "%[1]s-list", "method": "GET", "path": "/%[1]s", "summary": "List", "readOnly": true, "scopes": ["%[1]s:read"]}%[2]s]}`, id, extra)
	}
	c, err := core.ParseCatalog([]byte(fmt.Sprintf(`{"catalogVersion": %q, "sections": [%s, %s]}`, version, section("orders"), section("payments"))))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
